using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using E = Hybrid.Experiments;

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
    internal static ExperimentReport From(E.Report r) => new(r.Json,
        r.Tables.Select(t => new ReportTable(t.Title, t.Header.ToList(), t.Rows.Select(row => (IReadOnlyList<string>)row.ToList()).ToList())).ToList(),
        r.Lines.ToList(), r.Notes.ToList(), r.Errors.ToList(), r.ExitCode);
}

/// <summary>What every experiment that trains networks shares: the data, how much of it, how long, where the results
/// go and on which device.</summary>
public interface IRunOptions
{
    /// <summary>Dataset name or folder:PATH.</summary>
    string Dataset { get; set; }
    /// <summary>Data root (null: the standard folders).</summary>
    string? DataRoot { get; set; }
    /// <summary>Fraction of the training set, in (0,1].</summary>
    double Fraction { get; set; }
    /// <summary>Epochs per run.</summary>
    int Epochs { get; set; }
    /// <summary>Parent folder of the experiment's folder.</summary>
    string Out { get; set; }
    /// <summary>The compute device.</summary>
    Device Device { get; set; }
}

/// <summary>The <see cref="IRunOptions"/> every experiment's options share.</summary>
public abstract class RunOptionsBase : IRunOptions
{
    private protected RunOptionsBase() { }
    /// <summary>Dataset name or folder:PATH.</summary>
    public string Dataset { get; set; } = "";
    /// <summary>Data root (null: the standard folders).</summary>
    public string? DataRoot { get; set; }
    /// <summary>Fraction of the training set, in (0,1].</summary>
    public double Fraction { get; set; }
    /// <summary>Epochs per run.</summary>
    public int Epochs { get; set; }
    /// <summary>Parent folder of the experiment's folder.</summary>
    public string Out { get; set; } = "";
    /// <summary>The compute device.</summary>
    public Device Device { get; set; }
}

internal static class RunOptions
{
    public static void Load(IRunOptions o, E.RunSettings r)
    {
        o.Dataset = r.Dataset; o.DataRoot = r.DataRoot?.Value; o.Fraction = r.Fraction; o.Epochs = r.Epochs; o.Out = r.Out; o.Device = Core.From(r.Device);
    }

    public static E.RunSettings Settings(IRunOptions o) =>
        new(o.Dataset, Names.Option(o.DataRoot), o.Fraction, o.Epochs, o.Out, Core.Of(o.Device));
}

/// <summary>Options of <c>reproduce table1</c>: Pinchetti et al., Table 1.</summary>
public sealed class Table1Options : RunOptionsBase
{
    /// <summary>The paper's three columns on Fashion-MNIST, 3 seeds, 16 epochs.</summary>
    public Table1Options() : this(E.Table1.defaults) { }
    Table1Options(E.Table1.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Methods = s.Methods.ToList();
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static Table1Options FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Table1.codec, E.Table1.defaults, path)));
    /// <summary>Seeds per method.</summary>
    public int Seeds { get; set; }
    /// <summary>Methods (configs/table1/NAME.json): bp, pc-fw, pc-avg, pc-mem.</summary>
    public IReadOnlyList<string> Methods { get; set; }
    internal E.Table1.Settings ToSettings() => new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Methods));
}

/// <summary>Options of <c>reproduce deep-mlp</c>: a 20-layer MLP trained by BP, sPC and ePC.</summary>
public sealed class DeepMlpOptions : RunOptionsBase
{
    /// <summary>Fashion-MNIST, one seed, 5 epochs.</summary>
    public DeepMlpOptions() : this(E.DeepMlp.defaults) { }
    DeepMlpOptions(E.DeepMlp.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Steps = Names.Value(s.Steps);
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static DeepMlpOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.DeepMlp.codec, E.DeepMlp.defaults, path)));
    /// <summary>Seeds per method.</summary>
    public int Seeds { get; set; }
    /// <summary>Inference steps of sPC and ePC (null: the configs').</summary>
    public int? Steps { get; set; }
    internal E.DeepMlp.Settings ToSettings() => new(RunOptions.Settings(this), Seeds, Names.Option(Steps));
}

