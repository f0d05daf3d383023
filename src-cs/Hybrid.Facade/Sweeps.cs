using System.Text.Json.Nodes;
using Microsoft.FSharp.Core;
using S = Hybrid.Sweeps;

namespace Hybrid.Facade;

/// <summary>The sweep storage failed or refused: unreachable, a schema newer than this version, a sweep name taken by
/// another spec, no such sweep. The message names the storage and the problem.</summary>
public sealed class SweepStorageException : Exception
{
    /// <summary>A storage failure with its message.</summary>
    public SweepStorageException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A sweep as created: its name, number of trials, and whether it was new.</summary>
/// <param name="Name">The sweep's name.</param>
/// <param name="Trials">Its number of trials.</param>
/// <param name="Created">False when a sweep of the same name and spec was already stored (nothing changed).</param>
/// <param name="Methods">Its methods.</param>
/// <param name="Storage">The storage, without its password.</param>
public sealed record SweepCreated(string Name, int Trials, bool Created, IReadOnlyList<string> Methods, string Storage);

/// <summary>One trial as stored.</summary>
/// <param name="Index">Its index in the sweep.</param>
/// <param name="Method">Its method.</param>
/// <param name="Group">Its report group ("" without groups).</param>
/// <param name="Configuration">Its axis values (without the seed).</param>
/// <param name="Seed">Its seed.</param>
/// <param name="Status">pending, running, completed, pruned, diverged or failed.</param>
/// <param name="Metric">Its metric, once it has one.</param>
/// <param name="Epochs">Epochs recorded.</param>
/// <param name="Attempts">How many times it was claimed.</param>
/// <param name="Completions">How many times it completed (0 or 1).</param>
/// <param name="Worker">The worker that holds or held it.</param>
/// <param name="Error">Why it failed, diverged or stopped.</param>
/// <param name="Config">Its full configuration (JSON).</param>
public sealed record SweepTrial(int Index, string Method, string Group, string Configuration, long Seed, string Status, double? Metric,
    int Epochs, int Attempts, int Completions, string? Worker, string? Error, string Config);

/// <summary>A claim or an end of a trial's attempt, in the sweep's log.</summary>
/// <param name="Trial">The trial.</param>
/// <param name="Attempt">The attempt.</param>
/// <param name="Worker">The worker.</param>
/// <param name="Event">claimed, completed, pruned, diverged, failed or released.</param>
public sealed record SweepEvent(int Trial, int Attempt, string Worker, string Event);

/// <summary>How a sweep worker runs.</summary>
public sealed record SweepWorkerOptions
{
    /// <summary>The sweep (null: the storage's only sweep).</summary>
    public string? Sweep { get; init; }
    /// <summary>Run folders go to Out/SWEEP/trial-NNNN, shared by the attempts of a trial (default runs/sweeps).</summary>
    public string Out { get; init; } = S.Worker.defaults.Out;
    /// <summary>A claim's lease in seconds; the worker renews it every third of it (default 60). A trial whose worker
    /// vanished is claimed again once its lease runs out.</summary>
    public double LeaseSeconds { get; init; } = S.Worker.defaults.LeaseSeconds;
    /// <summary>Seconds between asks when every open trial is running elsewhere (default 2).</summary>
    public double PollSeconds { get; init; } = S.Worker.defaults.PollSeconds;
    /// <summary>Stop after this many trials (0: until the sweep is done).</summary>
    public int MaxTrials { get; init; }
    /// <summary>The worker's name in the storage (null: HOST:PID:random).</summary>
    public string? Name { get; init; }
}

/// <summary>How one trial ended for a worker.</summary>
/// <param name="Index">The trial.</param>
/// <param name="Status">completed, pruned, diverged, failed; lost (another worker holds it now) or released (interrupted).</param>
/// <param name="Metric">Its metric.</param>
/// <param name="Epochs">Epochs run.</param>
/// <param name="Seconds">Wall seconds.</param>
/// <param name="Error">What went wrong, if anything.</param>
/// <param name="Folder">Its run folder.</param>
public sealed record SweepTrialOutcome(int Index, string Status, double? Metric, int Epochs, double Seconds, string? Error, string Folder);

/// <summary>What a worker did.</summary>
/// <param name="Worker">Its name in the storage.</param>
/// <param name="Sweep">The sweep.</param>
/// <param name="Trials">The trials it ran.</param>
/// <param name="Interrupted">True when it was cancelled (its running trial was given back).</param>
/// <param name="Stopped">Why the worker stopped before the sweep was done: its own environment failed (its output
/// folder not writable, a dataset missing on its machine, a full disk); the trial it held is pending again, its
/// attempts not used up. Null when it did not stop early.</param>
public sealed record SweepWorkResult(string Worker, string Sweep, IReadOnlyList<SweepTrialOutcome> Trials, bool Interrupted, string? Stopped = null);

/// <summary>Sweep storage: an SQLite file (<c>sqlite:PATH</c> or a path; several workers on one machine) or a
/// PostgreSQL database (<c>postgres://USER:PASSWORD@HOST:PORT/DB</c>; workers on many machines). Create sweeps from
/// specs, run workers, and read status, reports and the chosen configurations. Every failure of the storage is a
/// <see cref="SweepStorageException"/>; a bad spec is an <see cref="ArgumentException"/>.</summary>
public sealed class SweepStorage
{
    readonly S.Store.SweepStore _store;

