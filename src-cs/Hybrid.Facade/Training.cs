using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Hybrid.Facade;

/// <summary>A 3x3 same convolution of a <see cref="Model.Conv"/> network: output channels, and whether a 2x2 max-pool follows.</summary>
public sealed record ConvLayer(int Channels, bool Pool);

/// <summary>A built-in network architecture (input shape and number of outputs come from the data).</summary>
public sealed class Model
{
    internal Hybrid.Architecture Inner { get; }
    internal Model(Hybrid.Architecture inner) => Inner = inner;

    /// <summary>Fully connected: the hidden widths, the activation after each hidden layer, a linear output layer.</summary>
    public static Model Mlp(IReadOnlyList<int> hiddenWidths, Activation activation = Activation.Gelu) =>
        Checked(Hybrid.Architecture.NewMlp(ListModule.OfSeq(hiddenWidths ?? throw new ArgumentNullException(nameof(hiddenWidths))), Core.Of(activation)));

    /// <summary>The paper's 5-layer MLP: four hidden layers of <paramref name="width"/>.</summary>
    public static Model PaperMlp(int width = 512, Activation activation = Activation.Gelu) => Mlp(Enumerable.Repeat(width, 4).ToList(), activation);

    /// <summary>A residual MLP of <paramref name="layers"/> weight layers (muPC by default: trains at depths of 100 and more).</summary>
    public static Model ResidualMlp(int width, int layers, Activation activation = Activation.Relu, Parameterisation parameterisation = Parameterisation.MuPC) =>
        Checked(Hybrid.Architecture.NewResidualMlp(width, layers, Core.Of(activation), Core.Of(parameterisation)));

    /// <summary>3x3 same convolutions (each with the activation and an optional 2x2 max-pool), then dense layers of the given widths.</summary>
    public static Model Conv(IReadOnlyList<ConvLayer> convs, IReadOnlyList<int>? dense = null, Activation activation = Activation.Relu) =>
        Checked(Hybrid.Architecture.NewConvNet(
            ListModule.OfSeq((convs ?? throw new ArgumentNullException(nameof(convs))).Select(c => new Hybrid.ConvLayer(c.Channels, c.Pool))),
            ListModule.OfSeq(dense ?? []), Core.Of(activation)));

    /// <summary>The AlexNet-style network of the paper's CIFAR-10 experiment (32x32 colour images).</summary>
    public static Model AlexNet(Activation activation = Activation.Relu) => new(Hybrid.Architecture.AlexNet(Core.Of(activation)));

    /// <summary>VGG-5 of the PCX benchmarks (3x3 convolutions of 128, 256, 512, 512 channels with max-pools, then a linear layer).</summary>
    public static Model Vgg5(Activation activation = Activation.Relu) => new(Hybrid.Architecture.Vgg5(Core.Of(activation)));

    /// <summary>VGG-7 (3x3 convolutions of 128, 128, 256, 256, 512, 512 channels, a max-pool after every second, then a linear layer).</summary>
    public static Model Vgg7(Activation activation = Activation.Relu) => new(Hybrid.Architecture.Vgg7(Core.Of(activation)));

    /// <summary>ResNet-18 for 28x28 and 32x32 images: ten predictive coding layers (stem, eight basic blocks, head); <paramref name="width"/>
    /// is the stem's channels (64 in the standard network; the stages have 1, 2, 4 and 8 times as many).</summary>
    public static Model ResNet18(Activation activation = Activation.Relu, int width = 64) =>
        Checked(Hybrid.Architecture.NewResNet18(width, Core.Of(activation)));

    /// <summary>Which architecture this is.</summary>
    public ModelKind Kind => Inner switch
    {
        Hybrid.Architecture.Mlp => ModelKind.Mlp,
        Hybrid.Architecture.ResidualMlp => ModelKind.ResidualMlp,
        Hybrid.Architecture.ResNet18 => ModelKind.ResNet18,
        _ when Inner.Equals(Hybrid.Architecture.AlexNet(ActivationOf(Inner))) => ModelKind.AlexNet,
        _ when Inner.Equals(Hybrid.Architecture.Vgg5(ActivationOf(Inner))) => ModelKind.Vgg5,
        _ when Inner.Equals(Hybrid.Architecture.Vgg7(ActivationOf(Inner))) => ModelKind.Vgg7,
        _ => ModelKind.Conv,
    };

    /// <summary>This model with some settings changed (null: keep). <paramref name="kind"/> switches to that kind's defaults
    /// first; <paramref name="width"/> and <paramref name="hidden"/> make an MLP of that many layers of that width;
    /// <paramref name="layers"/> and <paramref name="parameterisation"/> apply to residual MLPs.</summary>
    public Model With(ModelKind? kind = null, int? width = null, int? hidden = null, int? layers = null, Activation? activation = null,
        Parameterisation? parameterisation = null)
    {
        var changes = new Hybrid.Config.ModelChanges(
            kind is { } k ? FSharpOption<string>.Some(Core.KindName(k)) : null, null, Names.Option(width), Names.Option(hidden), Names.Option(layers),
            activation is { } a ? FSharpOption<Hybrid.Activation>.Some(Core.Of(a)) : null,
            parameterisation is { } p ? FSharpOption<Hybrid.Parameterisation>.Some(Core.Of(p)) : null,
            null, null, null, null, null);
        var changed = Guard.Run(() => Hybrid.Config.changeModel(changes, Inner, Hybrid.Loss.CrossEntropy, Hybrid.WeightInit.Default));
        return new Model(changed.Item1);
    }

    static Hybrid.Activation ActivationOf(Hybrid.Architecture a) => a is Hybrid.Architecture.ConvNet c ? c.activation : Hybrid.Activation.Relu;

    static Model Checked(Hybrid.Architecture a)
    {
        Guard.Run(() => a.Validate());
        return new Model(a);
    }

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>How predictive coding initialises the hidden states before inference: one kind for every layer, or
/// kinds for ranges of layers joined with <see cref="Then"/> (text form: <c>forward[1..2] + avg[3..]</c>).</summary>
public sealed class Initializer
{
    internal Hybrid.Initializer Inner { get; }
    internal Initializer(Hybrid.Initializer inner) => Inner = inner;

    /// <summary>The forward pass: every hidden error starts at zero.</summary>
    public static Initializer Forward { get; } = new(Hybrid.Init.forward);
    /// <summary>The mean final state of the previous batches' samples of the same class (needs stream-aligned batching).</summary>
    public static Initializer StreamAverage { get; } = new(Hybrid.Init.streamAverage);
    /// <summary>The previous batch's final states.</summary>
    public static Initializer Keep { get; } = new(Hybrid.Init.keep);
    /// <summary>All zeros.</summary>
    public static Initializer Zero { get; } = new(Hybrid.Init.zero);

    /// <summary>Each unit drawn from N(mean, std^2).</summary>
    public static Initializer Random(double mean = 0, double std = 1) =>
        Guard.Run(() => new Initializer(Hybrid.InitText.parse(FormattableString.Invariant($"random({mean},{std})"))));