/// <summary>Options of <c>reproduce mupc</c>: residual MLPs under muPC and the standard parameterisation.</summary>
public sealed class MuPCOptions : RunOptionsBase
{
    /// <summary>Depths 8, 32 and 128, one epoch.</summary>
    public MuPCOptions() : this(E.MuPC.defaults) { }
    MuPCOptions(E.MuPC.Settings s)
    {
        RunOptions.Load(this, s.Runs); Depths = s.Depths.ToList(); Steps = Names.Value(s.Steps);
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static MuPCOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.MuPC.codec, E.MuPC.defaults, path)));
    /// <summary>Numbers of weight layers.</summary>
    public IReadOnlyList<int> Depths { get; set; }
    /// <summary>Inference steps (null: the configs').</summary>
    public int? Steps { get; set; }
    internal E.MuPC.Settings ToSettings() => new(RunOptions.Settings(this), ListModule.OfSeq(Depths), Names.Option(Steps));
}

/// <summary>Options of <c>reproduce inits</c>: Pinchetti et al., Fig. 2, initializers x T.</summary>
public sealed class InitsOptions : RunOptionsBase
{
    /// <summary>The paper's grid: random, zero, keep and forward at T in {5, 10, 25, 50, 100}, 3 seeds, 16 epochs.</summary>
    public InitsOptions() : this(E.Inits.defaults) { }
    InitsOptions(E.Inits.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Inits = s.Inits.ToList(); Steps = s.Steps.ToList();
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static InitsOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Inits.codec, E.Inits.defaults, path)));
    /// <summary>Seeds per cell.</summary>
    public int Seeds { get; set; }
    /// <summary>Initializers: forward, random, zero, keep, avg, mem.</summary>
    public IReadOnlyList<string> Inits { get; set; }
    /// <summary>Values of T.</summary>
    public IReadOnlyList<int> Steps { get; set; }
    internal E.Inits.Settings ToSettings() => new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Inits), ListModule.OfSeq(Steps));
}

/// <summary>Options of <c>reproduce steps</c>: Pinchetti et al., Fig. 5, T against the data fraction.</summary>
public sealed class StepsOptions : RunOptionsBase
{
    /// <summary>The paper's figure: PC-fw and PC-avg at T in {2..7} on 25%, 50% and 100% of the data, 16 epochs, one seed.</summary>
    public StepsOptions() : this(E.Steps.defaults) { }
    StepsOptions(E.Steps.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Methods = s.Methods.ToList(); Fractions = s.Fractions.ToList(); Steps = s.Steps.ToList();
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static StepsOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Steps.codec, E.Steps.defaults, path)));
    /// <summary>Seeds per cell.</summary>
    public int Seeds { get; set; }
    /// <summary>Table 1 methods: pc-fw, pc-avg, pc-mem.</summary>
    public IReadOnlyList<string> Methods { get; set; }
    /// <summary>Fractions of the training set (<see cref="RunOptionsBase.Fraction"/> is not used).</summary>
    public IReadOnlyList<double> Fractions { get; set; }
    /// <summary>Values of T.</summary>
    public IReadOnlyList<int> Steps { get; set; }
    internal E.Steps.Settings ToSettings() =>
        new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Methods), ListModule.OfSeq(Fractions), ListModule.OfSeq(Steps));
}

/// <summary>Options of <c>reproduce speed</c>: Pinchetti et al., Fig. 6 (right) and Table 3, the cost to reach a relative error.</summary>
public sealed class SpeedOptions : RunOptionsBase
{
    /// <summary>BP, PC-fw and PC-avg on all of Fashion-MNIST, 16 epochs, one seed, accuracy every 10 updates, errors 0.5, 1, 2, 5%.</summary>
    public SpeedOptions() : this(E.Speed.defaults) { }
    SpeedOptions(E.Speed.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Methods = s.Methods.ToList(); EvalEvery = s.EvalEvery; Errors = s.Errors.ToList();
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static SpeedOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Speed.codec, E.Speed.defaults, path)));
    /// <summary>Seeds per method.</summary>
    public int Seeds { get; set; }
    /// <summary>Table 1 methods: bp, pc-fw, pc-avg, pc-mem.</summary>
    public IReadOnlyList<string> Methods { get; set; }
    /// <summary>Test accuracy is measured every this many updates.</summary>
    public int EvalEvery { get; set; }
    /// <summary>Relative errors in percent of the best accuracy.</summary>
    public IReadOnlyList<double> Errors { get; set; }
    internal E.Speed.Settings ToSettings() => new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Methods), EvalEvery, ListModule.OfSeq(Errors));
}

