using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid sweep create|work|status|report|export|list`: sweeps whose trials live in SQLite or PostgreSQL,
/// run by any number of worker processes (docs/sweeps.md).</summary>
public static class SweepCommand
{
    static readonly Option<string> Storage = new("--storage")
    {
        Description = "Where the trials live: a file path or sqlite:PATH (one machine), or postgres://USER:PASSWORD@HOST:PORT/DB " +
                      "(many machines). Default: $HYBRID_SWEEP_STORAGE, else sweeps.db.",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HYBRID_SWEEP_STORAGE") is { Length: > 0 } s ? s : "sweeps.db",
    };

    static readonly Option<string?> Sweep = new("--sweep") { Description = "The sweep (default: the storage's only sweep)." };

    public static Command Create()
    {
        var cmd = new Command("sweep", "Sweeps: a spec expands into trials stored in SQLite or PostgreSQL; workers claim and run them (docs/sweeps.md).");
        cmd.Options.Add(Storage);
        cmd.Subcommands.Add(CreateCommand());
        cmd.Subcommands.Add(Work());
        cmd.Subcommands.Add(Status());
        cmd.Subcommands.Add(Retry());
        cmd.Subcommands.Add(Report());
        cmd.Subcommands.Add(Export());
        cmd.Subcommands.Add(List());
        return cmd;
    }

    static SweepStorage Open(ParseResult pr) => SweepStorage.Open(pr.GetValue(Storage)!);

    static Command CreateCommand()
    {
        var spec = new Argument<string>("spec") { Description = "The sweep spec (JSON; docs/sweeps.md, configs/sweeps/)." };
        var name = new Option<string?>("--name") { Description = "Name the sweep (default: the spec's name)." };
        var cmd = new Command("create", "Expand a sweep spec into trials and store them, all pending (a sweep of the same name and spec is left as it is).");
        cmd.Arguments.Add(spec);
        cmd.Options.Add(name);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var (_, report) = Open(pr).CreateWithReport(pr.GetValue(spec)!, pr.GetValue(name));
            return Output.Report(json, report);
        });
        return cmd;
    }

    static Command Work()
    {
        var d = new SweepWorkerOptions();
        var outRoot = new Option<string>("--out") { Description = $"Run folders go to OUT/SWEEP/trial-NNNN, shared by the attempts of a trial (default {d.Out}).", DefaultValueFactory = _ => d.Out };
        var lease = new Option<double>("--lease") { Description = $"Seconds a claim lasts without renewal (renewed every third; default {d.LeaseSeconds}). A trial whose worker died is claimed again after it.", DefaultValueFactory = _ => d.LeaseSeconds };
        var poll = new Option<double>("--poll") { Description = $"Seconds between asks while every open trial runs elsewhere (default {d.PollSeconds}).", DefaultValueFactory = _ => d.PollSeconds };
        var maxTrials = new Option<int>("--max-trials") { Description = "Stop after this many trials (default 0: until the sweep is done)." };
        var worker = new Option<string?>("--worker") { Description = "This worker's name in the storage (default HOST:PID:random)." };
        var cmd = new Command("work", "Claim trials one at a time, run them and write their epochs and metrics back, until the sweep is done. Start as many as you like, anywhere the storage is reachable.");
        foreach (var o in new Option[] { Sweep, outRoot, lease, poll, maxTrials, worker }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var options = new SweepWorkerOptions
            {
                Sweep = pr.GetValue(Sweep),
                Out = pr.GetValue(outRoot)!,
                LeaseSeconds = pr.GetValue(lease),
                PollSeconds = pr.GetValue(poll),
                MaxTrials = pr.GetValue(maxTrials),
                Name = pr.GetValue(worker),
            };
            var storage = Open(pr);
            using var cts = Cancellation.OnCtrlC();
            var result = new RunDisplay(json).Run(o => storage.Work(options, o, cts.Token));
            var rows = result.Trials.Select(t => (IReadOnlyList<string>)
                [t.Index.ToString(), t.Status, t.Metric is { } m ? m.ToString("F2") : "-", t.Epochs.ToString(), t.Seconds.ToString("F1"), t.Error ?? ""]).ToList();
            var doc = new JsonObject
            {
                ["worker"] = result.Worker,
                ["sweep"] = result.Sweep,
                ["interrupted"] = result.Interrupted,
                ["stopped"] = result.Stopped,
                ["trials"] = new JsonArray(result.Trials.Select(t => (JsonNode)new JsonObject
                {
                    ["trial"] = t.Index, ["status"] = t.Status, ["metric"] = t.Metric, ["epochs"] = t.Epochs, ["seconds"] = t.Seconds,
                    ["error"] = t.Error, ["folder"] = t.Folder,
                }).ToArray()),
            };
            var report = new ExperimentReport(doc,
                [new ReportTable($"Worker {result.Worker} on sweep {result.Sweep}", ["trial", "status", "metric", "epochs", "seconds", "note"], rows)],
                [$"{result.Trials.Count} trials run by this worker"], [],
                result.Stopped is { } why ? [$"worker stopped: {why}"] : [],
                result.Interrupted ? ExitCodes.Interrupted : result.Stopped is not null ? ExitCodes.BadInput : ExitCodes.Success);
            return Output.Report(json, report);
        });
        return cmd;
    }

    static Command Status()
    {
        var cmd = new Command("status", "Counts by status, running trials (worker, epochs, lease), failures with their errors, and an ETA.");
        cmd.Options.Add(Sweep);
        cmd.SetAction(pr => Output.Report(pr.GetValue(CommonOptions.Json), Open(pr).Status(pr.GetValue(Sweep))));
        return cmd;
    }

    static Command Retry()
    {
        var trials = new Option<int[]>("--trial") { Description = "Only these trials (repeat the option; default: every failed trial).", AllowMultipleArgumentsPerToken = true };
        var diverged = new Option<bool>("--diverged") { Description = "Diverged trials too." };
        var cmd = new Command("retry", "Put failed trials back to pending so that workers run them again (their earlier attempts stay in the log, their run folders on disk).");
        cmd.Options.Add(Sweep);
        cmd.Options.Add(trials);
        cmd.Options.Add(diverged);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var storage = Open(pr);
            var chosen = pr.GetValue(trials) is { Length: > 0 } t ? t : null;
            var done = storage.Retry(pr.GetValue(Sweep), chosen, pr.GetValue(diverged));
            if (json) Output.Json(new JsonObject { ["storage"] = storage.Where, ["retried"] = new JsonArray(done.Select(i => (JsonNode)JsonValue.Create(i)!).ToArray()) });
            else Console.WriteLine(done.Count == 0 ? "no trial to retry" : $"{done.Count} trial(s) pending again: {string.Join(", ", done)}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    static Command Report()
    {
        var folder = new Option<string?>("--out") { Description = "Also write report.json, best.csv, trials.csv and plots of the metric against each axis here." };
        var cmd = new Command("report", "The best configuration per group and method (mean ± std over seeds) and Welch t-tests between the methods of a group.");
        cmd.Options.Add(Sweep);
        cmd.Options.Add(folder);
        cmd.SetAction(pr => Output.Report(pr.GetValue(CommonOptions.Json), Open(pr).Report(pr.GetValue(Sweep), pr.GetValue(folder))));
        return cmd;
    }

    static Command Export()
    {
        var folder = new Option<string>("--out") { Description = "Folder for the configuration files.", Required = true };
        var cmd = new Command("export", "Write the best configuration of each method (and group) as a file that hybrid train --config reads.");
        cmd.Options.Add(Sweep);
        cmd.Options.Add(folder);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var files = Open(pr).Export(pr.GetValue(folder)!, pr.GetValue(Sweep));
            if (json) Output.Json(new JsonObject { ["files"] = new JsonArray(files.Select(f => (JsonNode)JsonValue.Create(f)!).ToArray()) });
            else foreach (var f in files) Console.WriteLine($"wrote {f}");
            return ExitCodes.Success;
        });
        return cmd;
    }

    static Command List()
    {
        var cmd = new Command("list", "The sweeps in the storage.");
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var storage = Open(pr);
            var names = storage.Sweeps();
            if (json) Output.Json(new JsonObject { ["storage"] = storage.Where, ["sweeps"] = new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray()) });
            else foreach (var n in names) Console.WriteLine(n);
            return ExitCodes.Success;
        });
        return cmd;
    }
}