    /// <summary>Recall from a Hopfield-layer memory of the input, trained towards the inferred states after each batch
    /// (<paramref name="slots"/> memories, inverse temperature <paramref name="delta"/>, query/key size <paramref name="embedding"/>,
    /// <paramref name="heads"/> heads, Adam rate <paramref name="learningRate"/>).</summary>
    public static Initializer Memory(int slots = 16, double delta = 1, int embedding = 128, int heads = 1, double learningRate = 1e-3)
    {
        var spec = new Hybrid.MemorySpec(slots, delta, embedding, heads, learningRate);
        Guard.Run(() => spec.Validate());
        return new Initializer(Hybrid.Init.memory(spec));
    }

    /// <summary>Hidden layers 1..<paramref name="lastLayer"/> from this initializer, the layers above from <paramref name="upper"/>.</summary>
    public Initializer Then(int lastLayer, Initializer upper)
    {
        if (lastLayer < 1) throw new ArgumentException($"the lower initializer covers at least layer 1, got {lastLayer}", nameof(lastLayer));
        return Guard.Run(() => new Initializer(Hybrid.Init.split(lastLayer, Inner, (upper ?? throw new ArgumentNullException(nameof(upper))).Inner)));
    }

    /// <summary>Reads the text form, e.g. <c>forward</c>, <c>random(0,0.1)</c>, <c>forward[1..2] + mem(slots=8,lr=0.01)[3..]</c>.</summary>
    public static Initializer Parse(string text) => Guard.Run(() => new Initializer(Hybrid.InitText.parse(text ?? throw new ArgumentNullException(nameof(text)))));

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>How the weights are trained: backpropagation, or predictive coding (inference, then the local update).</summary>
public sealed class Algorithm
{
    internal Hybrid.Algorithm Inner { get; }
    internal Algorithm(Hybrid.Algorithm inner) => Inner = inner;

    /// <summary>Backpropagation of the output loss.</summary>
    public static Algorithm Backprop { get; } = new(Hybrid.Algorithm.Backprop);

    /// <summary>Predictive coding: <paramref name="steps"/> inference steps of size <paramref name="stepSize"/> on the states
    /// (<see cref="Reparam.States"/>, sPC) or the errors (<see cref="Reparam.Errors"/>, ePC), from <paramref name="init"/>
    /// (the forward pass when null); <paramref name="tolerance"/> stops inference early below that relative energy change.
    /// sPC computes only the predictions, errors and products that can have changed since the last step; <paramref name="dense"/>
    /// recomputes everything at every step (the reference path: the same results, more work).</summary>
    public static Algorithm PredictiveCoding(int steps, double stepSize, Initializer? init = null, Reparam reparam = Reparam.States,
        double momentum = 0, double? tolerance = null, bool dense = false)
    {
        var d = Hybrid.InferenceOptionsModule.spc(steps, stepSize);
        var inference = new Hybrid.InferenceOptions(steps, stepSize, momentum, Names.Option(tolerance), d.Record, Core.Of(reparam), d.DivergenceFactor, d.InputFree, dense);
        Guard.Run(() => inference.Validate());
        return new(Hybrid.Algorithm.NewPredictiveCoding(new Hybrid.PcSpec(inference, (init ?? Initializer.Forward).Inner)));
    }

    /// <summary>Backpropagation or predictive coding.</summary>
    public AlgorithmKind Kind => Inner.IsPredictiveCoding ? AlgorithmKind.PredictiveCoding : AlgorithmKind.Backprop;
    Hybrid.PcSpec? Pc => Inner is Hybrid.Algorithm.PredictiveCoding p ? p.Item : null;
    /// <summary>Inference steps T (predictive coding; 0 for backpropagation).</summary>
    public int Steps => Pc?.Inference.Steps ?? 0;
    /// <summary>Inference step size (predictive coding).</summary>
    public double StepSize => Pc?.Inference.StepSize ?? 0;
    /// <summary>The inference variables (predictive coding).</summary>
    public Reparam Reparam => Pc is { } p ? Core.From(p.Inference.Reparam) : Reparam.States;
    /// <summary>Inference momentum (predictive coding).</summary>
    public double Momentum => Pc?.Inference.Momentum ?? 0;
    /// <summary>The early-stop tolerance, if any.</summary>
    public double? Tolerance => Pc is { } p ? Names.Value(p.Inference.Tolerance) : null;
    /// <summary>The initializer (predictive coding; null for backpropagation).</summary>
    public Initializer? Init => Pc is { } p ? new Initializer(p.Init) : null;
    /// <summary>sPC recomputes everything at every step (the dense reference path).</summary>
    public bool Dense => Pc?.Inference.Dense ?? false;

    /// <summary>This algorithm with some settings changed (null: keep). Switching to predictive coding starts from
    /// sPC, T = 5, step 0.1, forward initialisation; the other settings apply to predictive coding only.</summary>
    public Algorithm With(AlgorithmKind? kind = null, Reparam? reparam = null, int? steps = null, double? stepSize = null,
        double? momentum = null, double? tolerance = null, Initializer? init = null, bool? dense = null)
    {
        var anyInference = reparam is not null || steps is not null || stepSize is not null || momentum is not null || tolerance is not null || dense is not null;
        var edit = FuncConvert.FromFunc<Hybrid.InferenceOptions, Hybrid.InferenceOptions>(i => new Hybrid.InferenceOptions(
            steps ?? i.Steps, stepSize ?? i.StepSize, momentum ?? i.Momentum, tolerance is null ? i.Tolerance : FSharpOption<double>.Some(tolerance.Value),
            i.Record, reparam is { } r ? Core.Of(r) : i.Reparam, i.DivergenceFactor, i.InputFree, dense ?? i.Dense));
        var changes = new Hybrid.Config.AlgorithmChanges(
            kind is { } k ? FSharpOption<string>.Some(k == AlgorithmKind.PredictiveCoding ? "pc" : "bp") : null,
            anyInference ? FSharpOption<FSharpFunc<Hybrid.InferenceOptions, Hybrid.InferenceOptions>>.Some(edit) : null,
            init is null ? null : FSharpOption<Hybrid.Initializer>.Some(init.Inner));
        return new Algorithm(Guard.Run(() => Hybrid.Config.changeAlgorithm(changes, Inner)));
    }

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>The weight optimiser and its settings.</summary>
public sealed class OptimizerSettings
{
    internal Hybrid.OptimizerSpec Inner { get; }
    internal OptimizerSettings(Hybrid.OptimizerSpec inner) => Inner = inner;

    /// <summary>AdamW with the given learning rate and decoupled weight decay (the papers' optimiser).</summary>
    public static OptimizerSettings AdamW(double learningRate, double weightDecay = 0) => Checked(Hybrid.OptimizerSpec.NewAdamW(learningRate, weightDecay));

    /// <summary>SGD with the given learning rate and heavy-ball momentum.</summary>
    public static OptimizerSettings Sgd(double learningRate, double momentum = 0) => Checked(Hybrid.OptimizerSpec.NewSgd(learningRate, momentum));

    /// <summary>The learning rate.</summary>
    public double LearningRate => Inner.LearningRate;
    /// <summary>AdamW's weight decay (0 for SGD).</summary>
    public double WeightDecay => Inner is Hybrid.OptimizerSpec.AdamW a ? a.weightDecay : 0;
    /// <summary>SGD's momentum (0 for AdamW).</summary>
    public double Momentum => Inner is Hybrid.OptimizerSpec.Sgd s ? s.momentum : 0;
    /// <summary>True for AdamW, false for SGD.</summary>
    public bool IsAdamW => Inner.IsAdamW;