/// <summary>Options of <c>reproduce conv</c>: VGG-5, VGG-7 and ResNet-18 under BP, sPC and ePC.</summary>
public sealed class ConvOptions : RunOptionsBase
{
    /// <summary>The ePC paper's table: the three models under BP, sPC and ePC on CIFAR-10 at full width, one seed, 10 epochs.</summary>
    public ConvOptions() : this(E.Conv.defaults) { }
    ConvOptions(E.Conv.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Models = s.Models.ToList(); Methods = s.Methods.ToList(); Divisor = s.Divisor;
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static ConvOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Conv.codec, E.Conv.defaults, path)));
    /// <summary>Seeds per model and method.</summary>
    public int Seeds { get; set; }
    /// <summary>Models: vgg5, vgg7, resnet18.</summary>
    public IReadOnlyList<string> Models { get; set; }
    /// <summary>Methods: bp, spc, epc (configs/conv/NAME.json).</summary>
    public IReadOnlyList<string> Methods { get; set; }
    /// <summary>Every layer's channels are divided by this (1: the paper's widths; it must divide 64).</summary>
    public int Divisor { get; set; }
    internal E.Conv.Settings ToSettings() => new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Models), ListModule.OfSeq(Methods), Divisor);
}

/// <summary>Options of <c>reproduce reconstruction</c>: a generative PCN with several initializers and T.</summary>
public sealed class ReconstructionOptions : RunOptionsBase
{
    /// <summary>The paper's grid: random, zero, keep and memory at T in {3, 5, 10, 20}, 3 seeds, 16 epochs.</summary>
    public ReconstructionOptions() : this(E.Reconstruction.defaults) { }
    ReconstructionOptions(E.Reconstruction.Settings s)
    {
        RunOptions.Load(this, s.Runs); Seeds = s.Seeds; Steps = s.Steps.ToList(); Inits = s.Inits.ToList(); EvalSteps = s.EvalSteps.ToList();
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static ReconstructionOptions FromFile(string path) =>
        new(Names.Config(() => Hybrid.CodecModule.load(E.Reconstruction.codec, E.Reconstruction.defaults, path)));
    /// <summary>Seeds per cell.</summary>
    public int Seeds { get; set; }
    /// <summary>T_train = T_eval values.</summary>
    public IReadOnlyList<int> Steps { get; set; }
    /// <summary>Initializers (configs/reconstruction/NAME.json).</summary>
    public IReadOnlyList<string> Inits { get; set; }
    /// <summary>T_eval values of the T_train x T_eval grid (empty: T_eval = T_train only).</summary>
    public IReadOnlyList<int> EvalSteps { get; set; }
    internal E.Reconstruction.Settings ToSettings() =>
        new(RunOptions.Settings(this), Seeds, ListModule.OfSeq(Steps), ListModule.OfSeq(Inits), ListModule.OfSeq(EvalSteps));
}

/// <summary>Options of <c>decay</c>: signal decay of sPC versus ePC on deep chains.</summary>
public sealed class DecayOptions
{
    /// <summary>Depths 5, 10, 20 of width 32, PyTorch's default weights.</summary>
    public DecayOptions() : this(E.Decay.defaults) { }
    DecayOptions(E.Decay.Settings s)
    {
        Depths = s.Depths.ToList(); Width = s.Width; Batch = s.Batch; MaxSteps = s.MaxSteps; Tolerance = s.Tolerance; TraceSteps = s.TraceSteps; Seed = s.Seed;
        Weights = s.Weights.IsDefault ? ChainWeights.Default : ChainWeights.Orthogonal; Out = s.Out;
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static DecayOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Decay.codec, E.Decay.defaults, path)));
    /// <summary>Chain depths L (blocks).</summary>
    public IReadOnlyList<int> Depths { get; set; }
    /// <summary>Width of every layer.</summary>
    public int Width { get; set; }
    /// <summary>Samples per chain.</summary>
    public int Batch { get; set; }
    /// <summary>Inference step budget per attempt.</summary>
    public int MaxSteps { get; set; }
    /// <summary>Relative distance to the exact equilibrium counted as reached.</summary>
    public double Tolerance { get; set; }
    /// <summary>Steps recorded for the update-magnitude plots.</summary>
    public int TraceSteps { get; set; }
    /// <summary>Seed of weights and data.</summary>
    public long Seed { get; set; }
    /// <summary>The chains' weights.</summary>
    public ChainWeights Weights { get; set; }
    /// <summary>Folder for the plots, CSV and JSON.</summary>
    public string Out { get; set; } = "";
    internal E.Decay.Settings ToSettings() => new(ListModule.OfSeq(Depths), Width, Batch, MaxSteps, Tolerance, TraceSteps, Seed,
        Weights == ChainWeights.Default ? E.Decay.ChainWeights.Default : E.Decay.ChainWeights.Orthogonal, Out);
}

