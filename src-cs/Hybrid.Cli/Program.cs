using System.CommandLine;
using Hybrid.Cli;
using Hybrid.Facade;

// Every failure is one line on stderr and a documented exit code (ExitCodes, README).
try
{
    // Natives first: a failed first touch of TorchSharp poisons it for the process.
    HybridRuntime.Init();

    // Redirected output (a log, a pipe) has no terminal width: Spectre would assume 80
    // columns and wrap the result tables; give them room instead.
    if (Console.IsOutputRedirected)
        Spectre.Console.AnsiConsole.Profile.Width = 160;

    var root = new RootCommand("""
        hybrid: simulate and train energy-based networks (predictive coding: sPC, ePC, muPC;
        modern Hopfield networks; hierarchical associative memories).
        """);
    root.Options.Add(CommonOptions.Json);
    root.Options.Add(CommonOptions.Data);
    root.Options.Add(CommonOptions.Device);
    root.Options.Add(CommonOptions.Threads);
    root.Subcommands.Add(InfoCommand.Create());
    root.Subcommands.Add(DataCommands.Create());
    root.Subcommands.Add(TrainCommand.Create());
    root.Subcommands.Add(ReproduceCommand.Create());
    root.Subcommands.Add(DecayCommand.Create());
    root.Subcommands.Add(HopfieldCommand.Create());
    root.Subcommands.Add(HamCommand.Create());
    root.Subcommands.Add(TheoryCommand.Create());
    root.Subcommands.Add(CompareCommand.Create());
    root.Subcommands.Add(SweepCommand.Create());
    root.Subcommands.Add(ConfigCommand.Create());
    root.Subcommands.Add(CompletionCommand.Create());

    var parsed = root.Parse(args);
    if (parsed.Errors.Count > 0)
        return Fail(ExitCodes.Usage, "usage", string.Join("; ", parsed.Errors.Select(e => e.Message)) + " (hybrid --help lists the commands and options)");
    var threads = parsed.GetValue(CommonOptions.Threads);
    if (threads != 0) HybridRuntime.Threads = threads;
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (UsageException e)
{
    return Fail(ExitCodes.Usage, "usage", e.Message + " (hybrid --help lists the commands and options)");
}
catch (DownloadFailedException e)
{
    return Fail(ExitCodes.Download, "download", e.Message);
}
catch (SweepStorageException e)
{
    return Fail(ExitCodes.Storage, "storage", e.Message);
}
catch (Exception e) when (HybridErrors.IsUserError(e))
{
    return Fail(ExitCodes.BadInput, "input", HybridErrors.Describe(e));
}
catch (OperationCanceledException)
{
    return Fail(ExitCodes.Interrupted, "interrupted", "interrupted before the work started");
}
catch (Exception e)
{
    if (Environment.GetEnvironmentVariable("HYBRID_DEBUG") == "1") Console.Error.WriteLine(e);
    return Fail(ExitCodes.Failure, "failure",
        $"unexpected failure: {HybridErrors.Describe(e)} ({e.GetType().Name}). This is a bug in Hybrid, not in your input: please report it with the command and the output of HYBRID_DEBUG=1 (docs/reliability.md, 'Reporting a failure')");
}

// One line on stderr; with --json also the error as the one JSON document on stdout.
int Fail(int code, string kind, string message)
{
    Output.Error(message);
    if (args.Contains("--json"))
        Output.Json(new System.Text.Json.Nodes.JsonObject
        {
            ["error"] = new System.Text.Json.Nodes.JsonObject { ["kind"] = kind, ["message"] = message, ["exitCode"] = code },
        });
    return code;
}