    /// <summary>The same optimiser with another learning rate.</summary>
    public OptimizerSettings WithLearningRate(double learningRate) =>
        IsAdamW ? AdamW(learningRate, WeightDecay) : Sgd(learningRate, Momentum);

    static OptimizerSettings Checked(Hybrid.OptimizerSpec spec)
    {
        Guard.Run(() => spec.Validate());
        return new OptimizerSettings(spec);
    }

    /// <inheritdoc/>
    public override string ToString() => Inner.ToString();
}

/// <summary>The parts of a training run's options with richer types than the form's settings (the typed settings are generated:
/// Options.g.cs).</summary>
public sealed partial record TrainingOptions
{
    internal Hybrid.TrainConfig Config => (Hybrid.TrainConfig)Value;

    internal static TrainingOptions Of(Hybrid.TrainConfig c) => new() { Value = c };

    /// <summary>The network (ignored when the trainer is given a <see cref="Network"/> of its own modules).</summary>
    public Model Model
    {
        get => Custom is null ? new Model(Config.Architecture) : Model.PaperMlp();
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Model));
            var json = (JsonObject)Hybrid.Config.model.Write.Invoke(Tuple.Create(value.Inner, Config.Loss, Config.WeightInit));
            json.Remove("loss");
            json.Remove("weightInit");
            Put("model", json);
        }
    }

    /// <summary>The output term of the energy.</summary>
    public Loss Loss { get => Core.From(Config.Loss); init => Put("model.loss", value); }

    /// <summary>How the weights of plain networks are drawn.</summary>
    public WeightInit WeightInit { get => Core.From(Config.WeightInit); init => Put("model.weightInit", value); }

    /// <summary>The training algorithm.</summary>
    public Algorithm Algorithm
    {
        get => new(Config.Algorithm);
        init
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Algorithm));
            foreach (var kv in Hybrid.Config.algorithmJson(value.Inner)) Put(kv.Key, kv.Value);
        }
    }

    /// <summary>The weight optimiser.</summary>
    public OptimizerSettings Optimizer
    {
        get => new(Config.Optimizer);
        init => Put("optimizer", Hybrid.Config.optimizer.Write.Invoke((value ?? throw new ArgumentNullException(nameof(Optimizer))).Inner));
    }

    /// <summary>The name of the network of the run's own modules (read from a run of one; null for a built-in model).</summary>
    public string? Custom => Config.Architecture is Hybrid.Architecture.Custom k ? k.name : null;

    /// <summary>The configuration, checked as a whole.</summary>
    internal Hybrid.TrainConfig ToConfig()
    {
        Validate();
        return Config;
    }
}

/// <summary>A labelled dataset held in memory (or read from the registry): what a <see cref="Trainer"/> trains and evaluates on.</summary>
public sealed class TrainingData
{
    internal Hybrid.Data.Dataset Inner { get; }
    TrainingData(Hybrid.Data.Dataset inner) => Inner = inner;

    /// <summary>Data from arrays: each split's values sample after sample (<paramref name="sampleShape"/>: [features] or
    /// [channels, height, width]), one label per sample in 0..<paramref name="classes"/>-1. The data keeps the values as given;
    /// a <see cref="Trainer"/> prepares them as its options' <c>Normalisation</c> says: by default (<c>Normalisation.Standardise</c>)
    /// standardised per channel with the mean and standard deviation of the training subset it uses (<see cref="Trainer.InputStatistics"/>),
    /// with <c>Normalisation.Unit</c> used as given.</summary>
    public static TrainingData FromArrays(float[] trainValues, int[] trainLabels, float[] testValues, int[] testLabels, IReadOnlyList<int> sampleShape,
        int classes, string name = "arrays") =>
        new(Guard.Run(() => Hybrid.Data.DatasetModule.ofArrays(name, classes, (sampleShape ?? throw new ArgumentNullException(nameof(sampleShape))).ToArray(),
            trainValues, trainLabels, testValues, testLabels)));

    /// <summary>A registered dataset (fashion-mnist, mnist10k, ...) or folder:PATH, read into memory.</summary>
    public static TrainingData Load(string dataset, string? dataRoot = null) =>
        new(Guard.Run(() => Hybrid.Data.DatasetModule.load(Names.Option(dataRoot), dataset ?? throw new ArgumentNullException(nameof(dataset)))));

    /// <summary>The dataset's name.</summary>
    public string Name => Inner.Name;
    /// <summary>Number of classes.</summary>
    public int Classes => Inner.Classes;
    /// <summary>Shape of one sample ([channels, height, width]; [1, 1, features] for vectors).</summary>
    public IReadOnlyList<int> SampleShape => Inner.Train.Shape;
    /// <summary>Training samples.</summary>
    public int TrainCount => Inner.Train.Count;
    /// <summary>Test samples.</summary>
    public int TestCount => Inner.Test.Count;

    /// <summary>The training split's values (sample after sample) and labels.</summary>
    public (float[] Values, int[] Labels) Train => (Inner.Train.Pixels, Inner.Train.Labels);
    /// <summary>The test split's values (sample after sample) and labels.</summary>
    public (float[] Values, int[] Labels) Test => (Inner.Test.Pixels, Inner.Test.Labels);
}

/// <summary>One completed epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TestAccuracy">Test accuracy in percent.</param>
/// <param name="TrainEnergy">Mean final energy (BP: loss) per sample.</param>
/// <param name="LayerEnergies">Per-layer energies of the epoch's last batch, per sample.</param>
/// <param name="Smm">Sequential matrix multiplications so far.</param>
/// <param name="Seconds">Training seconds so far.</param>
/// <param name="Products">Block products actually computed so far (matrix products for an MLP): below the dense count
/// when sPC's sparse inference skipped work.</param>
public sealed record EpochResult(int Epoch, double TestAccuracy, double TrainEnergy, IReadOnlyList<double> LayerEnergies, long Smm, double Seconds, long Products = 0)
{
    internal static EpochResult From(Hybrid.EpochRecord r) => new(r.Epoch, r.TestAccuracy, r.TrainEnergy, r.LayerEnergies, r.Smm, r.Seconds, r.Products);
}

/// <summary>What <see cref="Trainer.Run"/> did: the epochs it completed (the list), and how the run stands after it.</summary>
public sealed class RunResult : IReadOnlyList<EpochResult>
{
    readonly IReadOnlyList<EpochResult> _epochs;

    internal RunResult(IReadOnlyList<EpochResult> epochs, RunStatus status, string? divergenceMessage, EpochResult? last)
    {
        _epochs = epochs; Status = status; DivergenceMessage = divergenceMessage; Last = last;
    }

    /// <summary>How the run stands: <see cref="RunStatus.Completed"/>, <see cref="RunStatus.Diverged"/> (the list holds the
    /// epochs completed before the divergence, possibly none) or <see cref="RunStatus.Cancelled"/>.</summary>
    public RunStatus Status { get; }
    /// <summary>Where and why the run diverged (null unless <see cref="Status"/> is <see cref="RunStatus.Diverged"/>).</summary>
    public string? DivergenceMessage { get; }
    /// <summary>The run's last completed epoch (of this call or an earlier one; null when no epoch has completed).</summary>
    public EpochResult? Last { get; }

