using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid train`: one configuration from a JSON file and/or flags (one flag per setting of the form `train`).</summary>
public static class TrainCommand
{
    public static readonly Option<string?> Out = new("--out") { Description = "Folder for run folders (default: ./runs).", Recursive = true };
    static readonly Option<string?> Resume = new("--resume") { Description = "Continue the run in this run folder from its checkpoint (other options are ignored)." };

    public static Command Create() =>
        CommonOptions.FormCommand<TrainingOptions>("train",
            "Train one configuration; writes a run folder with config.json, results.jsonl, checkpoint.ck, summary.json and plots.",
            (options, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                using var cts = Cancellation.OnCtrlC();
                var display = new RunDisplay(json);
                var report = pr.GetValue(Resume) is { } folder
                    ? display.Run(o => TrainingRuns.Resume(folder, o, cts.Token))
                    : display.Run(o => TrainingRuns.Train(options, pr.GetValue(Out) ?? "runs", o, cts.Token));
                return Output.Report(json, report);
            },
            Out, Resume);
}
