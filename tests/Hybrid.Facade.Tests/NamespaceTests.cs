// An application's file outside Hybrid's namespaces that imports the facade, the verification kit and TorchSharp together:
// it compiles only while their public names do not collide (CS0104) beyond the documented Device alias.
using Hybrid.Facade;
using Hybrid.Verification;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using Device = Hybrid.Facade.Device;

namespace Consumers.Namespaces;

public class NamespaceTests
{
    [Fact]
    public void The_facade_and_the_verification_kit_import_together()
    {
        Model model = Model.Mlp([8], Activation.Tanh);
        Assert.Equal(ModelKind.Mlp, model.Kind);
        ModelUnderTest checkedModel = Verify.Mlp;
        Assert.Equal("mlp", checkedModel.Name);
        using var net = Network.FromModules("both", [nn.Linear(4, 2)], [4], device: Device.Cpu);
        Assert.Equal(2, net.Outputs);
    }
}