    /// <inheritdoc/>
    public EpochResult this[int index] => _epochs[index];
    /// <inheritdoc/>
    public int Count => _epochs.Count;
    /// <inheritdoc/>
    public IEnumerator<EpochResult> GetEnumerator() => _epochs.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <inheritdoc/>
    public override string ToString() =>
        Status == RunStatus.Diverged ? $"diverged after {Count} epoch(s): {DivergenceMessage}" : $"{Status.ToString().ToLowerInvariant()}, {Count} epoch(s)";
}

/// <summary>A test accuracy measured during training, with the cost of training up to it.</summary>
/// <param name="Epoch">The epoch (1-based) it falls in.</param>
/// <param name="Batch">Batches of that epoch done.</param>
/// <param name="Updates">Weight updates so far.</param>
/// <param name="Smm">Sequential matrix multiplications so far.</param>
/// <param name="Seconds">Training seconds so far (evaluation excluded).</param>
/// <param name="TestAccuracy">Test accuracy in percent.</param>
public sealed record EvalPoint(int Epoch, int Batch, long Updates, long Smm, double Seconds, double TestAccuracy)
{
    internal static EvalPoint From(Hybrid.EvalPoint p) => new(p.Epoch, p.Batch, p.Updates, p.Smm, p.Seconds, p.TestAccuracy);
}

/// <summary>Progress after a batch.</summary>
/// <param name="Epoch">The batch's epoch (0 for batches given to <see cref="Trainer.TrainOn"/>).</param>
/// <param name="Batch">Batch within the epoch (1-based), or the count of batches given so far.</param>
/// <param name="Batches">Batches per epoch (0 for batches given to <see cref="Trainer.TrainOn"/>: their number is not known).</param>
/// <param name="Energy">The batch's energy per sample.</param>
/// <param name="Epochs">Epochs of the run.</param>
/// <param name="Seconds">Training seconds so far.</param>
public sealed record Progress(int Epoch, int Batch, int Batches, double Energy, int Epochs, double Seconds)
{
    internal static Progress From(Hybrid.TrainProgress p) => new(p.Epoch, p.Batch, p.Batches, p.Energy, p.Epochs, p.Seconds);
}

/// <summary>The mean and standard deviation of one input channel, as a run standardises it: <c>(x - Mean) / Std</c>.</summary>
public sealed record ChannelStatistics(double Mean, double Std);

/// <summary>A batch of training samples given by the application: values sample after sample, one label per sample.</summary>
public sealed record Batch(float[] Values, int[] Labels);

/// <summary>The network's outputs for some inputs.</summary>
/// <param name="Classes">The predicted class of each sample (the largest output).</param>
/// <param name="Outputs">The outputs (logits) of each sample.</param>
public sealed record Prediction(IReadOnlyList<int> Classes, IReadOnlyList<float[]> Outputs);

/// <summary>Inference on a batch: the states, prediction errors and energies where it ended.</summary>
/// <param name="States">Per layer (input first, L entries), the state of each sample, flattened.</param>
/// <param name="Errors">Per hidden layer 1..L-1, e_l = h_l - f(h_{l-1}) of each sample, flattened.</param>
/// <param name="Outputs">The prediction of the output layer at the final states, per sample.</param>
/// <param name="LayerEnergies">Energy terms summed over the batch: hidden layers 1..L-1, then the output term (0 when no labels were given).</param>
/// <param name="Energy">F, their sum.</param>
/// <param name="Steps">Inference steps run.</param>
public sealed record InferenceResult(IReadOnlyList<float[][]> States, IReadOnlyList<float[][]> Errors, IReadOnlyList<float[]> Outputs,
    IReadOnlyList<double> LayerEnergies, double Energy, int Steps);

/// <summary>A parameter of a network: its name (<c>block{l}.{name}</c>, as checkpoints store it), shape and values.</summary>
public sealed record WeightTensor(string Name, IReadOnlyList<long> Shape, float[] Values);

/// <summary>A run folder cannot be used as asked: in use by another process, holding another run's results, damaged or missing
/// (the message names the folder and what to do; nothing in it was changed).</summary>
public sealed class RunFolderException(string message, Exception? inner = null) : IOException(message, inner);

/// <summary>A run diverged (inference or the weight update): the message names the layer, step and batch, and the cause.</summary>
public sealed class TrainingDivergedException(string message, Exception? inner = null) : InvalidOperationException(message, inner);

/// <summary>A predictive coding network: a built-in architecture, or a chain of the application's own TorchSharp modules.
/// Block l maps the state of layer l to the prediction of layer l+1; the last block's output is the network's output.
/// A network given to a <see cref="Trainer"/> belongs to the trainer from then on.</summary>
public sealed class Network : IDisposable
{
    Hybrid.Network? _net;
    Trainer? _owner;

    internal Network(Hybrid.Network net, Trainer? owner = null) { _net = net; _owner = owner; }

    internal Hybrid.Network Inner
    {
        get
        {
            if (_owner is { } o) o.ThrowIfDisposed();
            ObjectDisposedException.ThrowIf(_net is null, this);
            return _net!;
        }
    }

