using System.Diagnostics;
using Microsoft.FSharp.Core;
using Spectre.Console;

namespace Hybrid.Cli;

/// <summary>Shows training progress: a live bar on a terminal, plain lines on stderr when
/// output is redirected or --json owns stdout.</summary>
public sealed class RunDisplay
{
    readonly bool _plain;
    public RunDisplay(bool json) => _plain = json || Console.IsErrorRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>True when progress is printed as plain lines.</summary>
    public bool Plain => _plain;

    /// <summary>Runs <paramref name="work"/> for each named job with a progress display;
    /// the job receives callbacks for batch progress and epoch records.</summary>
    public void Run(IReadOnlyList<string> names, Action<int, FSharpFunc<TrainProgress, Unit>, FSharpFunc<EpochRecord, Unit>> work)
    {
        if (_plain)
        {
            for (var i = 0; i < names.Count; i++)
            {
                var name = names[i];
                var lastReport = Stopwatch.StartNew();
                Console.Error.WriteLine($"[{i + 1}/{names.Count}] {name}: starting");
                work(i,
                    FuncConvert.FromAction<TrainProgress>(p =>
                    {
                        if (lastReport.Elapsed.TotalSeconds < 10) return;
                        lastReport.Restart();
                        Console.Error.WriteLine($"[{i + 1}/{names.Count}] {name}: epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} energy {p.Energy:G4} {Eta(p)}");
                    }),
                    FuncConvert.FromAction<EpochRecord>(e =>
                        Console.Error.WriteLine($"[{i + 1}/{names.Count}] {name}: epoch {e.Epoch} test accuracy {e.TestAccuracy:F2}% train energy {e.TrainEnergy:G4} SMM {e.Smm} {e.Seconds:F1}s")));
            }
            return;
        }
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var tasks = names.Select(n => ctx.AddTask(Markup.Escape(n), autoStart: false)).ToList();
                for (var i = 0; i < names.Count; i++)
                {
                    var task = tasks[i];
                    var name = names[i];
                    task.StartTask();
                    string last = "";
                    work(i,
                        FuncConvert.FromAction<TrainProgress>(p =>
                        {
                            task.MaxValue = (double)p.Epochs * p.Batches;
                            task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
                            task.Description = Markup.Escape($"{name} e{p.Epoch}/{p.Epochs} b{p.Batch}/{p.Batches} F={p.Energy:G3}{last}");
                        }),
                        FuncConvert.FromAction<EpochRecord>(e => last = $" acc={e.TestAccuracy:F2}%"));
                    task.Value = task.MaxValue;
                    task.StopTask();
                }
            });
    }

    static string Eta(TrainProgress p)
    {
        var done = (double)(p.Epoch - 1) * p.Batches + p.Batch;
        var total = (double)p.Epochs * p.Batches;
        if (done <= 0) return "";
        var left = p.Seconds / done * (total - done);
        return $"ETA {TimeSpan.FromSeconds(left):hh\\:mm\\:ss}";
    }
}