/// <summary>Options of <c>hopfield phase</c>: the inverse-temperature phase transition of modern Hopfield networks.</summary>
public sealed class PhaseOptions
{
    /// <summary>Simplex patterns, N in {3, 5, 10}, M in {1, 2}.</summary>
    public PhaseOptions() : this(E.Phase.defaults) { }
    PhaseOptions(E.Phase.Settings s)
    {
        Patterns = s.Patterns; Counts = s.Counts.ToList(); Norms = s.Norms.ToList(); Dimension = s.Dimension; Points = s.Points; Starts = s.Starts;
        Seed = s.Seed; Out = s.Out; DataRoot = s.DataRoot?.Value;
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static PhaseOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Phase.codec, E.Phase.defaults, path)));
    /// <summary>simplex, orthogonal, random, or a dataset name.</summary>
    public string Patterns { get; set; }
    /// <summary>Numbers of patterns N.</summary>
    public IReadOnlyList<int> Counts { get; set; }
    /// <summary>Pattern norms M.</summary>
    public IReadOnlyList<double> Norms { get; set; }
    /// <summary>Dimension of generated patterns (0: N + 2).</summary>
    public int Dimension { get; set; }
    /// <summary>beta values in the sweep.</summary>
    public int Points { get; set; }
    /// <summary>Starting points per beta.</summary>
    public int Starts { get; set; }
    /// <summary>Seed of patterns and starts.</summary>
    public long Seed { get; set; }
    /// <summary>Folder for plots, CSV and JSON.</summary>
    public string Out { get; set; } = "";
    /// <summary>Data root, for dataset patterns.</summary>
    public string? DataRoot { get; set; }
    internal E.Phase.Settings ToSettings() => new(Patterns, ListModule.OfSeq(Counts), ListModule.OfSeq(Norms), Dimension, Points, Starts, Seed, Out,
        Names.Option(DataRoot));
}

/// <summary>Options of <c>hopfield retrieve</c>: retrieval of dataset images from corrupted queries.</summary>
public sealed class RetrievalOptions
{
    /// <summary>100 Fashion-MNIST images, half masked, beta in {1, 4, 16, 64}.</summary>
    public RetrievalOptions() : this(E.Retrieval.defaults) { }
    RetrievalOptions(E.Retrieval.Settings s)
    {
        Dataset = s.Dataset; DataRoot = s.DataRoot?.Value; Count = s.Count; Betas = s.Betas.ToList(); Corrupt = new Corruption(s.Corruption);
        MaxSteps = s.MaxSteps; Seed = s.Seed;
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static RetrievalOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.Retrieval.codec, E.Retrieval.defaults, path)));
    /// <summary>Dataset whose training images are stored.</summary>
    public string Dataset { get; set; } = "";
    /// <summary>Data root (null: the standard folders).</summary>
    public string? DataRoot { get; set; }
    /// <summary>Stored patterns (the first images).</summary>
    public int Count { get; set; }
    /// <summary>Inverse temperatures.</summary>
    public IReadOnlyList<double> Betas { get; set; }
    /// <summary>How the queries are corrupted (<see cref="Corruption.Mask"/> or <see cref="Corruption.Noise"/>).</summary>
    public Corruption Corrupt { get; set; }
    /// <summary>Update cap per query.</summary>
    public int MaxSteps { get; set; }
    /// <summary>Seed of the noise.</summary>
    public long Seed { get; set; }
    internal E.Retrieval.Settings ToSettings() => new(Dataset, Names.Option(DataRoot), Count, ListModule.OfSeq(Betas),
        (Corrupt ?? throw new ArgumentException("Corrupt is null", nameof(Corrupt))).Inner, MaxSteps, Seed);
}