    /// <summary>A network of your own blocks: each block is any TorchSharp module from a batch of states to a batch of predictions
    /// (linear, convolution, pooling, residual, attention ...). <paramref name="inputShape"/> is one sample's shape; the modules are moved
    /// to the device and precision, and the states' shapes are found by one forward pass. The network owns the modules.</summary>
    public static Network FromModules(string name, IEnumerable<nn.Module<Tensor, Tensor>> blocks, IReadOnlyList<long> inputShape,
        Loss loss = Loss.CrossEntropy, Precision precision = Precision.Float32, Device device = Device.Auto)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentNullException.ThrowIfNull(inputShape);
        var list = blocks.ToList();
        return new(Guard.Run(() => Hybrid.NetworkModule.ofModules(name, ListModule.OfSeq(list), Core.Of(loss), inputShape.ToArray(), Core.Of(precision),
            Hybrid.Runtime.device(Core.Of(device)))));
    }

    /// <summary>A built-in architecture for inputs of <paramref name="inputShape"/> and <paramref name="outputs"/> outputs,
    /// weights drawn from <paramref name="seed"/>.</summary>
    public static Network Create(Model model, IReadOnlyList<long> inputShape, int outputs, Loss loss = Loss.CrossEntropy,
        WeightInit weightInit = WeightInit.Default, Precision precision = Precision.Float32, Device device = Device.Auto, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        return new(Guard.Run(() => Hybrid.NetworkModule.createWith(Core.Of(weightInit), model.Inner, Core.Of(loss), inputShape.ToArray(), outputs,
            Core.Of(precision), Hybrid.Runtime.device(Core.Of(device)), seed)));
    }

    /// <summary>What the network is (<c>mlp[...]</c>, <c>custom 'name'</c>, ...).</summary>
    public string Description => Inner.Architecture.ToString();
    /// <summary>L, the number of blocks (weight layers); hidden layers are 1..L-1.</summary>
    public int Depth => Inner.Depth;
    /// <summary>One sample's input shape.</summary>
    public IReadOnlyList<long> InputShape => Inner.InputShape;
    /// <summary>Number of outputs.</summary>
    public int Outputs => Inner.Outputs;
    /// <summary>One sample's shape of each state, the input first (L + 1 entries, the output last).</summary>
    public IReadOnlyList<IReadOnlyList<long>> StateShapes => Enumerable.Range(0, Inner.Depth + 1).Select(l => (IReadOnlyList<long>)Inner.StateShape(l)).ToList();
    /// <summary>Number of scalar parameters.</summary>
    public long ParameterCount => _owner is { } o ? o.Locked(() => Inner.ParameterCount) : Inner.ParameterCount;
    /// <summary>The output term of the energy.</summary>
    public Loss Loss => Core.From(Inner.Loss);
    /// <summary>The precision of the parameters.</summary>
    public Precision Precision => Core.From(Inner.Precision);
    /// <summary>The blocks as TorchSharp modules (owned by the network).</summary>
    public IReadOnlyList<nn.Module<Tensor, Tensor>> Blocks => Inner.Blocks.Select(b => b.Module).ToList();

    /// <summary>The plain forward pass of a batch <c>[n, ...InputShape]</c>: the outputs <c>[n, Outputs]</c> (a new tensor you own).</summary>
    public Tensor Forward(Tensor inputs) => Use(nameof(Forward), net =>
    {
        var x = Tensors.Batch(inputs, net, nameof(inputs));
        using var _ = no_grad();
        return Guard.Run(() => net.Forward(x).detach());
    });

    /// <summary>Predicts the class of each sample of <paramref name="inputs"/>: the network's own inputs, sample after sample, used
    /// as given (no normalisation). A trainer standardises its data's values first (by default): for a trainer's network,
    /// <c>trainer.Predict(values)</c> equals <c>trainer.Network.Predict(trainer.PrepareInputs(values))</c>.</summary>
    public Prediction Predict(float[] inputs) => Use(nameof(Predict), net => Tensors.Predict(net, inputs));

    /// <summary>Runs predictive-coding inference on a batch (the network's own inputs, used as given, as <see cref="Predict"/>) with
    /// <paramref name="algorithm"/>'s settings, from the forward pass; with <paramref name="labels"/> the output is clamped to them
    /// (without, the output is free and the states stay the forward pass).</summary>
    public InferenceResult Infer(float[] inputs, Algorithm algorithm, int[]? labels = null) =>
        Use(nameof(Infer), net => Tensors.Infer(net, inputs, labels, algorithm));

    /// <summary>Every parameter, by name, with a copy of its values.</summary>
    public IReadOnlyList<WeightTensor> Weights() => Use(nameof(Weights), Tensors.Weights);

    /// <summary><see cref="Use"/> for the facade's other classes (the theory instruments).</summary>
    internal T Run<T>(string what, Func<Hybrid.Network, T> work) => Use(what, work);

    /// <summary>Runs <paramref name="work"/> on the network: as an operation of its trainer when it belongs to one (refused
    /// while the trainer runs another).</summary>
    T Use<T>(string what, Func<Hybrid.Network, T> work)
    {
        if (_owner is { } o) return o.Guarded($"Network.{what}", () => work(Inner));
        return work(Inner);
    }

    /// <summary>Hands the network to <paramref name="owner"/>; refuses a network that already belongs to another trainer
    /// (two trainers would move the same weights).</summary>
    internal void TransferTo(Trainer owner)
    {
        if (!ReferenceEquals(_owner, owner)) ThrowIfOwned();
        _owner = owner;
    }

    /// <summary>Refuses a network that belongs to a trainer already (a second trainer would train the same weights).</summary>
    internal void ThrowIfOwned()
    {
        if (_owner is not null)
            throw new InvalidOperationException(
                $"network {Inner.Architecture} already belongs to another trainer: both would train the same weights; build a new network (with new modules) for each trainer");
    }

    /// <summary>Disposes the network and its modules (a network that belongs to a trainer goes with the trainer).</summary>
    public void Dispose()
    {
        if (_owner is not null) return;
        if (_net is { } n) ((IDisposable)n).Dispose();
        _net = null;
    }
}

/// <summary>Trains one configuration step by step; can be saved and resumed exactly. Owns the network, the data on its device
/// and the optimiser: dispose it. Every long call takes an <see cref="IProgress{T}"/> and a <see cref="CancellationToken"/>
/// and has an async variant; a cancelled run stops after its current batch and can go on.
/// <para>A trainer runs one operation at a time: a call that trains, evaluates, predicts, saves or reads the weights (its own or
/// its <see cref="Network"/>'s) while another is running, on any thread, raises <see cref="InvalidOperationException"/>
/// ("this trainer is already running ..."). The properties (<see cref="Status"/>, <see cref="Epochs"/>, ...) can be read
/// at any time. <see cref="Dispose"/> during an operation cancels it, waits for it to stop after its current batch, then frees
/// the tensors; every later call raises <see cref="ObjectDisposedException"/>.</para></summary>
public sealed class Trainer : IDisposable
{
    Hybrid.TrainingSession? _session;
    Hybrid.RunData? _data;
    Network? _network;
    readonly object _gate = new();
    /// <summary>What is running (null: nothing), the thread it runs on (0 until it starts), and what cancels it.</summary>
    string? _running;
    int _runnerThread;
    CancellationTokenSource? _stop;
    bool _disposed;

