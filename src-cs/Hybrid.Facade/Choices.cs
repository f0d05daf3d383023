namespace Hybrid.Facade;

/// <summary>Element-wise activation functions.</summary>
public enum Activation
{
    /// <summary>x.</summary>
    Identity,
    /// <summary>max(0, x).</summary>
    Relu,
    /// <summary>max(0.01 x, x).</summary>
    LeakyRelu,
    /// <summary>x Phi(x).</summary>
    Gelu,
    /// <summary>x for x > 0, exp(x) - 1 otherwise.</summary>
    Elu,
    /// <summary>tanh(x).</summary>
    Tanh,
    /// <summary>1 / (1 + exp(-x)).</summary>
    Sigmoid,
}

/// <summary>The output term of the energy.</summary>
public enum Loss
{
    /// <summary>Cross-entropy of softmax(output) against the one-hot target.</summary>
    CrossEntropy,
    /// <summary>1/2 ||output - target||^2.</summary>
    SquaredError,
}

/// <summary>How the weights of plain (non-residual) networks are drawn.</summary>
public enum WeightInit
{
    /// <summary>PyTorch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (the papers' choice).</summary>
    Default,
    /// <summary>He: N(0, 2/fan_in), zero biases.</summary>
    Kaiming,
    /// <summary>LeCun: N(0, 1/fan_in), zero biases.</summary>
    Lecun,
}

/// <summary>Scalings of a residual MLP.</summary>
public enum Parameterisation
{
    /// <summary>Standard: every scaling 1.</summary>
    Sp,
    /// <summary>muPC, depth-stable: 1/sqrt(D), 1/sqrt(N L), 1/N, weights N(0,1).</summary>
    MuPC,
    /// <summary>Neural tangent: 1/sqrt(D), 1/sqrt(N), 1/sqrt(N).</summary>
    Ntp,
}

/// <summary>The variables of predictive-coding inference.</summary>
public enum Reparam
{
    /// <summary>sPC: gradient descent on the hidden states.</summary>
    States,
    /// <summary>ePC: gradient descent on the errors of a perturbed forward pass.</summary>
    Errors,
}

/// <summary>How an epoch is cut into batches.</summary>
public enum Batching
{
    /// <summary>A fresh random permutation each epoch.</summary>
    Random,
    /// <summary>Every batch holds the same number of samples of each class, classes in order (the stream average needs it).</summary>
    StreamAligned,
}

/// <summary>How inputs are normalised.</summary>
public enum Normalisation
{
    /// <summary>Values as read (images in [0,1]).</summary>
    Unit,
    /// <summary>Per-channel standardisation with the training split's mean and standard deviation.</summary>
    Standardise,
}

/// <summary>Floating-point precision of networks and data.</summary>
public enum Precision
{
    /// <summary>32-bit floats (the default; the papers' setting).</summary>
    Float32,
    /// <summary>64-bit floats (exact properties, signal decay without rounding).</summary>
    Float64,
}

/// <summary>The compute device.</summary>
public enum Device
{
    /// <summary>CUDA when a CUDA build of libtorch and a GPU are present, else the CPU.</summary>
    Auto,
    /// <summary>The CPU.</summary>
    Cpu,
    /// <summary>The first CUDA device.</summary>
    Cuda,
}

/// <summary>The built-in network architectures (a network of your own modules is a <see cref="Network"/>).</summary>
public enum ModelKind
{
    /// <summary>Fully connected (<see cref="Model.Mlp"/>).</summary>
    Mlp,
    /// <summary>Residual MLP with sp/muPC/ntp scalings (<see cref="Model.ResidualMlp"/>).</summary>
    ResidualMlp,
    /// <summary>3x3 convolutions, then dense layers (<see cref="Model.Conv"/>).</summary>
    Conv,
    /// <summary>The paper's AlexNet-style network for 32x32 colour images.</summary>
    AlexNet,
    /// <summary>VGG-5 of the PCX benchmarks.</summary>
    Vgg5,
    /// <summary>VGG-7.</summary>
    Vgg7,
    /// <summary>ResNet-18 for small images.</summary>
    ResNet18,
}

