using System.CommandLine;
using Hybrid;
using Hybrid.Cli;

// Natives first: a failed first touch of TorchSharp poisons it for the process.
Runtime.init();

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
root.Subcommands.Add(CompareCommand.Create());

ParseResult parsed;
try
{
    parsed = root.Parse(OptionsFile.Expand(root, args));
}
catch (Exception e) when (Errors.IsUserError(e))
{
    Output.Error(Errors.Describe(e));
    return 2;
}
var threads = parsed.GetValue(CommonOptions.Threads);
if (threads > 0) Runtime.setThreads(threads);
try
{
    return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (Errors.IsUserError(e))
{
    Output.Error(Errors.Describe(e));
    return 2;
}
