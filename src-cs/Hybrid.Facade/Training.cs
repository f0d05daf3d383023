using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Hybrid.Facade;

/// <summary>Names of choices (activations, losses, ...) read through the configuration system's one table.</summary>
internal static class Names
{
    /// <summary>The value of a name; an unknown name is an <see cref="ArgumentException"/> that lists the known ones.</summary>
    public static T Parse<T>(Hybrid.Choice<T> choice, string name) where T : IEquatable<T>
    {
        try { return choice.Parse(name); }
        catch (Hybrid.ConfigError e) { throw new ArgumentException(e.Message, choice.What, e); }
    }

    /// <summary>An initializer from its text form.</summary>
    public static Hybrid.Initializer Init(string text)
    {
        try { return Hybrid.InitText.parse(text); }
        catch (Hybrid.ConfigError e) { throw new ArgumentException(e.Message, "init", e); }
    }
}

/// <summary>A network architecture. Create one with the static factories.</summary>
public sealed class Model
{
    internal Hybrid.Architecture Inner { get; }
    internal Model(Hybrid.Architecture inner) => Inner = inner;

    /// <summary>A fully connected network with the given hidden widths (the output layer is linear).</summary>
    public static Model Mlp(IReadOnlyList<int> hiddenWidths, string activation = "gelu") =>
        new(Hybrid.Architecture.NewMlp(ListModule.OfSeq(hiddenWidths), Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>The paper's 5-layer MLP: four hidden layers of <paramref name="width"/>.</summary>
    public static Model PaperMlp(int width = 512, string activation = "gelu") => new(Hybrid.Architecture.PaperMlp(width, Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>A residual MLP of <paramref name="layers"/> weight layers with sp, mupc or ntp scalings.</summary>
    public static Model ResidualMlp(int width, int layers, string activation = "relu", string parameterisation = "mupc") =>
        new(Hybrid.Architecture.NewResidualMlp(width, layers, Names.Parse(Hybrid.Choices.activation, activation), Names.Parse(Hybrid.Choices.parameterisation, parameterisation)));

    /// <summary>The AlexNet-style convolutional network for 32x32x3 inputs.</summary>
    public static Model AlexNet(string activation = "relu") => new(Hybrid.Architecture.AlexNet(Names.Parse(Hybrid.Choices.activation, activation)));

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>How the weights are trained: backpropagation or predictive coding.</summary>
public sealed class Algorithm
{
    internal Hybrid.Algorithm Inner { get; }
    internal Algorithm(Hybrid.Algorithm inner) => Inner = inner;

    /// <summary>Backpropagation of the output loss.</summary>
    public static Algorithm Backprop { get; } = new(Hybrid.Algorithm.Backprop);

    /// <summary>Predictive coding: <paramref name="steps"/> inference steps of size <paramref name="stepSize"/> on the states
    /// (<c>spc</c>) or the errors (<c>epc</c>), from <paramref name="init"/> (e.g. <c>forward</c>, <c>"forward[1..2] + avg[3..]"</c>).</summary>
    public static Algorithm PredictiveCoding(int steps, double stepSize, string init = "forward", string reparam = "spc",
        double momentum = 0, double? tolerance = null)
    {
        var inference = new Hybrid.InferenceOptions(steps, stepSize, momentum,
            tolerance is { } t ? FSharpOption<double>.Some(t) : FSharpOption<double>.None, false, Names.Parse(Hybrid.Choices.reparam, reparam), 1e4, false);
        inference.Validate();
        return new(Hybrid.Algorithm.NewPredictiveCoding(new Hybrid.PcSpec(inference, Names.Init(init))));
    }

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>Options of a supervised training run; the defaults are the paper's Table 1 setup.</summary>
public sealed class TrainingOptions
{
    /// <summary>Run name.</summary>
    public string Name { get; set; } = "run";
    /// <summary>Dataset name (fashion-mnist, mnist10k, ...) or folder:PATH.</summary>
    public string Dataset { get; set; } = "fashion-mnist";
    /// <summary>Data root (null: $HYBRID_DATA, then the standard folders).</summary>
    public string? DataRoot { get; set; }
    /// <summary>Fraction of the training set, in (0,1].</summary>
    public double Fraction { get; set; } = 1.0;
    /// <summary>unit or standardise.</summary>
    public string Normalisation { get; set; } = "standardise";
    /// <summary>The network.</summary>
    public Model Model { get; set; } = Model.PaperMlp();
    /// <summary>mse or ce.</summary>
    public string Loss { get; set; } = "ce";
    /// <summary>Weights of plain networks: default (PyTorch's), kaiming or lecun.</summary>
    public string WeightInit { get; set; } = "default";
    /// <summary>The training algorithm.</summary>
    public Algorithm Algorithm { get; set; } = Algorithm.PredictiveCoding(5, 0.1);
    /// <summary>Weight optimiser: adamw or sgd.</summary>
    public string Optimizer { get; set; } = "adamw";
    /// <summary>Weight learning rate.</summary>
    public double LearningRate { get; set; } = 1e-4;
    /// <summary>AdamW weight decay (or SGD momentum).</summary>
    public double WeightDecayOrMomentum { get; set; }
    /// <summary>Epochs.</summary>
    public int Epochs { get; set; } = 16;
    /// <summary>Batch size.</summary>
    public int BatchSize { get; set; } = 200;
    /// <summary>random or stream (stream-aligned; the stream average needs it).</summary>
    public string Batching { get; set; } = "random";
    /// <summary>Seed of weights, batches and initializers.</summary>
    public long Seed { get; set; }
    /// <summary>float32 or float64.</summary>
    public string Precision { get; set; } = "float32";
    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; } = "auto";

    internal Hybrid.TrainConfig ToConfig()
    {
        var opt = Optimizer.ToLowerInvariant() switch
        {
            "adamw" => Hybrid.OptimizerSpec.NewAdamW(LearningRate, WeightDecayOrMomentum),
            "sgd" => Hybrid.OptimizerSpec.NewSgd(LearningRate, WeightDecayOrMomentum),
            var other => throw new ArgumentException($"unknown optimiser '{other}' (expected adamw or sgd)"),
        };
        var cfg = new Hybrid.TrainConfig(Name, Dataset, DataRoot is null ? FSharpOption<string>.None : FSharpOption<string>.Some(DataRoot), Fraction,
            Names.Parse(Hybrid.Choices.normalisation, Normalisation), Model.Inner, Names.Parse(Hybrid.Choices.weightInit, WeightInit), Names.Parse(Hybrid.Choices.loss, Loss), Algorithm.Inner, opt, Epochs, BatchSize,
            Names.Parse(Hybrid.Choices.batching, Batching), Seed, Names.Parse(Hybrid.Choices.precision, Precision), Names.Parse(Hybrid.Choices.device, Device), 1000);
        cfg.Validate();
        return cfg;
    }

    /// <summary>The options as a JSON config document (the format <c>hybrid train --config</c> reads).</summary>
    public string ToJson() => Hybrid.Config.toText(ToConfig());

    /// <summary>Reads a JSON config document (fields absent keep the paper's defaults).</summary>
    public static TrainingOptions FromJson(string json) => From(Hybrid.Config.parse(json, Hybrid.Config.defaults));

    /// <summary>Reads a JSON config file.</summary>
    public static TrainingOptions FromFile(string path) => From(Hybrid.Config.load(path, Hybrid.Config.defaults));

    internal static TrainingOptions From(Hybrid.TrainConfig c)
    {
        var o = new TrainingOptions();
        o.Load(c);
        return o;
    }

    void Load(Hybrid.TrainConfig c)
    {
        Name = c.Name; Dataset = c.Dataset; DataRoot = c.DataRoot?.Value; Fraction = c.Fraction; Normalisation = c.Normalisation.ToString();
        Model = ModelFrom(c.Architecture); WeightInit = c.WeightInit.ToString(); Loss = c.Loss.ToString(); Algorithm = AlgorithmFrom(c.Algorithm);
        (Optimizer, LearningRate, WeightDecayOrMomentum) = c.Optimizer switch
        {
            Hybrid.OptimizerSpec.AdamW a => ("adamw", a.lr, a.weightDecay),
            Hybrid.OptimizerSpec.Sgd s => ("sgd", s.lr, s.momentum),
            _ => throw new InvalidOperationException("unknown optimiser"),
        };
        Epochs = c.Epochs; BatchSize = c.BatchSize; Batching = c.Batching.ToString(); Seed = c.Seed;
        Precision = c.Precision.ToString(); Device = c.Device.ToString();
    }

    static Model ModelFrom(Hybrid.Architecture a) => new(a);
    static Algorithm AlgorithmFrom(Hybrid.Algorithm a) => new(a);
}

/// <summary>One completed epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TestAccuracy">Test accuracy in percent.</param>
/// <param name="TrainEnergy">Mean final energy (BP: loss) per sample.</param>
/// <param name="LayerEnergies">Per-layer energies of the epoch's last batch, per sample.</param>
/// <param name="Smm">Sequential matrix multiplications so far.</param>
/// <param name="Seconds">Training seconds so far.</param>
public sealed record EpochResult(int Epoch, double TestAccuracy, double TrainEnergy, IReadOnlyList<double> LayerEnergies, long Smm, double Seconds)
{
    internal static EpochResult From(Hybrid.EpochRecord r) => new(r.Epoch, r.TestAccuracy, r.TrainEnergy, r.LayerEnergies, r.Smm, r.Seconds);
}

/// <summary>Progress after a batch.</summary>
/// <param name="Epoch">Current epoch.</param>
/// <param name="Batch">Batch within the epoch (1-based).</param>
/// <param name="Batches">Batches per epoch.</param>
/// <param name="Energy">The batch's energy per sample.</param>
public sealed record Progress(int Epoch, int Batch, int Batches, double Energy);

/// <summary>Trains one configuration step by step; can be saved and resumed exactly.
/// Owns the network, the data on its device and the optimiser: dispose it.</summary>
public sealed class Trainer : IDisposable
{
    readonly Hybrid.RunData _data;
    readonly Hybrid.TrainingSession _session;

    Trainer(Hybrid.RunData data, Hybrid.TrainingSession session) { _data = data; _session = session; }

    static Hybrid.RunData Prepare(Hybrid.TrainConfig cfg)
    {
        var device = Hybrid.Runtime.device(cfg.Device);
        var data = Hybrid.Data.DatasetModule.load(cfg.DataRoot, cfg.Dataset);
        return Hybrid.Training.prepare(cfg, device, data);
    }

    /// <summary>Loads the data and starts a run.</summary>
    public static Trainer Create(TrainingOptions options)
    {
        var cfg = options.ToConfig();
        var data = Prepare(cfg);
        try { return new Trainer(data, Hybrid.TrainingSession.Start(cfg, data)); }
        catch { ((IDisposable)data).Dispose(); throw; }
    }

    /// <summary>Continues a run from a checkpoint written by <see cref="Save"/>.</summary>
    public static Trainer Resume(string checkpoint)
    {
        var meta = Hybrid.Checkpoint.load(checkpoint).Meta;
        var cfg = Hybrid.Config.apply(meta["config"]!.AsObject(), Hybrid.Config.defaults);
        var data = Prepare(cfg);
        try { return new Trainer(data, Hybrid.TrainingSession.Restore(checkpoint, data)); }
        catch { ((IDisposable)data).Dispose(); throw; }
    }

    /// <summary>The run's options.</summary>
    public TrainingOptions Options => TrainingOptions.From(_session.Config);
    /// <summary>Completed epochs.</summary>
    public IReadOnlyList<EpochResult> Epochs => _session.Records.Select(EpochResult.From).ToList();
    /// <summary>Whether the run has finished (all epochs, or diverged).</summary>
    public bool Finished => _session.Finished;
    /// <summary>completed, diverged or cancelled; with the divergence message when it diverged.</summary>
    public string Status => _session.Status is Hybrid.RunStatus.Diverged d ? $"diverged: {d.message}" : _session.Status.ToString();
    /// <summary>Number of parameters of the network.</summary>
    public long ParameterCount => _session.Network.ParameterCount;

    /// <summary>Runs <paramref name="count"/> batches (fewer if the run finishes).</summary>
    public IReadOnlyList<EpochResult> TrainBatches(int count, Action<Progress>? progress = null)
    {
        var done = new List<EpochResult>();
        for (var i = 0; i < count && !Finished; i++)
        {
            var (epoch, batch) = _session.Position;
            var (energy, record) = _session.Step();
            progress?.Invoke(new Progress(epoch, batch + 1, 0, energy));
            if (record is not null) done.Add(EpochResult.From(record.Value));
        }
        return done;
    }

    /// <summary>Runs to the end of the current epoch and returns it (null if the run had finished or diverged).</summary>
    public EpochResult? TrainEpoch(Action<Progress>? progress = null)
    {
        while (!Finished)
        {
            var done = TrainBatches(1, progress);
            if (done.Count > 0) return done[0];
        }
        return null;
    }

    /// <summary>Runs every remaining epoch.</summary>
    public IReadOnlyList<EpochResult> Run(Action<Progress>? progress = null, CancellationToken cancel = default)
    {
        var p = FuncConvert.FromAction<Hybrid.TrainProgress>(t => progress?.Invoke(new Progress(t.Epoch, t.Batch, t.Batches, t.Energy)));
        _session.Run(p, FuncConvert.FromAction<Hybrid.EpochRecord>(_ => { }), cancel);
        return Epochs;
    }

    /// <summary>Test accuracy (percent) of the current network (forward pass).</summary>
    public double Evaluate() => _session.Evaluate();

    /// <summary>Saves everything needed to continue exactly (atomic write).</summary>
    public void Save(string path) => _session.Save(path);

    /// <inheritdoc/>
    public void Dispose()
    {
        ((IDisposable)_session).Dispose();
        ((IDisposable)_data).Dispose();
    }
}