    SweepStorage(S.Store.SweepStore store) => _store = store;

    /// <summary>Opens a storage URL (nothing is written until a sweep is created or a worker starts).</summary>
    public static SweepStorage Open(string url)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        return SweepGuard.Run(() => new SweepStorage(S.Store.connect(url)));
    }

    /// <summary>The storage, without its password.</summary>
    public string Where => _store.Where;

    /// <summary>Expands a spec (a JSON or YAML file, or a checked-in spec such as <c>sweeps/table1-mlp</c>) into trials
    /// and stores them, all pending; a sweep of the same name and spec is left as it is. <paramref name="name"/>
    /// replaces the spec's name.</summary>
    public SweepCreated Create(string specPath, string? name = null) => CreateWithReport(specPath, name).Created;

    /// <summary><see cref="Create"/>, and what to show for it.</summary>
    public (SweepCreated Created, ExperimentReport Report) CreateWithReport(string specPath, string? name = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(specPath);
        var (c, r) = SweepGuard.Run(() => S.SweepReport.create(_store, specPath, Names.Option(name)).ToValueTuple());
        return (new SweepCreated(c.Name, c.Trials, c.Created, c.Methods.ToList(), c.Storage), ExperimentReport.From(r));
    }

    /// <summary>The names of the stored sweeps, oldest first.</summary>
    public IReadOnlyList<string> Sweeps() => SweepGuard.Run(() => _store.Sweeps().Select(s => s.Name).ToList());

    /// <summary>Every trial of a sweep (null: the only one), in order.</summary>
    public IReadOnlyList<SweepTrial> Trials(string? sweep = null) => SweepGuard.Run(() =>
    {
        var row = S.Worker.pickSweep(_store, Names.Option(sweep));
        return _store.Trials(row.Name).Select(t => new SweepTrial(t.Index, t.Method, t.Group, t.Key, t.Seed, t.Status,
            Names.Value(t.Metric), t.Epochs, t.Attempts, t.Completions, t.Worker?.Value, t.Error?.Value, t.Config)).ToList();
    });

    /// <summary>A sweep's log: every claim and how each attempt ended.</summary>
    public IReadOnlyList<SweepEvent> Events(string? sweep = null) => SweepGuard.Run(() =>
    {
        var row = S.Worker.pickSweep(_store, Names.Option(sweep));
        return _store.Events(row.Name).Select(e => new SweepEvent(e.Index, e.Attempt, e.Worker, e.Event)).ToList();
    });

