using System.Diagnostics;
using System.Runtime.InteropServices;
using Spectre.Console;
using Progress = Hybrid.Facade.Progress;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>Shows an experiment's progress: a live bar per run on a terminal, plain lines on stderr when
/// output is redirected or --json owns stdout. Messages go to stderr with --json, else to stdout.</summary>
public sealed class RunDisplay
{
    readonly bool _json;
    readonly bool _plain;
    public RunDisplay(bool json)
    {
        _json = json;
        _plain = json || Console.IsErrorRedirected || Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive;
    }

    /// <summary>Runs <paramref name="work"/> with an observer that shows its progress.</summary>
    public T Run<T>(Func<IExperimentObserver, T> work)
    {
        if (_plain) return work(new Plain(_json));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var live = new Live(ctx);
                result = work(live);
                live.Finish();
            });
        return result;
    }

    /// <summary>Only messages: for experiments without training runs.</summary>
    public IExperimentObserver Messages() => new Plain(_json);

    sealed class Plain(bool json) : IExperimentObserver
    {
        string _name = "";
        int _index, _count;
        readonly Stopwatch _lastReport = new();

        public void RunStarted(int index, int count, string name)
        {
            (_index, _count, _name) = (index, count, name);
            _lastReport.Restart();
            Console.Error.WriteLine($"[{index + 1}/{count}] {name}: starting");
        }

        public void Batch(Progress p)
        {
            if (_lastReport.Elapsed.TotalSeconds < 10) return;
            _lastReport.Restart();
            Console.Error.WriteLine($"[{_index + 1}/{_count}] {_name}: epoch {p.Epoch}/{p.Epochs} batch {p.Batch}/{p.Batches} energy {p.Energy:G4} {Eta(p)}");
        }

        public void Epoch(EpochResult e) =>
            Console.Error.WriteLine($"[{_index + 1}/{_count}] {_name}: epoch {e.Epoch} test accuracy {e.TestAccuracy:F2}% train energy {e.TrainEnergy:G4} SMM {e.Smm} {e.Seconds:F1}s");

        public void Message(string text) => Output.Info(json, text);

        static string Eta(Progress p)
        {
            var done = (double)(p.Epoch - 1) * p.Batches + p.Batch;
            var total = (double)p.Epochs * p.Batches;
            if (done <= 0) return "";
            var left = p.Seconds / done * (total - done);
            return $"ETA {TimeSpan.FromSeconds(left):hh\\:mm\\:ss}";
        }
    }

    sealed class Live(ProgressContext ctx) : IExperimentObserver
    {
        ProgressTask? _task;
        string _name = "", _last = "";

        public void RunStarted(int index, int count, string name)
        {
            Finish();
            _name = $"[{index + 1}/{count}] {name}";
            _last = "";
            _task = ctx.AddTask(Markup.Escape(_name));
        }

        public void Batch(Progress p)
        {
            if (_task is null) return;
            _task.MaxValue = (double)p.Epochs * p.Batches;
            _task.Value = (double)(p.Epoch - 1) * p.Batches + p.Batch;
            _task.Description = Markup.Escape($"{_name} e{p.Epoch}/{p.Epochs} b{p.Batch}/{p.Batches} F={p.Energy:G3}{_last}");
        }

        public void Epoch(EpochResult e) => _last = $" acc={e.TestAccuracy:F2}%";

        public void Message(string text) => AnsiConsole.WriteLine(text);

        public void Finish()
        {
            if (_task is null) return;
            _task.Value = _task.MaxValue;
            _task.StopTask();
        }
    }
}

/// <summary>Ctrl-C or SIGTERM: the first asks the runs to stop after their current step (they save a checkpoint
/// and their summary, and the command exits 130); a second Ctrl-C kills.</summary>
public static class Cancellation
{
    static PosixSignalRegistration? _term;

    public static CancellationTokenSource OnCtrlC()
    {
        var cts = new CancellationTokenSource();
        void Stop(string what)
        {
            Console.Error.WriteLine($"{what}: stopping after the current step (the run saves and can be resumed)...");
            cts.Cancel();
        }
        Console.CancelKeyPress += (_, e) =>
        {
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            Stop("Ctrl-C (again to kill)");
        };
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            if (!cts.IsCancellationRequested) Stop("SIGTERM");
        });
        return cts;
    }
}
