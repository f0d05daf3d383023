using Microsoft.FSharp.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace Hybrid.Facade;

/// <summary>The extreme eigenvalues of a symmetric matrix or operator, and its condition number (infinity unless the smallest
/// eigenvalue is positive).</summary>
public sealed record Spectrum(double Smallest, double Largest)
{
    /// <summary>Largest / Smallest; infinity unless Smallest &gt; 0.</summary>
    public double Condition => Smallest > 0 ? Largest / Smallest : double.PositiveInfinity;
}

/// <summary>The energy at the inference equilibrium F*(θ) = min_h F(h, θ) / n of a batch, and the gradient PC learns on.</summary>
/// <param name="Energy">F(h*, θ) / n.</param>
/// <param name="GradientNorm">The largest per-sample norm of the state gradient at h*.</param>
/// <param name="Steps">Inference steps taken.</param>
/// <param name="Converged">Whether the tolerance was met.</param>
/// <param name="Gradient">dF*/dθ, flat (the weights of <see cref="Theory.WeightCount"/> in block order).</param>
/// <param name="LayerNorms">||dF*/dW_l|| per block.</param>
public sealed record EquilibratedEnergy(double Energy, double GradientNorm, int Steps, bool Converged, double[] Gradient, double[] LayerNorms);

/// <summary>The loss of the forward pass (batch mean) and BP's gradient.</summary>
/// <param name="Loss">1/(2n) sum ||f(x) - y||^2 (or the mean cross-entropy).</param>
/// <param name="Gradient">dL/dθ, flat, in the order of <see cref="EquilibratedEnergy.Gradient"/>.</param>
/// <param name="LayerNorms">||dL/dW_l|| per block.</param>
public sealed record LossGradient(double Loss, double[] Gradient, double[] LayerNorms);

/// <summary>The theory instruments of predictive coding (Innocenti's thesis and its papers) on a network and a batch: equilibrated
/// energies, Hessians of the loss and of the equilibrated energy with respect to the weights, activity Hessians, the trust-region
/// step. Inputs are the network's own (used as given), sample after sample (<c>[n, ...InputShape]</c> flattened); targets are
/// <c>[n, Outputs]</c> (values for a squared-error network, probabilities for cross-entropy). Every function of the weights is a
/// batch mean. "The weights" are each dense or conv block's weight and every parameter of a module block; biases are held fixed.
/// Matrices are <c>double[rows, columns]</c>; vectors are flat in block order. Use float64 networks where the theory is exact.</summary>
public static class Theory
{
    /// <summary>The number of weights (the size of gradients and Hessians).</summary>
    public static long WeightCount(Network network) => Use(network, nameof(WeightCount), net => Hybrid.Theory.parameterCount(net));