    Trainer(Hybrid.RunData data, Hybrid.TrainingSession session, Network? network)
    {
        _data = data; _session = session;
        _network = network ?? new Network(session.Network, this);
        _network.TransferTo(this);
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    Hybrid.TrainingSession Session
    {
        get
        {
            ThrowIfDisposed();
            return _session!;
        }
    }

    /// <summary>The claim of one operation on the trainer: released by <see cref="Dispose"/>.</summary>
    internal sealed class Operation : IDisposable
    {
        readonly Trainer _owner;
        internal Operation(Trainer owner, CancellationToken token) { _owner = owner; Token = token; }
        /// <summary>Cancelled by the caller's token or by the trainer's disposal.</summary>
        public CancellationToken Token { get; }
        /// <summary>The session, claimed for this operation (valid until it ends, even when the trainer is being disposed).</summary>
        public Hybrid.TrainingSession Session => _owner._session!;
        /// <summary>Marks the current thread as the one running the operation.</summary>
        public void OnThisThread() { lock (_owner._gate) _owner._runnerThread = Environment.CurrentManagedThreadId; }
        public void Dispose() => _owner.End();
    }

    /// <summary>Claims the trainer for <paramref name="what"/>; refuses while another operation runs.</summary>
    internal Operation Begin(string what, CancellationToken cancel = default)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            if (_running is { } current)
                throw new InvalidOperationException(
                    $"this trainer is already running {current}; {what} must wait until it returns (a trainer runs one operation at a time: await its task first, or use one trainer per thread)");
            _running = what;
            _runnerThread = Environment.CurrentManagedThreadId;
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            return new Operation(this, _stop.Token);
        }
    }

    void End()
    {
        lock (_gate)
        {
            _running = null;
            _runnerThread = 0;
            _stop?.Dispose();
            _stop = null;
            // A disposal asked for during the operation (from its own thread) happens now.
            if (_disposed) Free();
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Reads something of the tensors under the gate (not while they are being freed).</summary>
    internal T Locked<T>(Func<T> read)
    {
        lock (_gate)
        {
            ThrowIfDisposed();
            return read();
        }
    }

    /// <summary>Runs <paramref name="work"/> as one operation of the trainer.</summary>
    internal T Guarded<T>(string what, Func<T> work)
    {
        using var op = Begin(what);
        return work();
    }

    /// <summary>Claims the trainer in the caller (so that a second call is refused at once), then runs on a thread of its own.</summary>
    Task<T> OwnThread<T>(string what, CancellationToken cancel, Func<Operation, T> work)
    {
        var op = Begin(what, cancel);
        try
        {
            return Task.Factory.StartNew(() =>
            {
                using (op)
                {
                    op.OnThisThread();
                    return work(op);
                }
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        catch { op.Dispose(); throw; }
    }

    /// <summary>Reads the options' dataset and starts a run of the options' model.</summary>
    public static Trainer Create(TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var cfg = options.ToConfig();
        var data = Guard.Run(() => Hybrid.Train.prepare(cfg));
        return Start(cfg, data, null);
    }

    /// <summary>Starts a run of the options' model on <paramref name="data"/>.</summary>
    public static Trainer Create(TrainingOptions options, TrainingData data)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(data);
        var cfg = Hybrid.Config.onData(data.Name, options.ToConfig());
        var prepared = Guard.Run(() => Prepare(cfg, data.Inner, null));
        return Start(cfg, prepared, null);
    }

    /// <summary>Starts a run that trains <paramref name="network"/> (your own modules, or a built-in one) on <paramref name="data"/>
    /// (the options' dataset when null). The trainer owns the network from then on.</summary>
    public static Trainer Create(TrainingOptions options, Network network, TrainingData? data = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(network);
        network.ThrowIfOwned();
        var net = network.Inner;
        var cfg = Hybrid.Config.forNetwork(net, options.Config);
        Guard.Run(() => Hybrid.Config.validate(cfg));
        if (data is not null) cfg = Hybrid.Config.onData(data.Name, cfg);
        var dataset = data?.Inner ?? Guard.Run(() => Hybrid.Data.DatasetModule.load(cfg.DataRoot, cfg.Dataset));
        var prepared = Guard.Run(() => Prepare(cfg, dataset, net));
        try { return new Trainer(prepared, Guard.Run(() => Hybrid.TrainingSession.StartWith(cfg, prepared, net)), network); }
        catch { ((IDisposable)prepared).Dispose(); throw; }
    }

    /// <summary>Continues a run of a built-in model from a checkpoint written by <see cref="Save"/> (its dataset is read again).</summary>
    public static Trainer Resume(string checkpoint)
    {
        Guard.FileExists(checkpoint, "checkpoint");
        var resumed = Guard.Run(() => Hybrid.Train.resume(checkpoint));
        return new Trainer(resumed.Data, resumed.Session, null);
    }

    /// <summary>Continues a run from a checkpoint on data given again (<paramref name="data"/>; the checkpoint's dataset when null);
    /// a run of your own modules needs <paramref name="network"/> built the same way (its parameters are loaded by name).</summary>
    public static Trainer Resume(string checkpoint, TrainingData? data, Network? network = null)
    {
        Guard.FileExists(checkpoint, "checkpoint");
        var cfg = Guard.Run(() => Hybrid.Train.savedConfig(checkpoint));
        var dataset = data?.Inner ?? Guard.Run(() => Hybrid.Data.DatasetModule.load(cfg.DataRoot, cfg.Dataset));
        network?.ThrowIfOwned();
        var net = network?.Inner;
        var prepared = Guard.Run(() => Prepare(cfg, dataset, net));
        try
        {
            var session = Guard.Run(() => net is null ? Hybrid.TrainingSession.Restore(checkpoint, prepared) : Hybrid.TrainingSession.RestoreWith(checkpoint, prepared, net));
            return new Trainer(prepared, session, network);
        }
        catch { ((IDisposable)prepared).Dispose(); throw; }
    }

    static Hybrid.RunData Prepare(Hybrid.TrainConfig cfg, Hybrid.Data.Dataset dataset, Hybrid.Network? net)
    {
        Hybrid.Data.BatchingModule.validate(cfg.Batching, dataset.Classes, cfg.BatchSize);
        return net is null
            ? Hybrid.Training.prepare(cfg, Hybrid.Runtime.device(cfg.Device), dataset)
            : Hybrid.Training.prepareFor(cfg, net, dataset);
    }

    static Trainer Start(Hybrid.TrainConfig cfg, Hybrid.RunData data, Network? network)
    {
        try { return new Trainer(data, Guard.Run(() => Hybrid.TrainingSession.Start(cfg, data)), network); }
        catch { ((IDisposable)data).Dispose(); throw; }
    }

    /// <summary>The run's options.</summary>
    public TrainingOptions Options => TrainingOptions.Of(Session.Config);
    /// <summary>The network being trained (it belongs to the trainer).</summary>
    public Network Network
    {
        get
        {
            ThrowIfDisposed();
            return _network!;
        }
    }
    /// <summary>Completed epochs.</summary>
    public IReadOnlyList<EpochResult> Epochs => Snapshot(() => Session.Records.Select(EpochResult.From).ToList());
    /// <summary>Every measured test accuracy so far, in order: the end of each epoch, and every
    /// <c>TrainingOptions.EvalEvery</c> updates.</summary>
    public IReadOnlyList<EvalPoint> Evaluations => Snapshot(() => Session.Result.Evaluations.Select(EvalPoint.From).ToList());

    /// <summary>A copy of a list that a running operation may be adding to (read again if it grew during the copy).</summary>
    static T Snapshot<T>(Func<T> read)
    {
        for (var attempt = 0; ; attempt++)
        {
            try { return read(); }
            catch (InvalidOperationException e) when (e is not ObjectDisposedException && attempt < 5) { }
        }
    }
    /// <summary>How the run stands.</summary>
    public RunStatus Status => StatusOf(Session);

    static RunStatus StatusOf(Hybrid.TrainingSession s) => s.Status switch
    {
        Hybrid.RunStatus.Diverged => RunStatus.Diverged,
        _ when s.Position.Item1 > s.Config.Epochs => RunStatus.Completed,
        _ when s.Status.IsCancelled => RunStatus.Cancelled,
        _ => RunStatus.Running,
    };
    /// <summary>Where and why the run diverged (null unless <see cref="Status"/> is <see cref="RunStatus.Diverged"/>).</summary>
    public string? DivergenceMessage => Session.Status is Hybrid.RunStatus.Diverged d ? d.message : null;
    /// <summary>Whether the run has finished (every epoch trained, or diverged); <see cref="Extend"/> adds epochs.</summary>
    public bool Finished => Session.Finished;
    /// <summary>Number of parameters of the network.</summary>
    public long ParameterCount => Locked(() => Session.Network.ParameterCount);
    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => Session.BatchesPerEpoch;

    /// <summary>Runs <paramref name="count"/> batches (fewer if the run finishes or is cancelled); returns the epochs they completed.</summary>
    public IReadOnlyList<EpochResult> TrainBatches(int count, IProgress<Progress>? progress = null, CancellationToken cancel = default)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "the number of batches cannot be negative");
        using var op = Begin(nameof(TrainBatches), cancel);
        return Batches(op, count, progress);
    }

    static List<EpochResult> Batches(Operation op, int count, IProgress<Progress>? progress)
    {
        var s = op.Session;
        var done = new List<EpochResult>();
        for (var i = 0; i < count && !s.Finished && !op.Token.IsCancellationRequested; i++)
        {
            var (epoch, batch) = s.Position;
            var (energy, record) = Guard.Run(() => s.Step());
            if (s.Status.IsDiverged) break;
            progress?.Report(new Progress(epoch, batch + 1, s.BatchesPerEpoch, energy, s.Config.Epochs, s.Result.Seconds));
            if (record is not null) done.Add(EpochResult.From(record.Value));
        }
        return done;
    }

    /// <summary>Runs to the end of the current epoch and returns it (null if the run had finished, diverged or was cancelled first).</summary>
    public EpochResult? TrainEpoch(IProgress<Progress>? progress = null, CancellationToken cancel = default)
    {
        using var op = Begin(nameof(TrainEpoch), cancel);
        return Epoch(op, progress);
    }

    static EpochResult? Epoch(Operation op, IProgress<Progress>? progress)
    {
        while (!op.Session.Finished && !op.Token.IsCancellationRequested)
        {
            var done = Batches(op, 1, progress);
            if (done.Count > 0) return done[0];
        }
        return null;
    }

    /// <summary>Runs the remaining epochs (until a divergence, or cancellation between batches). Returns the epochs this call
    /// completed, with how the run stands after it: <see cref="RunResult.Status"/> (<see cref="RunStatus.Diverged"/>: the list
    /// may be empty, <see cref="RunResult.DivergenceMessage"/> says where) and <see cref="RunResult.Last"/>, the run's last
    /// completed epoch (null when none has completed).</summary>
    public RunResult Run(IProgress<Progress>? progress = null, CancellationToken cancel = default)
    {
        using var op = Begin(nameof(Run), cancel);
        return RunAll(op, progress);
    }

    static RunResult RunAll(Operation op, IProgress<Progress>? progress)
    {
        var s = op.Session;
        var before = s.Records.Length;
        var p = FuncConvert.FromAction<Hybrid.TrainProgress>(t => progress?.Report(Progress.From(t)));
        Guard.Run(() => s.Run(p, FuncConvert.FromAction<Hybrid.EpochRecord>(_ => { }), op.Token));
        var all = s.Records.Select(EpochResult.From).ToList();
        return new RunResult(all.Skip(before).ToList(), StatusOf(s), s.Status is Hybrid.RunStatus.Diverged d ? d.message : null, all.LastOrDefault());
    }

    /// <summary><see cref="Run"/> without blocking the caller. Training is CPU-bound work inside libtorch with nothing to wait for,
    /// so the task runs it on a thread of its own (long-running: not a thread-pool thread held for minutes; libtorch's dispose
    /// scopes are per thread, so every step's tensors stay on that thread). <paramref name="cancel"/> stops it between batches
    /// (the task then completes with the epochs done so far, <see cref="Status"/> <see cref="RunStatus.Cancelled"/>). The trainer
    /// is claimed when this is called: any other operation on it raises <see cref="InvalidOperationException"/> until the task
    /// completes.</summary>
    public Task<RunResult> RunAsync(IProgress<Progress>? progress = null, CancellationToken cancel = default) =>
        OwnThread(nameof(RunAsync), cancel, op => RunAll(op, progress));

    /// <summary><see cref="TrainEpoch"/> on a thread of its own (as <see cref="RunAsync"/>).</summary>
    public Task<EpochResult?> TrainEpochAsync(IProgress<Progress>? progress = null, CancellationToken cancel = default) =>
        OwnThread(nameof(TrainEpochAsync), cancel, op => Epoch(op, progress));

    /// <summary>One update per batch you give (outside the epochs: the same update as a step of the run, with the same
    /// initializer state); returns each batch's energy per sample. A batch that diverges raises <see cref="TrainingDivergedException"/>
    /// and leaves the weights as they were before it.</summary>
    public IReadOnlyList<double> TrainOn(IEnumerable<Batch> batches, IProgress<Progress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        using var op = Begin(nameof(TrainOn), cancel);
        return Given(op, batches, progress);
    }

    static List<double> Given(Operation op, IEnumerable<Batch> batches, IProgress<Progress>? progress)
    {
        var s = op.Session;
        var net = s.Network;
        var energies = new List<double>();
        foreach (var b in batches)
        {
            if (op.Token.IsCancellationRequested) break;
            if (b is null) throw new ArgumentException($"batch {energies.Count} is null", nameof(batches));
            using var scope = NewDisposeScope();
            var x = Tensors.Raw(b.Values, net.InputShape, $"batch {energies.Count}");
            if (b.Labels is null || b.Labels.Length != x.shape[0])
                throw new ArgumentException($"batch {energies.Count} has {x.shape[0]} samples and {b.Labels?.Length ?? 0} labels", nameof(batches));
            var labels = tensor(b.Labels.Select(l => (long)l).ToArray());
            var energy = Guard.Run(() => s.TrainBatch(x, labels));
            energies.Add(energy);
            progress?.Report(new Progress(0, energies.Count, 0, energy, s.Config.Epochs, s.Result.Seconds));
        }
        return energies;
    }

    /// <summary><see cref="TrainOn"/> on a thread of its own (as <see cref="RunAsync"/>).</summary>
    public Task<IReadOnlyList<double>> TrainOnAsync(IEnumerable<Batch> batches, IProgress<Progress>? progress = null, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return OwnThread<IReadOnlyList<double>>(nameof(TrainOnAsync), cancel, op => Given(op, batches, progress));
    }

    /// <summary>Adds <paramref name="epochs"/> epochs to the run: a finished run goes on from where it ended.</summary>
    public void Extend(int epochs)
    {
        using var op = Begin(nameof(Extend));
        Guard.Run(() => op.Session.Extend(epochs));
    }

    /// <summary>Test accuracy (percent) of the current network (forward pass).</summary>
    public double Evaluate()
    {
        using var op = Begin(nameof(Evaluate));
        return Guard.Run(() => op.Session.Evaluate());
    }

    /// <summary>Predicts the class of each sample of <paramref name="inputs"/>: values sample after sample as the data holds
    /// them, prepared as the run's inputs are (<see cref="PrepareInputs"/>: standardised with <see cref="InputStatistics"/> unless
    /// the options' normalisation is <c>Unit</c>). <see cref="Network"/>'s own <c>Predict</c> takes the prepared values.</summary>
    public Prediction Predict(float[] inputs)
    {
        using var op = Begin(nameof(Predict));
        return Tensors.Predict(op.Session.Network, inputs, op.Session.Data);
    }

    /// <summary>Runs the run's inference on a batch (values as the data holds them) from the forward pass (with
    /// <paramref name="labels"/>: output clamped) and returns the states, errors and energies where it ended.
    /// Backpropagation runs show the forward pass.</summary>
    public InferenceResult Infer(float[] inputs, int[]? labels = null)
    {
        using var op = Begin(nameof(Infer));
        return Tensors.Infer(op.Session.Network, inputs, labels, new Algorithm(op.Session.Config.Algorithm), op.Session.Data);
    }

    /// <summary>The per-channel mean and standard deviation the run standardises its inputs with (those of the training subset
    /// it uses), one entry per channel (one for vectors); null when the options' normalisation is <c>Unit</c> (values used as given).</summary>
    public IReadOnlyList<ChannelStatistics>? InputStatistics =>
        Session.Data.Stats is { } st ? st.Value.Select(t => new ChannelStatistics(t.Item1, t.Item2)).ToList() : null;

    /// <summary>Values as the data holds them (sample after sample) prepared as the run's inputs are: what the network itself
    /// takes (<c>Network.Predict</c>, <c>Network.Infer</c>), sample after sample.</summary>
    public float[] PrepareInputs(float[] values)
    {
        using var op = Begin(nameof(PrepareInputs));
        using var scope = NewDisposeScope();
        var s = op.Session;
        var x = Guard.Run(() => s.Data.Prepare(Tensors.Raw(values, s.Network.InputShape, nameof(values))));
        return x.to(ScalarType.Float32).cpu().reshape(-1).data<float>().ToArray();
    }

    /// <summary>Every parameter of the network, by name, with a copy of its values.</summary>
    public IReadOnlyList<WeightTensor> Weights()
    {
        using var op = Begin(nameof(Weights));
        return Tensors.Weights(op.Session.Network);
    }

    /// <summary>Saves everything needed to continue exactly (atomic write).</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        using var op = Begin(nameof(Save));
        Guard.Run(() => op.Session.Save(path));
    }

    /// <summary>Frees the network, the data and the optimiser. During an operation (on another thread, e.g. a
    /// <see cref="RunAsync"/> task) it cancels the operation and waits for it to stop after its current batch first; called
    /// from within the operation (its progress callback), the tensors are freed when the operation returns. Every later
    /// call raises <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            if (_running is not null)
            {
                _stop?.Cancel();
                if (_runnerThread == Environment.CurrentManagedThreadId) return;
                while (_running is not null) Monitor.Wait(_gate);
            }
            Free();
        }
    }

    /// <summary>Frees the tensors (once; under the gate, with no operation running).</summary>
    void Free()
    {
        if (_session is { } s) ((IDisposable)s).Dispose();
        if (_data is { } d) ((IDisposable)d).Dispose();
        _session = null;
        _data = null;
    }
}
/// <summary>Arrays in and out of a network.</summary>
internal static class Tensors
{
    /// <summary>A batch tensor <c>[n, ...InputShape]</c> of the network's type on its device (a view of the input when it already is).</summary>
    public static Tensor Batch(Tensor inputs, Hybrid.Network net, string name)
    {
        ArgumentNullException.ThrowIfNull(inputs, name);
        if (inputs.IsInvalid) throw new ObjectDisposedException(name, "the input tensor has been disposed");
        var shape = net.InputShape;
        if (inputs.dim() != shape.Length + 1 || !inputs.shape.Skip(1).SequenceEqual(shape))
            throw new ArgumentException($"a batch of shape [n, {string.Join(", ", shape)}] was expected, got [{string.Join(", ", inputs.shape)}]", name);
        if (!inputs.is_floating_point() && inputs.dtype != ScalarType.Int64 && inputs.dtype != ScalarType.Int32 && inputs.dtype != ScalarType.Byte)
            throw new ArgumentException($"inputs must be numbers, got {inputs.dtype}", name);
        return inputs.to(net.Precision.ScalarType).to(net.Device);
    }