    /// <summary>Works on a sweep: claims one trial at a time, runs it, writes its epochs and metric back, until no
    /// trial is open (or <see cref="SweepWorkerOptions.MaxTrials"/>, or cancellation: the running trial is given
    /// back). Progress goes to <paramref name="observer"/>.</summary>
    public SweepWorkResult Work(SweepWorkerOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Out);
        var opts = new S.Worker.WorkerOptions(Names.Option(options.Sweep), options.Out, options.LeaseSeconds, options.PollSeconds,
            options.MaxTrials, Names.Option(options.Name));
        var obs = Observer(observer);
        var r = SweepGuard.Run(() => S.Worker.work(_store, opts, obs, cancel));
        return new SweepWorkResult(r.Worker, r.Sweep, r.Trials.Select(Outcome).ToList(), r.Interrupted, r.Stopped?.Value);
    }

    /// <summary>Puts a sweep's failed trials back to pending (with <paramref name="diverged"/>, its diverged ones
    /// too), all of them or those in <paramref name="trials"/>; their earlier attempts stay in the log and their
    /// run folders on disk. Returns the trials re-queued.</summary>
    public IReadOnlyList<int> Retry(string? sweep = null, IReadOnlyList<int>? trials = null, bool diverged = false) => SweepGuard.Run(() =>
    {
        var row = S.Worker.pickSweep(_store, Names.Option(sweep));
        var statuses = diverged ? new[] { S.Store.Status.Failed, S.Store.Status.Diverged } : new[] { S.Store.Status.Failed };
        var wanted = trials is null ? null : FSharpOption<Microsoft.FSharp.Collections.FSharpList<int>>.Some(Microsoft.FSharp.Collections.ListModule.OfSeq(trials));
        return _store.Retry(row.Name, Microsoft.FSharp.Collections.ListModule.OfSeq(statuses), wanted, $"{Environment.MachineName}:{Environment.ProcessId}:retry").ToList();
    });

    /// <summary><see cref="Work"/> on a thread-pool thread.</summary>
    public Task<SweepWorkResult> WorkAsync(SweepWorkerOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        Task.Run(() => Work(options, observer, cancel), cancel);

    /// <summary>Counts by status, running trials (worker, epochs, lease), failures with their errors, and an ETA.</summary>
    public ExperimentReport Status(string? sweep = null) =>
        ExperimentReport.From(SweepGuard.Run(() => S.SweepReport.status(_store, Names.Option(sweep))));

    /// <summary>The best configuration per group and method (mean ± std over seeds), Welch t-tests between the
    /// methods of each group; with <paramref name="folder"/>, also report.json, best.csv, trials.csv and plots of
    /// the metric against each axis there.</summary>
    public ExperimentReport Report(string? sweep = null, string? folder = null) =>
        ExperimentReport.From(SweepGuard.Run(() => S.SweepReport.report(_store, Names.Option(sweep), Names.Option(folder))));

    /// <summary>Writes the best configuration of each method and group as a configuration file that
    /// <c>hybrid train --config</c> reads; returns the files.</summary>
    public IReadOnlyList<string> Export(string folder, string? sweep = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        return SweepGuard.Run(() => S.SweepReport.export(_store, Names.Option(sweep), folder).ToList());
    }

    static SweepTrialOutcome Outcome(S.Worker.TrialOutcome o) =>
        new(o.Index, o.Status, Names.Value(o.Metric), o.Epochs, o.Seconds, o.Error?.Value, o.Folder);

    static S.Worker.WorkerObserver Observer(IExperimentObserver? o)
    {
        if (o is null) return S.Worker.WorkerObserverModule.silent;
        return new S.Worker.WorkerObserver(
            FuncConvert.FromFunc<S.Store.Claim, int, Unit>((c, total) =>
            {
                o.RunStarted(c.Index, total, $"trial {c.Index} {c.Method} {c.Key} (attempt {c.Attempt})");
                return null!;
            }),
            FuncConvert.FromAction<Hybrid.TrainProgress>(p => o.Batch(Progress.From(p))),
            FuncConvert.FromFunc<S.Store.Claim, Hybrid.EpochRecord, Unit>((_, e) => { o.Epoch(EpochResult.From(e)); return null!; }),
            FuncConvert.FromFunc<S.Store.Claim, S.Worker.TrialOutcome, Unit>((c, r) =>
            {
                var metric = FSharpOption<double>.get_IsSome(r.Metric) ? $" {r.Metric.Value:F2}" : "";
                var error = FSharpOption<string>.get_IsSome(r.Error) ? $" ({r.Error.Value})" : "";
                o.Message($"trial {c.Index}: {r.Status}{metric} after {r.Epochs} epochs, {r.Seconds:F1}s{error}");
                return null!;
            }),
            FuncConvert.FromAction<int>(n => o.Message($"waiting: {n} open trials run elsewhere (their workers may vanish)")));
    }
}

/// <summary>Calls into the sweep core with the facade's exceptions.</summary>
internal static class SweepGuard
{
    public static T Run<T>(Func<T> f)
    {
        try { return Guard.Run(f); }
        catch (S.Store.StoreError e) { throw new SweepStorageException(e.Message, e); }
    }
}
