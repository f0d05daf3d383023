using Hybrid.Facade;
using Xunit;
using static TorchSharp.torch;

namespace Hybrid.Facade.Tests;

/// <summary>The theory instruments from C#: arrays in, arrays and numbers out.</summary>
public class TheoryTests
{
    static Network LinearChain(long seed = 1) =>
        Network.Create(Model.Mlp([5, 4], Activation.Identity), [3], 2, Loss.SquaredError, precision: Precision.Float64, device: Device.Cpu, seed: seed);

    static (double[] X, double[] Y) Data(int n, long seed)
    {
        var r = new Random((int)seed);
        double Draw() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        return (Enumerable.Range(0, n * 3).Select(_ => Draw()).ToArray(), Enumerable.Range(0, n * 2).Select(_ => Draw()).ToArray());
    }

    [Fact]
    public void ClosedFormEqualsInference()
    {
        using var net = LinearChain();
        var (x, y) = Data(8, 2);
        var closed = Theory.LinearEquilibratedEnergy(net, x, y);
        var eq = Theory.Equilibrate(net, x, y, tolerance: 1e-11);
        Assert.True(eq.Converged);
        Assert.Equal(closed, eq.Energy, 1e-10);
        Assert.Equal(Theory.WeightCount(net), eq.Gradient.Length);
        Assert.Equal(net.Depth, eq.LayerNorms.Length);
        // F* <= L: S >= I rescales the residuals down.
        Assert.True(closed <= Theory.Loss(net, x, y).Loss + 1e-12);
    }

    [Fact]
    public void OriginIsAStrictSaddleOfTheEnergyOnly()
    {
        using var net = LinearChain();
        using (no_grad())
            foreach (var block in net.Blocks)
                foreach (var p in block.parameters()) p.zero_();
        var (x, y) = Data(8, 3);
        var loss = Theory.Extremes(Theory.LossHessian(net, x, y));
        var energy = Theory.Extremes(Theory.EquilibratedHessian(net, x, y));
        Assert.Equal(0.0, loss.Smallest, 1e-12);
        Assert.Equal(0.0, loss.Largest, 1e-12);
        Assert.True(energy.Smallest < -1e-3, $"λ_min of F* at the origin: {energy.Smallest}");
        Assert.Equal(double.PositiveInfinity, energy.Condition);
    }

    [Fact]
    public void LanczosAgreesWithTheFullHessian()
    {
        using var net = LinearChain(4);
        var (x, y) = Data(6, 5);
        var full = Theory.Extremes(Theory.LossHessian(net, x, y));
        var lanczos = Theory.LossHessianSpectrum(net, x, y, iterations: 200);
        Assert.Equal(full.Largest, lanczos.Largest, 1e-8);
        Assert.Equal(full.Smallest, lanczos.Smallest, 1e-8);
        var eqFull = Theory.Extremes(Theory.EquilibratedHessian(net, x, y, tolerance: 1e-12));
        var eqLanczos = Theory.EquilibratedHessianSpectrum(net, x, y, iterations: 200, tolerance: 1e-12);
        Assert.Equal(eqFull.Largest, eqLanczos.Largest, 1e-6);
    }

    [Fact]
    public void ActivityHessiansOfALinearChainAreTheSameForEverySample()
    {
        using var net = LinearChain();
        var (x, y) = Data(3, 6);
        var hs = Theory.ActivityHessians(net, Reparam.States, x, y);
        Assert.Equal(3, hs.Length);
        Assert.Equal(9, hs[0].GetLength(0));
        for (var i = 0; i < 9; i++)
            for (var j = 0; j < 9; j++)
                Assert.Equal(hs[0][i, j], hs[2][i, j], 1e-12);
        var s = Theory.Extremes(hs[0]);
        Assert.True(s.Smallest > 0 && s.Condition >= 1, $"sPC's activity Hessian of a linear chain is positive definite: {s}");
    }

    [Fact]
    public void TrustRegionStepAndAngle()
    {
        var step = Theory.TrustRegionStep(new double[,] { { 2, 0 }, { 0, 0.5 } }, [1, 1], 100);
        Assert.Equal(-0.5, step[0], 1e-12);
        Assert.Equal(-2.0, step[1], 1e-12);
        Assert.Equal(90.0, Theory.Angle([1, 0], [0, 3]), 1e-12);
    }

    [Fact]
    public void BadInputIsRefusedWithItsName()
    {
        using var net = LinearChain();
        var (x, _) = Data(4, 7);
        var e = Assert.Throws<ArgumentException>(() => Theory.Loss(net, x, new double[5]));
        Assert.Contains("targets", e.Message);
        Assert.Throws<ArgumentException>(() => Theory.Equilibrate(net, x, new double[8], tolerance: -1));
        using var tanh = Network.Create(Model.Mlp([4], Activation.Tanh), [3], 2, Loss.SquaredError, precision: Precision.Float64, device: Device.Cpu);
        var c = Assert.Throws<ArgumentException>(() => Theory.LinearEquilibratedEnergy(tanh, x, new double[8]));
        Assert.Contains("linear chain", c.Message);
        Assert.Throws<ArgumentException>(() => Theory.Extremes(new double[2, 3]));
    }
}