/// <summary>Options of <c>ham bench</c>: hierarchical associative memories solved by four solvers.</summary>
public sealed class HamBenchOptions
{
    /// <summary>A 3- and a 5-layer HAM on mnist10k, trained for 2 epochs with even/odd + Anderson.</summary>
    public HamBenchOptions() : this(E.HamBench.defaults) { }
    HamBenchOptions(E.HamBench.Settings s)
    {
        Dataset = s.Dataset; DataRoot = s.DataRoot?.Value; Layers = s.Layers.Select(l => (IReadOnlyList<int>)l.ToList()).ToList(); Epochs = s.Epochs;
        BatchSize = s.BatchSize; LearningRate = s.LearningRate; TrainSolver = HamSolver.Parse(Hybrid.Choices.solverName(s.TrainSolver)); Tolerance = s.Tolerance;
        TrainTolerance = s.TrainTolerance; MaxIterations = s.MaxIterations; Repeats = s.Repeats; Seed = s.Seed; Device = Core.From(s.Device);
    }
    /// <summary>Reads the options from a JSON file (fields absent keep the defaults).</summary>
    public static HamBenchOptions FromFile(string path) => new(Names.Config(() => Hybrid.CodecModule.load(E.HamBench.codec, E.HamBench.defaults, path)));
    /// <summary>Dataset (inputs in [0,1]).</summary>
    public string Dataset { get; set; } = "";
    /// <summary>Data root (null: the standard folders).</summary>
    public string? DataRoot { get; set; }
    /// <summary>Layer sizes of each network.</summary>
    public IReadOnlyList<IReadOnlyList<int>> Layers { get; set; }
    /// <summary>Training epochs before the measurement.</summary>
    public int Epochs { get; set; }
    /// <summary>Training batch size.</summary>
    public int BatchSize { get; set; }
    /// <summary>Adam learning rate.</summary>
    public double LearningRate { get; set; }
    /// <summary>Solver used in training.</summary>
    public HamSolver TrainSolver { get; set; }
    /// <summary>Convergence of the measured solves.</summary>
    public double Tolerance { get; set; }
    /// <summary>Convergence of the training solves.</summary>
    public double TrainTolerance { get; set; }
    /// <summary>Iteration cap.</summary>
    public int MaxIterations { get; set; }
    /// <summary>Timed repeats per variant (median).</summary>
    public int Repeats { get; set; }
    /// <summary>Seed.</summary>
    public long Seed { get; set; }
    /// <summary>The compute device.</summary>
    public Device Device { get; set; }
    internal E.HamBench.Settings ToSettings() => new(Dataset, Names.Option(DataRoot), ListModule.OfSeq(Layers.Select(l => ListModule.OfSeq(l))), Epochs,
        BatchSize, LearningRate, (TrainSolver ?? throw new ArgumentException("TrainSolver is null", nameof(TrainSolver))).Inner, Tolerance, TrainTolerance,
        MaxIterations, Repeats, Seed, Core.Of(Device));
}

/// <summary>The experiments of the papers. Each takes its options, reports progress to an observer, and returns its report.</summary>
public static class PaperExperiments
{
    internal static E.Observer Adapt(IExperimentObserver? o) => o is null ? E.ObserverModule.silent : new E.Observer(
        FuncConvert.FromAction<int, int, string>((i, n, name) => o.RunStarted(i, n, name)),
        FuncConvert.FromAction<Hybrid.TrainProgress>(p => o.Batch(Progress.From(p))),
        FuncConvert.FromAction<Hybrid.EpochRecord>(e => o.Epoch(EpochResult.From(e))),
        FuncConvert.FromAction<string>(o.Message));

