using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Data;
using Microsoft.FSharp.Core;

namespace Hybrid.Cli;

/// <summary>Runs configurations into run folders and reports them.</summary>
public static class Runner
{
    /// <summary>Runs one configuration (loading its dataset) into a fresh run folder under <paramref name="root"/>.</summary>
    public static TrainResult RunOne(TrainConfig cfg, string root, RunDisplay display, CancellationToken token, out string folder)
    {
        var device = Runtime.device(cfg.Device);
        var data = DatasetModule.load(cfg.DataRoot, cfg.Dataset);
        return RunMany([cfg], data, device, root, display, token, out var folders)[0] switch { var r => (folder = folders[0], r).r };
    }

    /// <summary>Runs several configurations on one loaded dataset, each into its own run folder.</summary>
    public static IReadOnlyList<TrainResult> RunMany(IReadOnlyList<TrainConfig> cfgs, Dataset data, TorchSharp.torch.Device device, string root,
        RunDisplay display, CancellationToken token, out IReadOnlyList<string> folders)
    {
        foreach (var c in cfgs)
        {
            c.Validate();
            BatchingModule.validate(c.Batching, data.Classes, c.BatchSize);
        }
        var results = new TrainResult[cfgs.Count];
        var paths = new string[cfgs.Count];
        display.Run(cfgs.Select(c => c.Name).ToList(), (i, progress, onEpoch) =>
        {
            if (token.IsCancellationRequested) return;
            var cfg = cfgs[i];
            var run = Runs.RunFolder.Create(root, cfg);
            paths[i] = run.Path;
            using var prepared = Training.prepare(cfg, device, data);
            using var session = TrainingSession.Start(cfg, prepared);
            results[i] = Continue(session, run, progress, onEpoch, token);
        });
        folders = paths;
        return results.Where(r => r is not null).ToList();
    }

    /// <summary>The checkpoint file of a run folder.</summary>
    public static string CheckpointPath(string folder) => Path.Combine(folder, "checkpoint.ck");

    /// <summary>Runs a session to its end (or until cancelled), appending each epoch to the run folder
    /// and saving a checkpoint after each epoch and when stopped; writes the summary.</summary>
    public static TrainResult Continue(TrainingSession session, Runs.RunFolder run, FSharpFunc<TrainProgress, Unit> progress,
        FSharpFunc<EpochRecord, Unit> onEpoch, CancellationToken token)
    {
        var epoch = FuncConvert.FromAction<EpochRecord>(e =>
        {
            session.Save(CheckpointPath(run.Path));
            run.Append(e);
            onEpoch.Invoke(e);
        });
        var r = session.Run(progress, epoch, token);
        if (r.Status.IsCancelled) session.Save(CheckpointPath(run.Path));
        run.Finish(r);
        if (r.Epochs.Length > 0) RunPlots.Write(run.Path, [RunPlots.Read(run.Path)]);
        return r;
    }

    /// <summary>Resumes the run in <paramref name="folder"/> from its checkpoint.</summary>
    public static TrainResult Resume(string folder, RunDisplay display, CancellationToken token)
    {
        var ck = CheckpointPath(folder);
        if (!File.Exists(ck)) throw new InvalidOperationException($"{folder}: no checkpoint.ck to resume from (not a run folder, or it stopped before its first checkpoint)");
        var meta = Checkpoint.load(ck).Meta;
        var cfg = Config.apply(meta["config"]!.AsObject(), Config.defaults);
        var device = Runtime.device(cfg.Device);
        var data = DatasetModule.load(cfg.DataRoot, cfg.Dataset);
        using var prepared = Training.prepare(cfg, device, data);
        using var session = TrainingSession.Restore(ck, prepared);
        var run = new Runs.RunFolder(folder);
        // The results file holds exactly the checkpoint's epochs (a crash may have left one more line).
        run.Rewrite(session.Records);
        TrainResult? result = null;
        display.Run([cfg.Name], (_, progress, onEpoch) => result = Continue(session, run, progress, onEpoch, token));
        return result!;
    }

    /// <summary>Prints results as a table, or as one JSON document.</summary>
    public static void Report(bool json, IReadOnlyList<TrainResult> results, IReadOnlyList<string> folders)
    {
        if (json)
        {
            var arr = new JsonArray();
            for (var i = 0; i < results.Count; i++)
            {
                var s = Runs.summaryJson(results[i]);
                s["folder"] = folders[i];
                s["records"] = new JsonArray(results[i].Epochs.Select(e => (JsonNode)Runs.epochJson(e)).ToArray());
                arr.Add(s);
            }
            Output.Json(results.Count == 1 ? arr[0]!.DeepClone() : arr);
            return;
        }
        foreach (var (r, i) in results.Select((r, i) => (r, i)))
        {
            Output.Table($"{r.Config.Name}: {r.Status} ({folders[i]})", ["epoch", "test acc %", "train energy", "SMM", "seconds"],
                r.Epochs.Select(e => (IReadOnlyList<string>)[e.Epoch.ToString(), e.TestAccuracy.ToString("F2"), e.TrainEnergy.ToString("G4"), e.Smm.ToString(), e.Seconds.ToString("F1")]));
            if (r.Status.IsDiverged) Output.Error(((RunStatus.Diverged)r.Status).message);
        }
    }
}
