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
    /// or an accepted alias; an unknown name is an <see cref="ArgumentException"/> that lists the known ones.</summary>
    public static T Parse<T>(string name) where T : struct, Enum => (T)(object)ParseBoxed(typeof(T), name);

    /// <summary>The canonical spelling of a value.</summary>
    public static string Name<T>(T value) where T : struct, Enum => value switch
    {
        Activation a => Core.Of(a).ToString(),
        Loss l => Core.Of(l).ToString(),
        WeightInit w => Core.Of(w).ToString(),
        Parameterisation p => Core.Of(p).ToString(),
        Reparam r => Core.Of(r).ToString(),
        Batching b => Core.Of(b).ToString(),
        Normalisation n => Core.Of(n).ToString(),
        Precision p => Core.Of(p).ToString(),
        Device d => Core.Of(d).ToString(),
        ModelKind k => Core.KindName(k),
        ChainWeights w => w == ChainWeights.Default ? "default" : "orthogonal",
        AlgorithmKind a => a == AlgorithmKind.Backprop ? "bp" : "pc",
        _ => value.ToString().ToLowerInvariant(),
    };

    /// <summary>The canonical spellings of every value of a choice.</summary>
    public static IReadOnlyList<string> Spellings<T>() where T : struct, Enum => Enum.GetValues<T>().Select(Name).ToList();

    static object ParseBoxed(Type t, string name)
    {
        if (name is null) throw new ArgumentNullException(nameof(name));
        if (t == typeof(Activation)) return Core.From(Names.Parse(Hybrid.Choices.activation, name));
        if (t == typeof(Loss)) return Core.From(Names.Parse(Hybrid.Choices.loss, name));
        if (t == typeof(WeightInit)) return Core.From(Names.Parse(Hybrid.Choices.weightInit, name));
        if (t == typeof(Parameterisation)) return Core.From(Names.Parse(Hybrid.Choices.parameterisation, name));
        if (t == typeof(Reparam)) return Core.From(Names.Parse(Hybrid.Choices.reparam, name));
        if (t == typeof(Batching)) return Core.From(Names.Parse(Hybrid.Choices.batching, name));
        if (t == typeof(Normalisation)) return Core.From(Names.Parse(Hybrid.Choices.normalisation, name));
        if (t == typeof(Precision)) return Core.From(Names.Parse(Hybrid.Choices.precision, name));
        if (t == typeof(Device)) return Core.From(Names.Parse(Hybrid.Choices.device, name));
        if (t == typeof(ModelKind))
        {
            var kind = Names.Parse(Hybrid.Choices.modelKind, name);
            return Enum.GetValues<ModelKind>().Cast<ModelKind?>().FirstOrDefault(k => Core.KindName(k!.Value) == kind)
                ?? throw new ArgumentException($"'{name}' is a model of its own modules: build it with Network.FromModules", nameof(name));
        }
        if (t == typeof(ChainWeights))
            return Names.Parse(Hybrid.Experiments.Decay.chainWeights, name).IsDefault ? ChainWeights.Default : ChainWeights.Orthogonal;
        if (t == typeof(AlgorithmKind))
            return Names.Parse(Hybrid.Choices.algorithm, name) == "bp" ? AlgorithmKind.Backprop : AlgorithmKind.PredictiveCoding;
        throw new ArgumentException($"{t.Name} is not a choice of Hybrid's", nameof(t));
    }
}

/// <summary>The facade's enums as the core's values and back.</summary>
internal static class Core
{
    public static Hybrid.Activation Of(Activation a) => a switch
    {
        Activation.Identity => Hybrid.Activation.Identity,
        Activation.Relu => Hybrid.Activation.Relu,
        Activation.LeakyRelu => Hybrid.Activation.LeakyRelu,
        Activation.Gelu => Hybrid.Activation.Gelu,
        Activation.Elu => Hybrid.Activation.Elu,
        Activation.Tanh => Hybrid.Activation.Tanh,
        Activation.Sigmoid => Hybrid.Activation.Sigmoid,
        _ => throw Unknown(a),
    };

