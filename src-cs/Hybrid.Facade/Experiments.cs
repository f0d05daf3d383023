using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using E = Hybrid.Experiments;
using R = Hybrid.Reporting;

namespace Hybrid.Facade;

/// <summary>Hears what an experiment is doing: runs starting, batches, epochs and messages.</summary>
public interface IExperimentObserver
{
    /// <summary>Run <paramref name="index"/> (0-based) of <paramref name="count"/> starts.</summary>
    void RunStarted(int index, int count, string name);
    /// <summary>A training batch is done.</summary>
    void Batch(Progress progress);
    /// <summary>A training epoch is done.</summary>
    void Epoch(EpochResult epoch);
    /// <summary>A line about what the experiment is doing.</summary>
    void Message(string text);
}

/// <summary>A table of text cells.</summary>
/// <param name="Title">Its title.</param>
/// <param name="Header">Column names.</param>
/// <param name="Rows">Rows of cells.</param>
public sealed record ReportTable(string Title, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>What an experiment shows: one JSON document, tables and lines for people, and an exit code.</summary>
/// <param name="Json">The whole result as one JSON document.</param>
/// <param name="Tables">Tables for people.</param>
/// <param name="Lines">Lines for people, after the tables.</param>
/// <param name="Notes">Lines to show in every mode (beside a JSON document: on stderr).</param>
/// <param name="Errors">Problems (diverged runs).</param>
/// <param name="ExitCode">0 when every run completed; 3 when a run diverged or was cancelled.</param>
public sealed record ExperimentReport(JsonNode? Json, IReadOnlyList<ReportTable> Tables, IReadOnlyList<string> Lines, IReadOnlyList<string> Notes,
    IReadOnlyList<string> Errors, int ExitCode)
{
    internal static ExperimentReport From(R.Report r) => new(r.Json,
        r.Tables.Select(t => new ReportTable(t.Title, t.Header.ToList(), t.Rows.Select(row => (IReadOnlyList<string>)row.ToList()).ToList())).ToList(),
        r.Lines.ToList(), r.Notes.ToList(), r.Errors.ToList(), r.ExitCode);
}

/// <summary>The experiments of the papers. Each takes its options, reports progress to an observer, and returns its report.</summary>
public static class PaperExperiments
{
    internal static R.Observer Adapt(IExperimentObserver? o) => o is null ? R.ObserverModule.silent : new R.Observer(
        FuncConvert.FromAction<int, int, string>((i, n, name) => o.RunStarted(i, n, name)),
        FuncConvert.FromAction<Hybrid.TrainProgress>(p => o.Batch(Progress.From(p))),
        FuncConvert.FromAction<Hybrid.EpochRecord>(e => o.Epoch(EpochResult.From(e))),
        FuncConvert.FromAction<string>(o.Message));

    /// <summary>Pinchetti et al., Table 1.</summary>
    public static ExperimentReport Table1(Table1Options options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.Table1.run(Checked<E.Table1.Settings>(options), Adapt(observer), cancel)));

    /// <summary>A 20-layer MLP trained by BP, sPC and ePC.</summary>
    public static ExperimentReport DeepMlp(DeepMlpOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.DeepMlp.run(Checked<E.DeepMlp.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Residual MLPs at several depths under muPC and the standard parameterisation.</summary>
    public static ExperimentReport MuPC(MuPCOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.MuPC.run(Checked<E.MuPC.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 2: every initializer at several T.</summary>
    public static ExperimentReport Inits(InitsOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Inits.report(E.Inits.run(Checked<E.Inits.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 5: accuracy against small T per data fraction, PC-fw against PC-avg.</summary>
    public static ExperimentReport Steps(StepsOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Steps.report(E.Steps.run(Checked<E.Steps.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 6 (right) and Table 3: SMMs, updates and seconds to reach a relative error of the best accuracy.</summary>
    public static ExperimentReport Speed(SpeedOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Speed.report(E.Speed.run(Checked<E.Speed.Settings>(options), Adapt(observer), cancel)));

    /// <summary>VGG-5, VGG-7 and ResNet-18 under BP, sPC and ePC (the ePC paper's CIFAR-10 table).</summary>
    public static ExperimentReport Conv(ConvOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Conv.report(E.Conv.run(Checked<E.Conv.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 7: reconstruction by a generative PCN.</summary>
    public static ExperimentReport Reconstruction(ReconstructionOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Reconstruction.report(E.Reconstruction.run(Checked<E.Reconstruction.Settings>(options), Adapt(observer), cancel)));

    /// <summary>Signal decay of sPC versus ePC.</summary>
    public static ExperimentReport Decay(DecayOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Decay.report(E.Decay.study(Checked<E.Decay.Settings>(options), Adapt(observer))));

    /// <summary>The theory: the closed-form equilibrated energy of deep linear networks against inference.</summary>
    public static ExperimentReport TheoryEnergy(TheoryEnergyOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Equilibrated.report(E.Equilibrated.study(Checked<E.Equilibrated.Settings>(options), Adapt(observer))));

    /// <summary>The theory: the Hessians of the loss and of the equilibrated energy at the origin of deep linear networks (strict saddles).</summary>
    public static ExperimentReport TheorySaddles(TheorySaddlesOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Saddles.report(E.Saddles.study(Checked<E.Saddles.Settings>(options), Adapt(observer))));

    /// <summary>The theory: updates to leave the plateau near the origin, BP against PC with the same optimiser.</summary>
    public static ExperimentReport TheoryEscape(TheoryEscapeOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Escape.report(E.Escape.study(Checked<E.Escape.Settings>(options), Adapt(observer))));

    /// <summary>The theory: the activity Hessian's extreme eigenvalues and condition number against depth and width, for sp, ntp and muPC residual MLPs, at initialisation and after training.</summary>
    public static ExperimentReport TheoryConditioning(TheoryConditioningOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Conditioning.report(E.Conditioning.study(Checked<E.Conditioning.Settings>(options), Adapt(observer))));

    /// <summary>The theory: per-layer gradient norms of the loss (BP) against those of the equilibrated energy (PC) in deep MLPs, at initialisation and along training.</summary>
    public static ExperimentReport TheoryGradients(TheoryGradientsOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.EffectiveGradients.report(E.EffectiveGradients.study(Checked<E.EffectiveGradients.Settings>(options), Adapt(observer))));

    /// <summary>The theory: the best weight learning rate and state step at a small and a large residual MLP, under muPC and sp, as one sweep (other workers may join).</summary>
    public static ExperimentReport TheoryTransfer(TheoryTransferOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Transfer.report(E.Transfer.run(Checked<E.Transfer.Settings>(options), Adapt(observer), cancel)));

    /// <summary>The theory: the angles of PC's weight update to BP's gradient and to trust-region steps on the loss (Fisher and exact Hessian curvature), along training.</summary>
    public static ExperimentReport TheoryTrustRegion(TheoryTrustRegionOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.TrustRegion.report(E.TrustRegion.study(Checked<E.TrustRegion.Settings>(options), Adapt(observer))));

    /// <summary>The inverse-temperature phase transition of modern Hopfield networks.</summary>
    public static ExperimentReport HopfieldPhase(PhaseOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Phase.report(E.Phase.study(Checked<E.Phase.Settings>(options), Adapt(observer))));

    /// <summary>Retrieval of dataset images from corrupted queries.</summary>
    public static ExperimentReport HopfieldRetrieval(RetrievalOptions options)
    {
        var s = Checked<E.Retrieval.Settings>(options);
        return ExperimentReport.From(E.Retrieval.report(s, E.Retrieval.measure(s)));
    }

    /// <summary>HAM solvers: synchronous, even/odd, Anderson, even/odd + Anderson.</summary>
    public static ExperimentReport HamBench(HamBenchOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.HamBench.report(E.HamBench.study(Checked<E.HamBench.Settings>(options), Adapt(observer))));

    /// <summary>The core's settings of the options, checked as a whole.</summary>
    static T Checked<T>(ConfigOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return (T)options.Value;
    }
}

/// <summary>Training runs in run folders (config.json, results.jsonl, checkpoint.ck, summary.json, plots).</summary>
public static class TrainingRuns
{
    /// <summary>Trains one configuration into a fresh run folder under <paramref name="outRoot"/>.</summary>
    public static ExperimentReport Train(TrainingOptions options, string outRoot, IExperimentObserver? observer = null, CancellationToken cancel = default)
    {
        var run = R.Pipeline.runOne(options.ToConfig(), outRoot, PaperExperiments.Adapt(observer), cancel);
        return ExperimentReport.From(R.Pipeline.report(ListModule.OfSeq([run])));
    }

    /// <summary>Continues the run in <paramref name="folder"/> from its checkpoint.</summary>
    public static ExperimentReport Resume(string folder, IExperimentObserver? observer = null, CancellationToken cancel = default)
    {
        var run = R.Pipeline.resume(folder, PaperExperiments.Adapt(observer), cancel);
        return ExperimentReport.From(R.Pipeline.report(ListModule.OfSeq([run])));
    }

    /// <summary>Several run folders on one figure (written into <paramref name="outDir"/>) and in one table.</summary>
    public static ExperimentReport Compare(IReadOnlyList<string> folders, string outDir) =>
        ExperimentReport.From(R.RunPlots.compare(ListModule.OfSeq(folders), outDir));
}

/// <summary>The JSON Schemas of the configuration forms, for editors.</summary>
public static class ConfigSchemas
{
    /// <summary>The forms: name and what reads it.</summary>
    public static IReadOnlyList<(string Name, string Title)> Forms => ConfigForm.All.Select(f => (f.Name, f.ReadBy)).ToList();

    /// <summary>The JSON Schema of a form (train, generative, table1, ...).</summary>
    public static JsonNode Get(string name) => ConfigForm.Get(name).Schema();
}