    /// <summary>Values sample after sample as a float32 CPU tensor <c>[n, ...shape]</c>; the count must be a whole number of
    /// samples, every value finite.</summary>
    public static Tensor Raw(float[] values, long[] shape, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        var size = shape.Aggregate(1L, (a, b) => a * b);
        if (values.Length == 0 || values.Length % size != 0)
            throw new ArgumentException($"{name}: {values.Length} values are not a whole number of samples of shape [{string.Join(", ", shape)}] ({size} values each)", name);
        for (var i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new ArgumentException($"{name}: value {i} (sample {i / size}) is {values[i]}, not a finite number", name);
        return tensor(values).reshape([values.Length / size, .. shape]);
    }

    /// <summary><see cref="Raw"/> in the network's precision on its device (values used as given).</summary>
    public static Tensor Values(float[] values, Hybrid.Network net, string name) =>
        Raw(values, net.InputShape, name).to(net.Precision.ScalarType).to(net.Device);

    static float[][] Rows(Tensor t)
    {
        var n = (int)t.shape[0];
        var flat = t.detach().to(ScalarType.Float32).cpu().reshape(n, -1).data<float>().ToArray();
        var size = n == 0 ? 0 : flat.Length / n;
        return Enumerable.Range(0, n).Select(i => flat.AsSpan(i * size, size).ToArray()).ToArray();
    }

    public static Prediction Predict(Hybrid.Network net, float[] inputs, Hybrid.RunData? data = null)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var x = data is null ? Values(inputs, net, nameof(inputs)) : Guard.Run(() => data.Prepare(Raw(inputs, net.InputShape, nameof(inputs))));
        var outputs = Guard.Run(() => net.Forward(x));
        var classes = outputs.argmax(1).data<long>().Select(c => (int)c).ToList();
        return new Prediction(classes, Rows(outputs));
    }