    public static Activation From(Hybrid.Activation a) => (Activation)a.Tag;

    public static Hybrid.Loss Of(Loss l) => l switch
    {
        Loss.CrossEntropy => Hybrid.Loss.CrossEntropy,
        Loss.SquaredError => Hybrid.Loss.SquaredError,
        _ => throw Unknown(l),
    };

    public static Loss From(Hybrid.Loss l) => l.IsCrossEntropy ? Loss.CrossEntropy : Loss.SquaredError;

    public static Hybrid.WeightInit Of(WeightInit w) => w switch
    {
        WeightInit.Default => Hybrid.WeightInit.Default,
        WeightInit.Kaiming => Hybrid.WeightInit.Kaiming,
        WeightInit.Lecun => Hybrid.WeightInit.Lecun,
        _ => throw Unknown(w),
    };

    public static WeightInit From(Hybrid.WeightInit w) => (WeightInit)w.Tag;

    public static Hybrid.Parameterisation Of(Parameterisation p) => p switch
    {
        Parameterisation.Sp => Hybrid.Parameterisation.Sp,
        Parameterisation.MuPC => Hybrid.Parameterisation.MuPC,
        Parameterisation.Ntp => Hybrid.Parameterisation.Ntp,
        _ => throw Unknown(p),
    };

    public static Parameterisation From(Hybrid.Parameterisation p) => (Parameterisation)p.Tag;

    public static Hybrid.Reparam Of(Reparam r) => r switch
    {
        Reparam.States => Hybrid.Reparam.States,
        Reparam.Errors => Hybrid.Reparam.Errors,
        _ => throw Unknown(r),
    };

    public static Reparam From(Hybrid.Reparam r) => r.IsStates ? Reparam.States : Reparam.Errors;

    public static Hybrid.Data.Batching Of(Batching b) => b switch
    {
        Batching.Random => Hybrid.Data.Batching.Random,
        Batching.StreamAligned => Hybrid.Data.Batching.StreamAligned,
        _ => throw Unknown(b),
    };

    public static Batching From(Hybrid.Data.Batching b) => b.IsRandom ? Batching.Random : Batching.StreamAligned;

    public static Hybrid.Data.Normalisation Of(Normalisation n) => n switch
    {
        Normalisation.Unit => Hybrid.Data.Normalisation.Unit,
        Normalisation.Standardise => Hybrid.Data.Normalisation.Standardise,
        _ => throw Unknown(n),
    };

    public static Normalisation From(Hybrid.Data.Normalisation n) => n.IsUnit ? Normalisation.Unit : Normalisation.Standardise;

    public static Hybrid.Precision Of(Precision p) => p switch
    {
        Precision.Float32 => Hybrid.Precision.Float32,
        Precision.Float64 => Hybrid.Precision.Float64,
        _ => throw Unknown(p),
    };

    public static Precision From(Hybrid.Precision p) => p.IsFloat32 ? Precision.Float32 : Precision.Float64;

    public static Hybrid.DeviceChoice Of(Device d) => d switch
    {
        Device.Auto => Hybrid.DeviceChoice.Auto,
        Device.Cpu => Hybrid.DeviceChoice.Cpu,
        Device.Cuda => Hybrid.DeviceChoice.Cuda,
        _ => throw Unknown(d),
    };

    public static Device From(Hybrid.DeviceChoice d) => (Device)d.Tag;

    public static string KindName(ModelKind k) => k switch
    {
        ModelKind.Mlp => "mlp",
        ModelKind.ResidualMlp => "resmlp",
        ModelKind.Conv => "conv",
        ModelKind.AlexNet => "alexnet",
        ModelKind.Vgg5 => "vgg5",
        ModelKind.Vgg7 => "vgg7",
        ModelKind.ResNet18 => "resnet18",
        _ => throw Unknown(k),
    };

    static ArgumentOutOfRangeException Unknown<T>(T value) where T : struct, Enum =>
        new(typeof(T).Name, value, $"{value} is not a value of {typeof(T).Name}");
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
