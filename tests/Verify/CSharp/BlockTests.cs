using Hybrid.Verification;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace VerifyCSharp;

/// <summary>A block as a user writes it: tanh(W h + b), the plain affine map for the output block.</summary>
public sealed class TanhBlock : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _linear;
    readonly bool _last;

    public TanhBlock(BlockSpec spec) : base("tanh-block")
    {
        _linear = nn.Linear(spec.Inputs, spec.Outputs);
        _last = spec.Last;
        RegisterComponents();
    }

    public override Tensor forward(Tensor h) => _last ? _linear.forward(h) : tanh(_linear.forward(h));
}

/// <summary>Dropout left active in training mode: the forward pass is not a function of its input.</summary>
public sealed class DropoutBlock : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _linear;
    readonly bool _last;

    public DropoutBlock(BlockSpec spec) : base("dropout-block")
    {
        _linear = nn.Linear(spec.Inputs, spec.Outputs);
        _last = spec.Last;
        RegisterComponents();
    }

    public override Tensor forward(Tensor h) =>
        _last ? _linear.forward(h) : nn.functional.dropout(tanh(_linear.forward(h)), 0.5, training: true);
}

/// <summary>A hand-written gradient that is wrong: the value is tanh(z), the gradient that of z / 2.</summary>
public sealed class WrongBackwardBlock : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _linear;
    readonly bool _last;

    public WrongBackwardBlock(BlockSpec spec) : base("wrong-backward-block")
    {
        _linear = nn.Linear(spec.Inputs, spec.Outputs);
        _last = spec.Last;
        RegisterComponents();
    }

    public override Tensor forward(Tensor h)
    {
        var z = _linear.forward(h);
        return _last ? z : tanh(z).detach() + (z - z.detach()) * 0.5;
    }
}

public class BlockTests(ITestOutputHelper output)
{
    static readonly Model Tanh = Verify.Blocks("tanh-block", spec => new TanhBlock(spec));

    public static TheoryData<string> Invariants() => [.. Verify.All(Tanh).Select(p => p.Key)];

    [Theory]
    [MemberData(nameof(Invariants))]
    public void TheTanhBlockKeepsEveryInvariant(string name) =>
        Verify.Check(Verify.All(Tanh).Single(p => p.Key == name).Value, 30);

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