/// <summary>How a training run stands.</summary>
public enum RunStatus
{
    /// <summary>Epochs remain to be trained.</summary>
    Running,
    /// <summary>Every epoch has been trained.</summary>
    Completed,
    /// <summary>Inference or the weights diverged (<see cref="Trainer.DivergenceMessage"/> says where); the run cannot go on.</summary>
    Diverged,
    /// <summary>Stopped by a cancellation token; it can go on (call Run again).</summary>
    Cancelled,
}

/// <summary>The spellings of the choices, as configuration files and the command line write them.</summary>
public static class Choice
{
    /// <summary>The value a name stands for: the canonical spelling (<c>leaky_relu</c>, <c>mupc</c>, <c>stream</c>, <c>ce</c>)
    /// or an old spelling (read with a warning); an unknown name is an <see cref="ArgumentException"/> that lists the known ones.</summary>
    public static T Parse<T>(string name) where T : struct, Enum => (T)ParseAs(typeof(T), name);

    /// <summary>The canonical spelling of a value.</summary>
    public static string Name<T>(T value) where T : struct, Enum => NameOf(value);

    /// <summary>The canonical spellings of every value of a choice.</summary>
    public static IReadOnlyList<string> Spellings<T>() where T : struct, Enum => Enum.GetValues<T>().Select(v => NameOf(v)).ToList();

    internal static string NameOf(Enum value) => Core.Map(value.GetType()).Spelling(value);

    internal static object ParseAs(Type t, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Core.Map(t).Parse(name);
    }
}

/// <summary>The facade's enums as the core's values and back, through one table per enum: each enum value beside the canonical
/// spelling of the core's value it stands for (the core's <see cref="Hybrid.Choice{T}"/> tables own the spellings and aliases).</summary>
internal static class Core
{
    /// <summary>One enum's table.</summary>
    internal interface IEnumMap
    {
        Type Enum { get; }
        /// <summary>The core choice's canonical spellings, in its order.</summary>
        IReadOnlyList<string> CoreSpellings { get; }
        IReadOnlyList<(Enum Value, string Spelling)> Pairs { get; }
        string Spelling(Enum value);
        Enum Parse(string name);
    }

    internal sealed class EnumMap<TEnum, TCore>(Hybrid.Choice<TCore> choice, params (TEnum Value, string Spelling)[] pairs) : IEnumMap
        where TEnum : struct, Enum where TCore : IEquatable<TCore>
    {
        public Type Enum => typeof(TEnum);
        public IReadOnlyList<string> CoreSpellings => choice.Values.Select(v => v.Item1).ToList();
        public IReadOnlyList<(Enum Value, string Spelling)> Pairs => pairs.Select(p => ((Enum)p.Value, p.Spelling)).ToList();

        public string Spelling(TEnum value)
        {
            foreach (var (v, spelling) in pairs)
                if (v.Equals(value)) return spelling;
            throw new ArgumentOutOfRangeException(typeof(TEnum).Name, value, $"{value} is not a value of {typeof(TEnum).Name}");
        }

        public string Spelling(Enum value) => Spelling((TEnum)value);

        public TEnum Value(string spelling)
        {
            foreach (var (v, s) in pairs)
                if (s == spelling) return v;
            throw new ArgumentException($"'{spelling}' has no {typeof(TEnum).Name} value", typeof(TEnum).Name);
        }

        public TCore Of(TEnum value) => choice.Parse(Spelling(value));
        public TEnum From(TCore value) => Value(choice.Name(value));
        public Enum Parse(string name) => From(Names.Parse(choice, name));
    }

