using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Hybrid.Facade;

/// <summary>A network architecture. Create one with the static factories; change one with <see cref="With"/>.</summary>
public sealed class Model
{
    internal Hybrid.Architecture Inner { get; }
    internal Model(Hybrid.Architecture inner) => Inner = inner;

    /// <summary>A fully connected network with the given hidden widths (the output layer is linear).</summary>
    public static Model Mlp(IReadOnlyList<int> hiddenWidths, string activation = "gelu") =>
        new(Hybrid.Architecture.NewMlp(ListModule.OfSeq(hiddenWidths), Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>The paper's 5-layer MLP: four hidden layers of <paramref name="width"/>.</summary>
    public static Model PaperMlp(int width = 512, string activation = "gelu") =>
        new(Hybrid.Architecture.PaperMlp(width, Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>A residual MLP of <paramref name="layers"/> weight layers with sp, mupc or ntp scalings.</summary>
    public static Model ResidualMlp(int width, int layers, string activation = "relu", string parameterisation = "mupc") =>
        new(Hybrid.Architecture.NewResidualMlp(width, layers, Names.Parse(Hybrid.Choices.activation, activation),
            Names.Parse(Hybrid.Choices.parameterisation, parameterisation)));

    /// <summary>The AlexNet-style convolutional network for 32x32x3 inputs.</summary>
    public static Model AlexNet(string activation = "relu") => new(Hybrid.Architecture.AlexNet(Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>VGG-5 of the PCX benchmarks (four 3x3 convolutions of 128-512 channels with max-pools, then a linear layer).</summary>
    public static Model Vgg5(string activation = "relu") => new(Hybrid.Architecture.Vgg5(Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>VGG-7 (six 3x3 convolutions of 128-512 channels, a max-pool after every second, then a linear layer).</summary>
    public static Model Vgg7(string activation = "relu") => new(Hybrid.Architecture.Vgg7(Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>ResNet-18 for 28x28 and 32x32 images (ten predictive coding layers: stem, eight basic blocks, head).</summary>
    public static Model ResNet18(string activation = "relu") => new(Hybrid.Architecture.NewResNet18(Names.Parse(Hybrid.Choices.activation, activation)));

    /// <summary>This model with some settings changed (null: keep). <paramref name="kind"/> (mlp, resmlp, conv, alexnet)
    /// switches to that kind's defaults first; <paramref name="width"/> and <paramref name="hidden"/> make an MLP of
    /// that many layers of that width; <paramref name="layers"/> and <paramref name="parameterisation"/> apply to residual MLPs.</summary>
    public Model With(string? kind = null, int? width = null, int? hidden = null, int? layers = null, string? activation = null, string? parameterisation = null)
    {
        var changes = new Hybrid.Config.ModelChanges(
            Names.Option(kind), null, Names.Option(width), Names.Option(hidden), Names.Option(layers),
            activation is null ? null : FSharpOption<Hybrid.Activation>.Some(Names.Parse(Hybrid.Choices.activation, activation)),
            parameterisation is null ? null : FSharpOption<Hybrid.Parameterisation>.Some(Names.Parse(Hybrid.Choices.parameterisation, parameterisation)),
            null, null, null, null, null);
        var changed = Names.Config(() => Hybrid.Config.changeModel(changes, Inner, Hybrid.Loss.CrossEntropy, Hybrid.WeightInit.Default));
        return new Model(changed.Item1);
    }

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
        var inference = Hybrid.InferenceOptionsModule.spc(steps, stepSize);
        inference = new Hybrid.InferenceOptions(steps, stepSize, momentum, Names.Option(tolerance), inference.Record,
            Names.Parse(Hybrid.Choices.reparam, reparam), inference.DivergenceFactor, inference.InputFree);
        inference.Validate();
        return new(Hybrid.Algorithm.NewPredictiveCoding(new Hybrid.PcSpec(inference, Names.Init(init))));
    }

    /// <summary>This algorithm with some settings changed (null: keep). <paramref name="kind"/> is bp or pc (switching to pc
    /// starts from sPC, T = 5, step 0.1, forward initialisation); the other settings apply to predictive coding.</summary>
    public Algorithm With(string? kind = null, string? reparam = null, int? steps = null, double? stepSize = null, double? momentum = null,
        double? tolerance = null, string? init = null)
    {
        var anyInference = reparam is not null || steps is not null || stepSize is not null || momentum is not null || tolerance is not null;
        var r = reparam is null ? null : Names.Parse(Hybrid.Choices.reparam, reparam);
        var edit = FuncConvert.FromFunc<Hybrid.InferenceOptions, Hybrid.InferenceOptions>(i => new Hybrid.InferenceOptions(
            steps ?? i.Steps, stepSize ?? i.StepSize, momentum ?? i.Momentum, tolerance is null ? i.Tolerance : FSharpOption<double>.Some(tolerance.Value),
            i.Record, r ?? i.Reparam, i.DivergenceFactor, i.InputFree));
        var changes = new Hybrid.Config.AlgorithmChanges(Names.Option(kind),
            anyInference ? FSharpOption<FSharpFunc<Hybrid.InferenceOptions, Hybrid.InferenceOptions>>.Some(edit) : null,
            init is null ? null : FSharpOption<Hybrid.Initializer>.Some(Names.Init(init)));
        return new Algorithm(Names.Config(() => Hybrid.Config.changeAlgorithm(changes, Inner)));
    }

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>Options of a supervised training run; the defaults are the paper's Table 1 setup.</summary>
public sealed class TrainingOptions
{
    /// <summary>The paper's Table 1 setup.</summary>
    public TrainingOptions() : this(Hybrid.Config.defaults) { }

    internal TrainingOptions(Hybrid.TrainConfig c)
    {
        Name = c.Name; Dataset = c.Dataset; DataRoot = c.DataRoot?.Value; Fraction = c.Fraction; Normalisation = c.Normalisation.ToString();
        Model = new Model(c.Architecture); WeightInit = c.WeightInit.ToString(); Loss = c.Loss.ToString(); Algorithm = new Algorithm(c.Algorithm);
        (Optimizer, LearningRate, WeightDecayOrMomentum) = c.Optimizer switch
        {
            Hybrid.OptimizerSpec.AdamW a => ("adamw", a.lr, a.weightDecay),
            Hybrid.OptimizerSpec.Sgd s => ("sgd", s.lr, s.momentum),
            _ => throw new InvalidOperationException("unknown optimiser"),
        };
        Epochs = c.Epochs; BatchSize = c.BatchSize; Batching = c.Batching.ToString(); Seed = c.Seed;
        Precision = c.Precision.ToString(); Device = c.Device.ToString(); EvalBatchSize = c.EvalBatchSize;
    }

    /// <summary>Run name.</summary>
    public string Name { get; set; }
    /// <summary>Dataset name (fashion-mnist, mnist10k, ...) or folder:PATH.</summary>
    public string Dataset { get; set; }
    /// <summary>Data root (null: $HYBRID_DATA, then the standard folders).</summary>
    public string? DataRoot { get; set; }
    /// <summary>Fraction of the training set, in (0,1].</summary>
    public double Fraction { get; set; }
    /// <summary>unit or standardise.</summary>
    public string Normalisation { get; set; }
    /// <summary>The network.</summary>
    public Model Model { get; set; }
    /// <summary>mse or ce.</summary>
    public string Loss { get; set; }
    /// <summary>Weights of plain networks: default (PyTorch's), kaiming or lecun.</summary>
    public string WeightInit { get; set; }
    /// <summary>The training algorithm.</summary>
    public Algorithm Algorithm { get; set; }
    /// <summary>Weight optimiser: adamw or sgd.</summary>
    public string Optimizer { get; set; }
    /// <summary>Weight learning rate.</summary>
    public double LearningRate { get; set; }
    /// <summary>AdamW weight decay (or SGD momentum).</summary>
    public double WeightDecayOrMomentum { get; set; }
    /// <summary>Epochs.</summary>
    public int Epochs { get; set; }
    /// <summary>Batch size.</summary>
    public int BatchSize { get; set; }
    /// <summary>random or stream (stream-aligned; the stream average needs it).</summary>
    public string Batching { get; set; }
    /// <summary>Seed of weights, batches and initializers.</summary>
    public long Seed { get; set; }
    /// <summary>float32 or float64.</summary>
    public string Precision { get; set; }
    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; set; }
    /// <summary>Samples per evaluation chunk (memory only).</summary>
    public int EvalBatchSize { get; set; }

    internal Hybrid.TrainConfig ToConfig()
    {
        var opt = Names.Parse(Hybrid.Choices.optimizer, Optimizer) switch
        {
            "adamw" => Hybrid.OptimizerSpec.NewAdamW(LearningRate, WeightDecayOrMomentum),
            _ => Hybrid.OptimizerSpec.NewSgd(LearningRate, WeightDecayOrMomentum),
        };
        var cfg = new Hybrid.TrainConfig(Name, Dataset, Names.Option(DataRoot), Fraction,
            Names.Parse(Hybrid.Choices.normalisation, Normalisation), Model.Inner, Names.Parse(Hybrid.Choices.weightInit, WeightInit),
            Names.Parse(Hybrid.Choices.loss, Loss), Algorithm.Inner, opt, Epochs, BatchSize, Names.Parse(Hybrid.Choices.batching, Batching), Seed,
            Names.Parse(Hybrid.Choices.precision, Precision), Names.Parse(Hybrid.Choices.device, Device), EvalBatchSize);
        cfg.Validate();
        return cfg;
    }

    /// <summary>The options as a JSON config document (the format <c>hybrid train --config</c> reads).</summary>
    public string ToJson() => Hybrid.Config.toText(ToConfig());

    /// <summary>Reads a JSON config document (fields absent keep the paper's defaults).</summary>
    public static TrainingOptions FromJson(string json) => new(Names.Config(() => Hybrid.Config.parse(json, Hybrid.Config.defaults)));

    /// <summary>Reads a JSON config file.</summary>
    public static TrainingOptions FromFile(string path) => new(Names.Config(() => Hybrid.Config.load(path, Hybrid.Config.defaults)));
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
/// <param name="Epochs">Epochs of the run.</param>
/// <param name="Seconds">Training seconds so far.</param>
public sealed record Progress(int Epoch, int Batch, int Batches, double Energy, int Epochs = 0, double Seconds = 0)
{
    internal static Progress From(Hybrid.TrainProgress p) => new(p.Epoch, p.Batch, p.Batches, p.Energy, p.Epochs, p.Seconds);
}

/// <summary>Trains one configuration step by step; can be saved and resumed exactly.
/// Owns the network, the data on its device and the optimiser: dispose it.</summary>
public sealed class Trainer : IDisposable
{
    readonly Hybrid.RunData _data;
    readonly Hybrid.TrainingSession _session;

    Trainer(Hybrid.RunData data, Hybrid.TrainingSession session) { _data = data; _session = session; }

    /// <summary>Loads the data and starts a run.</summary>
    public static Trainer Create(TrainingOptions options)
    {
        var cfg = options.ToConfig();
        var data = Hybrid.Train.prepare(cfg);
        try { return new Trainer(data, Hybrid.TrainingSession.Start(cfg, data)); }
        catch { ((IDisposable)data).Dispose(); throw; }
    }

    /// <summary>Continues a run from a checkpoint written by <see cref="Save"/>.</summary>
    public static Trainer Resume(string checkpoint)
    {
        var resumed = Hybrid.Train.resume(checkpoint);
        return new Trainer(resumed.Data, resumed.Session);
    }

    /// <summary>The run's options.</summary>
    public TrainingOptions Options => new(_session.Config);
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
        var p = FuncConvert.FromAction<Hybrid.TrainProgress>(t => progress?.Invoke(Progress.From(t)));
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