    /// <summary>Pinchetti et al., Table 1.</summary>
    public static ExperimentReport Table1(Table1Options options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.Table1.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>A 20-layer MLP trained by BP, sPC and ePC.</summary>
    public static ExperimentReport DeepMlp(DeepMlpOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.DeepMlp.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Residual MLPs at several depths under muPC and the standard parameterisation.</summary>
    public static ExperimentReport MuPC(MuPCOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Table.report(E.MuPC.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 2: every initializer at several T.</summary>
    public static ExperimentReport Inits(InitsOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Inits.report(E.Inits.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 5: accuracy against small T per data fraction, PC-fw against PC-avg.</summary>
    public static ExperimentReport Steps(StepsOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Steps.report(E.Steps.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 6 (right) and Table 3: SMMs, updates and seconds to reach a relative error of the best accuracy.</summary>
    public static ExperimentReport Speed(SpeedOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Speed.report(E.Speed.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>VGG-5, VGG-7 and ResNet-18 under BP, sPC and ePC (the ePC paper's CIFAR-10 table).</summary>
    public static ExperimentReport Conv(ConvOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Conv.report(E.Conv.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Pinchetti et al., Fig. 7: reconstruction by a generative PCN.</summary>
    public static ExperimentReport Reconstruction(ReconstructionOptions options, IExperimentObserver? observer = null, CancellationToken cancel = default) =>
        ExperimentReport.From(E.Reconstruction.report(E.Reconstruction.run(Validated(options.ToSettings, s => s.Validate()), Adapt(observer), cancel)));

    /// <summary>Signal decay of sPC versus ePC.</summary>
    public static ExperimentReport Decay(DecayOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Decay.report(E.Decay.study(Validated(options.ToSettings, s => s.Validate()), Adapt(observer))));

    /// <summary>The inverse-temperature phase transition of modern Hopfield networks.</summary>
    public static ExperimentReport HopfieldPhase(PhaseOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.Phase.report(E.Phase.study(Validated(options.ToSettings, s => s.Validate()), Adapt(observer))));

    /// <summary>Retrieval of dataset images from corrupted queries.</summary>
    public static ExperimentReport HopfieldRetrieval(RetrievalOptions options)
    {
        var s = Validated(options.ToSettings, x => x.Validate());
        return ExperimentReport.From(E.Retrieval.report(s, E.Retrieval.measure(s)));
    }

    /// <summary>HAM solvers: synchronous, even/odd, Anderson, even/odd + Anderson.</summary>
    public static ExperimentReport HamBench(HamBenchOptions options, IExperimentObserver? observer = null) =>
        ExperimentReport.From(E.HamBench.report(E.HamBench.study(Validated(options.ToSettings, s => s.Validate()), Adapt(observer))));

    static T Validated<T>(Func<T> settings, Action<T> validate)
    {
        var s = settings();
        validate(s);
        return s;
    }
}

/// <summary>Training runs in run folders (config.json, results.jsonl, checkpoint.ck, summary.json, plots).</summary>
public static class TrainingRuns
{
    /// <summary>Trains one configuration into a fresh run folder under <paramref name="outRoot"/>.</summary>
    public static ExperimentReport Train(TrainingOptions options, string outRoot, IExperimentObserver? observer = null, CancellationToken cancel = default)
    {
        var run = E.Runner.runOne(options.ToConfig(), outRoot, PaperExperiments.Adapt(observer), cancel);
        return ExperimentReport.From(E.Runner.report(ListModule.OfSeq([run])));
    }

    /// <summary>Continues the run in <paramref name="folder"/> from its checkpoint.</summary>
    public static ExperimentReport Resume(string folder, IExperimentObserver? observer = null, CancellationToken cancel = default)
    {
        var run = E.Runner.resume(folder, PaperExperiments.Adapt(observer), cancel);
        return ExperimentReport.From(E.Runner.report(ListModule.OfSeq([run])));
    }

    /// <summary>Several run folders on one figure (written into <paramref name="outDir"/>) and in one table.</summary>
    public static ExperimentReport Compare(IReadOnlyList<string> folders, string outDir) =>
        ExperimentReport.From(E.RunPlots.compare(ListModule.OfSeq(folders), outDir));
}

/// <summary>The JSON Schemas of the configuration forms, for editors.</summary>
public static class ConfigSchemas
{
    /// <summary>The forms: name and what reads it.</summary>
    public static IReadOnlyList<(string Name, string Title)> Forms => E.Schemas.all.Select(f => (f.Item1, f.Item2)).ToList();

    /// <summary>The JSON Schema of a form (train, generative, table1, ...).</summary>
    public static JsonNode Get(string name) => Names.Config(() => E.Schemas.get(name));
}