    public static readonly EnumMap<Activation, Hybrid.Activation> Activations = new(Hybrid.Choices.activation,
        (Activation.Identity, "identity"), (Activation.Relu, "relu"), (Activation.LeakyRelu, "leaky_relu"), (Activation.Gelu, "gelu"),
        (Activation.Elu, "elu"), (Activation.Tanh, "tanh"), (Activation.Sigmoid, "sigmoid"));
    public static readonly EnumMap<Loss, Hybrid.Loss> Losses = new(Hybrid.Choices.loss, (Loss.CrossEntropy, "ce"), (Loss.SquaredError, "mse"));
    public static readonly EnumMap<WeightInit, Hybrid.WeightInit> WeightInits = new(Hybrid.Choices.weightInit,
        (WeightInit.Default, "default"), (WeightInit.Kaiming, "kaiming"), (WeightInit.Lecun, "lecun"));
    public static readonly EnumMap<Parameterisation, Hybrid.Parameterisation> Parameterisations = new(Hybrid.Choices.parameterisation,
        (Parameterisation.Sp, "sp"), (Parameterisation.MuPC, "mupc"), (Parameterisation.Ntp, "ntp"));
    public static readonly EnumMap<Reparam, Hybrid.Reparam> Reparams = new(Hybrid.Choices.reparam, (Reparam.States, "spc"), (Reparam.Errors, "epc"));
    public static readonly EnumMap<Batching, Hybrid.Data.Batching> Batchings = new(Hybrid.Choices.batching,
        (Batching.Random, "random"), (Batching.StreamAligned, "stream"));
    public static readonly EnumMap<Normalisation, Hybrid.Data.Normalisation> Normalisations = new(Hybrid.Choices.normalisation,
        (Normalisation.Unit, "unit"), (Normalisation.Standardise, "standardise"));
    public static readonly EnumMap<Precision, Hybrid.Precision> Precisions = new(Hybrid.Choices.precision,
        (Precision.Float32, "float32"), (Precision.Float64, "float64"));
    public static readonly EnumMap<Device, Hybrid.DeviceChoice> Devices = new(Hybrid.Choices.device,
        (Device.Auto, "auto"), (Device.Cpu, "cpu"), (Device.Cuda, "cuda"));
    public static readonly EnumMap<ModelKind, string> ModelKinds = new(Hybrid.Choices.modelKind,
        (ModelKind.Mlp, "mlp"), (ModelKind.ResidualMlp, "resmlp"), (ModelKind.Conv, "conv"), (ModelKind.AlexNet, "alexnet"), (ModelKind.Vgg5, "vgg5"),
        (ModelKind.Vgg7, "vgg7"), (ModelKind.ResNet18, "resnet18"));
    public static readonly EnumMap<ChainWeights, Hybrid.Experiments.Decay.ChainWeights> ChainWeightsMap = new(Hybrid.Experiments.Decay.chainWeights,
        (ChainWeights.Default, "default"), (ChainWeights.Orthogonal, "orthogonal"));
    public static readonly EnumMap<AlgorithmKind, string> AlgorithmKinds = new(Hybrid.Choices.algorithm,
        (AlgorithmKind.Backprop, "bp"), (AlgorithmKind.PredictiveCoding, "pc"));

    /// <summary>Every table (a test checks each against the core's choice, case by case).</summary>
    public static readonly IReadOnlyList<IEnumMap> All =
        [Activations, Losses, WeightInits, Parameterisations, Reparams, Batchings, Normalisations, Precisions, Devices, ModelKinds, ChainWeightsMap, AlgorithmKinds];

    public static IEnumMap Map(Type t) =>
        All.FirstOrDefault(m => m.Enum == t) ?? throw new ArgumentException($"{t.Name} is not a choice of Hybrid's", nameof(t));

