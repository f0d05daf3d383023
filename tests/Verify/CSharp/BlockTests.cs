using Hybrid.Verification;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VerifyCSharp;

/// <summary>A block as a user writes it: a linear map, then <see cref="Activate"/> (none for the output block).</summary>
public abstract class LinearBlock : nn.Module<Tensor, Tensor>
{
    // Protected, so that RegisterComponents (run for the derived type) finds the parameters.
    protected readonly TorchSharp.Modules.Linear _linear;
    readonly bool _last;

    protected LinearBlock(string name, BlockSpec spec) : base(name)
    {
        _linear = nn.Linear(spec.Inputs, spec.Outputs);
        _last = spec.Last;
        RegisterComponents();
    }

    protected abstract Tensor Activate(Tensor z);

    public override Tensor forward(Tensor h) => _last ? _linear.forward(h) : Activate(_linear.forward(h));

    /// <summary>The block's weights and biases, as the kit sees them.</summary>
    public int ParameterCount => parameters().Count();
}

/// <summary>tanh(W h + b): a correct block.</summary>
public sealed class TanhBlock(BlockSpec spec) : LinearBlock("tanh-block", spec)
{
    protected override Tensor Activate(Tensor z) => tanh(z);
}

/// <summary>Dropout left active in training mode: the forward pass is not a function of its input.</summary>
public sealed class DropoutBlock(BlockSpec spec) : LinearBlock("dropout-block", spec)
{
    protected override Tensor Activate(Tensor z) => nn.functional.dropout(tanh(z), 0.5, training: true);
}

/// <summary>A hand-written gradient that is wrong: the value is tanh(z), the gradient that of z / 2.</summary>
public sealed class WrongBackwardBlock(BlockSpec spec) : LinearBlock("wrong-backward-block", spec)
{
    protected override Tensor Activate(Tensor z) => tanh(z).detach() + (z - z.detach()) * 0.5;
}

public class BlockTests(ITestOutputHelper output)
{
    static readonly ModelUnderTest Tanh = Verify.Blocks("tanh-block", spec => new TanhBlock(spec));

    public static TheoryData<string> Invariants() => [.. Verify.All(Tanh).Select(p => p.Key)];

    [Theory]
    [MemberData(nameof(Invariants))]
    public void TheTanhBlockKeepsEveryInvariant(string name) =>
        Verify.Check(Verify.All(Tanh).Single(p => p.Key == name).Value, 30);

    [Fact]
    public void TheBlocksParametersAreRegistered() =>
        Assert.Equal(2, new TanhBlock(new BlockSpec(0, 3, 4, false, Hybrid.Activation.Tanh, 0L)).ParameterCount);

    [Fact]
    public void ADropoutBlockFailsForwardInitialisationWithAShrunkCounterexample()
    {
        var model = Verify.Blocks("dropout-block", spec => new DropoutBlock(spec));
        var e = Assert.ThrowsAny<Exception>(() => Verify.Check(Verify.ForwardInitialisation(model), 30));
        output.WriteLine(e.Message);
        Assert.Contains("Falsifiable", e.Message);
        Assert.Contains("Shrunk", e.Message);
        Assert.Matches(@"\(\d+,\d+\)", e.Message); // the seed that replays it
    }

    [Fact]
    public void AWrongBackwardFailsTheStateGradientInvariant()
    {
        var model = Verify.Blocks("wrong-backward-block", spec => new WrongBackwardBlock(spec));
        var e = Assert.ThrowsAny<Exception>(() => Verify.Check(Verify.StateGradient(model), 30));
        output.WriteLine(e.Message);
        Assert.Contains("Falsifiable", e.Message);
        Assert.Contains("wrong-backward-block", e.Message);
    }
}

/// <summary>
/// A network that is not a stack of vectors: 1-channel 4x4 images, one 3x3 convolution to
/// w channels and tanh per hidden width w of the spec, then flatten and a linear readout.
/// </summary>
public static class ConvChain
{
    public static long[] InputShape(NetSpec spec) => [1, 4, 4];

    public static IEnumerable<nn.Module<Tensor, Tensor>> Blocks(NetSpec spec)
    {
        long channels = 1;
        foreach (var w in spec.HiddenWidths)
        {
            yield return nn.Sequential(nn.Conv2d(channels, w, 3, padding: 1), nn.Tanh());
            channels = w;
        }
        yield return nn.Sequential(nn.Flatten(), nn.Linear(channels * 16, spec.Outputs));
    }
}

public class CustomNetworkTests
{
    static readonly ModelUnderTest Conv = Verify.Custom("conv-chain", ConvChain.InputShape, ConvChain.Blocks);

    public static TheoryData<string> Invariants() => [.. Verify.All(Conv).Select(p => p.Key)];

    [Theory]
    [MemberData(nameof(Invariants))]
    public void AConvolutionalChainKeepsEveryInvariant(string name) =>
        Verify.Check(Verify.All(Conv).Single(p => p.Key == name).Value, 10);
}