    public static InferenceResult Infer(Hybrid.Network net, float[] inputs, int[]? labels, Algorithm algorithm, Hybrid.RunData? data = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        using var scope = NewDisposeScope();
        var x = data is null ? Values(inputs, net, nameof(inputs)) : Guard.Run(() => data.Prepare(Raw(inputs, net.InputShape, nameof(inputs))));
        var n = x.shape[0];
        if (labels is not null && labels.Length != n) throw new ArgumentException($"{n} samples need {n} labels, got {labels.Length}", nameof(labels));
        foreach (var l in labels ?? [])
            if (l < 0 || l >= net.Outputs) throw new ArgumentException($"labels must be in 0..{net.Outputs - 1}, got {l}", nameof(labels));
        var labelTensor = tensor((labels ?? new int[n]).Select(l => (long)l).ToArray()).to(net.Device);
        var target = labels is null ? null : FSharpOption<Tensor>.Some(Hybrid.Data.TensorSplitModule.oneHot(net.Outputs, net.Precision, labelTensor));
        var r = Guard.Run(() => Hybrid.Inspect.infer(net, algorithm.Inner, x, labelTensor, target));
        return new InferenceResult(r.States.Select(Rows).ToList(), r.Errors.Select(Rows).ToList(), Rows(r.Output), r.LayerEnergies, r.Energy, r.Steps);
    }

    public static IReadOnlyList<WeightTensor> Weights(Hybrid.Network net) =>
        Hybrid.Checkpoint.networkTensors(net)
            .Select(t => new WeightTensor(t.Item1, t.Item2.shape, t.Item2.detach().to(ScalarType.Float32).cpu().reshape(-1).data<float>().ToArray()))
            .ToList();
}