    public static Hybrid.Activation Of(Activation a) => Activations.Of(a);
    public static Activation From(Hybrid.Activation a) => Activations.From(a);
    public static Hybrid.Loss Of(Loss l) => Losses.Of(l);
    public static Loss From(Hybrid.Loss l) => Losses.From(l);
    public static Hybrid.WeightInit Of(WeightInit w) => WeightInits.Of(w);
    public static WeightInit From(Hybrid.WeightInit w) => WeightInits.From(w);
    public static Hybrid.Parameterisation Of(Parameterisation p) => Parameterisations.Of(p);
    public static Parameterisation From(Hybrid.Parameterisation p) => Parameterisations.From(p);
    public static Hybrid.Reparam Of(Reparam r) => Reparams.Of(r);
    public static Reparam From(Hybrid.Reparam r) => Reparams.From(r);
    public static Hybrid.Data.Batching Of(Batching b) => Batchings.Of(b);
    public static Batching From(Hybrid.Data.Batching b) => Batchings.From(b);
    public static Hybrid.Data.Normalisation Of(Normalisation n) => Normalisations.Of(n);
    public static Normalisation From(Hybrid.Data.Normalisation n) => Normalisations.From(n);
    public static Hybrid.Precision Of(Precision p) => Precisions.Of(p);
    public static Precision From(Hybrid.Precision p) => Precisions.From(p);
    public static Hybrid.DeviceChoice Of(Device d) => Devices.Of(d);
    public static Device From(Hybrid.DeviceChoice d) => Devices.From(d);
    public static string KindName(ModelKind k) => ModelKinds.Spelling(k);
}

/// <summary>How a hierarchical associative memory's fixed point is solved.</summary>
public sealed class HamSolver
{
    internal Hybrid.Ham.Solver Inner { get; }
    HamSolver(Hybrid.Ham.Solver inner) => Inner = inner;

    /// <summary>x &lt;- f(x), all layers at once.</summary>
    public static HamSolver Picard { get; } = new(Hybrid.Ham.Solver.Picard);
    /// <summary>x &lt;- x + damping (f(x) - x), damping in (0, 1].</summary>
    public static HamSolver Damped(double damping = 0.5) => Parse(FormattableString.Invariant($"damped:{damping:R}"));
    /// <summary>Anderson acceleration of the synchronous map (memory 4, Tikhonov 1e-4).</summary>
    public static HamSolver Anderson { get; } = Parse("anderson");
    /// <summary>Even layers from the odd ones, then the odd from the even.</summary>
    public static HamSolver EvenOdd { get; } = new(Hybrid.Ham.Solver.EvenOdd);
    /// <summary>Anderson acceleration of the even/odd sweep (the fastest).</summary>
    public static HamSolver EvenOddAnderson { get; } = Parse("even-odd-anderson");

    /// <summary>Reads <c>picard</c>, <c>damped:D</c>, <c>anderson</c>, <c>even-odd</c> or <c>even-odd-anderson</c>.</summary>
    public static HamSolver Parse(string name) => new(Guard.Run(() => Hybrid.Choices.solver(name ?? throw new ArgumentNullException(nameof(name)))));

    /// <summary>The canonical name.</summary>
    public override string ToString() => Hybrid.Choices.solverName(Inner);
}

/// <summary>How retrieval queries are corrupted.</summary>
public sealed class Corruption
{
    internal Hybrid.Experiments.Retrieval.Corruption Inner { get; }
    internal Corruption(Hybrid.Experiments.Retrieval.Corruption inner) => Inner = inner;

    /// <summary>Zero the bottom <paramref name="fraction"/> of each image.</summary>
    public static Corruption Mask(double fraction) => Parse(FormattableString.Invariant($"mask:{fraction:R}"));
    /// <summary>Add N(0, s^2/d) per value (noise relative to the unit norm).</summary>
    public static Corruption Noise(double scale) => Parse(FormattableString.Invariant($"noise:{scale:R}"));
    /// <summary>Reads <c>mask:F</c> or <c>noise:S</c>.</summary>
    public static Corruption Parse(string text) => new(Guard.Run(() => Hybrid.Experiments.Retrieval.corruption(text ?? throw new ArgumentNullException(nameof(text)))));

    /// <summary>The text form.</summary>
    public override string ToString() => Inner.ToString();
}

/// <summary>The weights of the chains of the signal-decay study.</summary>
public enum ChainWeights
{
    /// <summary>PyTorch's default with biases: each layer shrinks the signal.</summary>
    Default,
    /// <summary>Random orthogonal matrices without biases: gain 1.</summary>
    Orthogonal,
}

/// <summary>The training algorithm's kind.</summary>
public enum AlgorithmKind
{
    /// <summary>Backpropagation of the output loss.</summary>
    Backprop,
    /// <summary>Predictive coding: inference, then the local weight update.</summary>
    PredictiveCoding,
}