    /// <summary>The closed-form equilibrated energy of a deep linear network, F* = 1/(2n) sum_i r_i^T S^-1 r_i with
    /// S = I + sum_{l=2..L} W_{L:l} W_{L:l}^T; refuses (ArgumentException) a network that is not a plain linear chain with a
    /// squared-error output.</summary>
    public static double LinearEquilibratedEnergy(Network network, double[] inputs, double[] targets) =>
        Use(network, nameof(LinearEquilibratedEnergy), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            return Hybrid.Scope.scalar(Hybrid.Theory.linearEquilibratedEnergy(net, x, y));
        });

    /// <summary>Runs inference to the equilibrium (gradient descent on the states from the forward pass, the step halved when
    /// the energy would rise) until every sample's state gradient has norm at most <paramref name="tolerance"/>, and returns
    /// F* with its weight gradient (the envelope theorem: ∂F/∂θ at h*).</summary>
    public static EquilibratedEnergy Equilibrate(Network network, double[] inputs, double[] targets, double tolerance = 1e-9,
        double stepSize = 0.2, int maxSteps = 20000) =>
        Use(network, nameof(Equilibrate), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            var eq = Hybrid.Theory.equilibrate(net, x, FSharpOption<Tensor>.Some(y), Options(tolerance, stepSize, maxSteps));
            var g = Hybrid.Theory.equilibratedGradient(net, eq, y);
            return new EquilibratedEnergy(eq.Energy, eq.GradientNorm, eq.Steps, eq.Converged, Vector(Hybrid.Theory.flatten(g)),
                Hybrid.Theory.layerNorms(net, g));
        });

    /// <summary>The loss of the forward pass and its gradient (BP).</summary>
    public static LossGradient Loss(Network network, double[] inputs, double[] targets) =>
        Use(network, nameof(Loss), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            var g = Hybrid.Theory.lossGradient(net, x, y);
            return new LossGradient(Hybrid.Scope.scalar(Hybrid.Theory.loss(net, x, y)), Vector(Hybrid.Theory.flatten(g)), Hybrid.Theory.layerNorms(net, g));
        });

    /// <summary>The full Hessian of the loss with respect to the weights (one backward pass per weight: small networks).</summary>
    public static double[,] LossHessian(Network network, double[] inputs, double[] targets) =>
        Use(network, nameof(LossHessian), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            return Matrix(Hybrid.Theory.lossHessian(net, x, y));
        });

    /// <summary>The full Hessian of the equilibrated energy with respect to the weights at the equilibrium that inference reaches:
    /// the Schur complement F_θθ - F_θh F_hh^-1 F_hθ (small networks).</summary>
    public static double[,] EquilibratedHessian(Network network, double[] inputs, double[] targets, double tolerance = 1e-9) =>
        Use(network, nameof(EquilibratedHessian), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            var eq = Equilibrium(net, x, y, tolerance);
            return Matrix(Hybrid.Theory.equilibratedHessian(net, eq, y));
        });

    /// <summary>The extreme eigenvalues of the loss's Hessian by Lanczos on Hessian-vector products (large networks).</summary>
    public static Spectrum LossHessianSpectrum(Network network, double[] inputs, double[] targets, int iterations = 60, long seed = 0) =>
        Use(network, nameof(LossHessianSpectrum), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            return Lanczos(net, Hybrid.Theory.lossHvp(net, x, y), iterations, seed);
        });

    /// <summary>The extreme eigenvalues of the equilibrated energy's Hessian by Lanczos on Hessian-vector products (F_hh^-1 by
    /// conjugate gradients) at the equilibrium that inference reaches.</summary>
    public static Spectrum EquilibratedHessianSpectrum(Network network, double[] inputs, double[] targets, int iterations = 60,
        double tolerance = 1e-9, long seed = 0) =>
        Use(network, nameof(EquilibratedHessianSpectrum), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            var eq = Equilibrium(net, x, y, tolerance);
            return Lanczos(net, Hybrid.Theory.equilibratedHvp(net, eq, y), iterations, seed);
        });

    /// <summary>The activity Hessian of each sample at the forward-pass states with the output clamped to the targets: of sPC's
    /// energy with respect to the hidden states (<see cref="Reparam.States"/>) or of ePC's with respect to the errors
    /// (<see cref="Reparam.Errors"/>); one <c>D x D</c> matrix per sample (D: the hidden units).</summary>
    public static double[][,] ActivityHessians(Network network, Reparam reparam, double[] inputs, double[] targets) =>
        Use(network, nameof(ActivityHessians), net =>
        {
            var (x, y) = Batch(net, inputs, targets);
            var h = Hybrid.Theory.activityHessian(net, Core.Of(reparam), Forward(net, x), FSharpOption<Tensor>.Some(y));
            return Enumerable.Range(0, (int)h.shape[0]).Select(i => Matrix(h[i])).ToArray();
        });

    /// <summary>The extreme eigenvalues and condition number of a symmetric matrix.</summary>
    public static Spectrum Extremes(double[,] symmetric)
    {
        ArgumentNullException.ThrowIfNull(symmetric);
        if (symmetric.GetLength(0) != symmetric.GetLength(1) || symmetric.Length == 0)
            throw new ArgumentException($"a square matrix is needed, got {symmetric.GetLength(0)} x {symmetric.GetLength(1)}", nameof(symmetric));
        return Hybrid.Scope.run(FuncConvert.FromFunc(() => Of(Hybrid.Theory.extremes(FromMatrix(symmetric, nameof(symmetric))))));
    }

    /// <summary>The trust-region step argmin_{||d|| &lt;= radius} g^T d + 1/2 d^T C d.</summary>
    public static double[] TrustRegionStep(double[,] curvature, double[] gradient, double radius)
    {
        ArgumentNullException.ThrowIfNull(curvature);
        ArgumentNullException.ThrowIfNull(gradient);
        if (curvature.GetLength(0) != gradient.Length || curvature.GetLength(1) != gradient.Length)
            throw new ArgumentException($"the curvature must be {gradient.Length} x {gradient.Length} for a gradient of {gradient.Length}, got {curvature.GetLength(0)} x {curvature.GetLength(1)}", nameof(curvature));
        return Hybrid.Scope.run(FuncConvert.FromFunc(() =>
            Vector(Guard.Run(() => Hybrid.Theory.trustRegionStep(FromMatrix(curvature, nameof(curvature)), FromVector(gradient, nameof(gradient)), radius)))));
    }

    /// <summary>The angle between two vectors of the same length, in degrees (NaN when one is zero).</summary>
    public static double Angle(double[] a, double[] b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Length != b.Length) throw new ArgumentException($"the vectors have {a.Length} and {b.Length} elements", nameof(b));
        return Hybrid.Scope.run(FuncConvert.FromFunc(() => Hybrid.Theory.angle(FromVector(a, nameof(a)), FromVector(b, nameof(b)))));
    }

    static T Use<T>(Network network, string what, Func<Hybrid.Network, T> work)
    {
        ArgumentNullException.ThrowIfNull(network);
        return network.Run($"Theory.{what}", net => Hybrid.Scope.run(FuncConvert.FromFunc(() => Guard.Run(() => work(net)))));
    }

    static Hybrid.Theory.EquilibriumOptions Options(double tolerance, double stepSize, int maxSteps)
    {
        var o = new Hybrid.Theory.EquilibriumOptions(stepSize, tolerance, maxSteps);
        Guard.Run(() => o.Validate());
        return o;
    }

    static Hybrid.Theory.Equilibrium Equilibrium(Hybrid.Network net, Tensor x, Tensor y, double tolerance) =>
        Hybrid.Theory.equilibrate(net, x, FSharpOption<Tensor>.Some(y), Options(tolerance, 0.2, 20000));

    static (Tensor X, Tensor Y) Batch(Hybrid.Network net, double[] inputs, double[] targets)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        var size = net.InputShape.Aggregate(1L, (a, b) => a * b);
        if (inputs.Length == 0 || inputs.Length % size != 0)
            throw new ArgumentException($"inputs: {inputs.Length} values are not a whole number of samples of shape [{string.Join(", ", net.InputShape)}] ({size} values each)", nameof(inputs));
        var n = inputs.Length / size;
        if (targets.Length != n * net.Outputs)
            throw new ArgumentException($"targets: {n} samples of {net.Outputs} outputs need {n * net.Outputs} values, got {targets.Length}", nameof(targets));
        Finite(inputs, nameof(inputs));
        Finite(targets, nameof(targets));
        var x = tensor(inputs).reshape([n, .. net.InputShape]).to(net.Precision.ScalarType).to(net.Device);
        var y = tensor(targets).reshape(n, net.Outputs).to(net.Precision.ScalarType).to(net.Device);
        return (x, y);
    }

    static void Finite(double[] values, string name)
    {
        for (var i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i])) throw new ArgumentException($"{name}: value {i} is {values[i]}, not a finite number", name);
    }

    static Tensor[] Forward(Hybrid.Network net, Tensor x)
    {
        using var _ = no_grad();
        var states = new Tensor[net.Depth];
        states[0] = x;
        for (var l = 1; l < net.Depth; l++) states[l] = net.Blocks[l - 1].Forward(states[l - 1]).detach();
        return states;
    }

    static Spectrum Lanczos(Hybrid.Network net, FSharpFunc<Tensor, Tensor> op, int iterations, long seed)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations), iterations, "at least one Lanczos iteration is needed");
        return Of(Hybrid.Theory.lanczos(Hybrid.Theory.parameterCount(net), op, iterations, seed, net.Precision.ScalarType, net.Device));
    }

    static Spectrum Of(Hybrid.Theory.Extremes e) => new(e.Smallest, e.Largest);

    static double[] Vector(Tensor t) => t.detach().to(ScalarType.Float64).cpu().reshape(-1).data<double>().ToArray();

    static double[,] Matrix(Tensor t)
    {
        var m = t.detach().to(ScalarType.Float64).cpu();
        var rows = (int)m.shape[0];
        var cols = (int)m.shape[1];
        var flat = m.reshape(-1).data<double>().ToArray();
        var result = new double[rows, cols];
        Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(double));
        return result;
    }

    static Tensor FromVector(double[] v, string name)
    {
        Finite(v, name);
        return tensor(v);
    }

    static Tensor FromMatrix(double[,] m, string name)
    {
        var flat = new double[m.Length];
        Buffer.BlockCopy(m, 0, flat, 0, flat.Length * sizeof(double));
        Finite(flat, name);
        return tensor(flat).reshape(m.GetLength(0), m.GetLength(1));
    }
}
