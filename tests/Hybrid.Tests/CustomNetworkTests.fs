/// Networks of the user's own TorchSharp modules: random chains of convolutions,
/// user-written residual blocks and linear layers, in float64.
module Hybrid.Tests.CustomNetworkTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 12

/// A block as a user writes it: h + scale * conv(tanh(h)), same shape in and out.
type ResidualConv(channels: int64, scale: float) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("residual-conv")
    let conv = torch.nn.Conv2d(channels, channels, 3L, padding = 1L)
    do this.RegisterComponents()

    override _.forward(h) = Ops.plus h (Ops.mul (conv.forward (torch.tanh h)) scale)

/// A block whose forward runs without autograd: its output has no graph.
type NoGradLinear(inputs: int64, outputs: int64) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("no-grad")
    let linear = torch.nn.Linear(inputs, outputs)
    do this.RegisterComponents()

    override _.forward(h) =
        use _ = torch.no_grad ()
        linear.forward h

/// An in-place activation: tanh written into the block's input.
type InPlaceTanh() =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("in-place-tanh")
    override _.forward(h) = h.tanh_()

/// A user chain read from the kit's spec, so that the kit draws, shrinks and replays it:
/// the input is the spec's image (`NetSpec.Image`: 1 or 2 channels, side 4 or 6); each
/// hidden width w is one block: a 3x3 convolution to w + 1 channels and tanh (w <= 3), a
/// `ResidualConv` (w = 4, 5) or 2x2 average pooling and tanh (w = 6; a residual once the
/// side is 1); then flatten and a linear layer to the outputs. Shrinking narrows pooling
/// to residuals to convolutions of 2 channels.
let private chain: Hybrid.Verification.ModelUnderTest =
    Hybrid.Verification.Model.ofModules "conv-chain" (fun spec -> spec.Image) (fun spec ->
        let mutable channels = spec.Image[0]
        let mutable size = spec.Image[1]
        [ for w in spec.Widths do
              if w <= 3 then
                  let conv = torch.nn.Sequential(torch.nn.Conv2d(channels, int64 (w + 1), 3L, padding = 1L), torch.nn.Tanh())
                  channels <- int64 (w + 1)
                  yield conv :> torch.nn.Module<torch.Tensor, torch.Tensor>
              elif w < 6 || size < 2L then yield new ResidualConv(channels, 0.5)
              else
                  size <- size / 2L
                  yield torch.nn.Sequential(torch.nn.AvgPool2d(2L), torch.nn.Tanh())
          yield torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(channels * size * size, int64 spec.Outputs)) ])

[<Tests>]
let tests =
    testList "CustomNetworks" [
        // Every invariant of the verification kit (one definition each), on user chains.
        for name, property in Hybrid.Verification.Invariants.all chain do
            let full = "user chains (conv, residual, pooling, linear): " + name
            let t = testPropertyWithConfig config full property
            if name.StartsWith "sPC and ePC reach the same equilibrium" then Util.fullOnly full t else t

        test "the built-in VGG-5, VGG-7 and ResNet-18 build for 28x28 and 32x32 images, and forward init gives F = 0" {
            for arch, depth in [ Architecture.Vgg5 Activation.Relu, 5; Architecture.Vgg7 Activation.Relu, 7; Architecture.ResNet18(64, Activation.Relu), 10 ] do
                for shape in [ [| 1L; 28L; 28L |]; [| 3L; 32L; 32L |] ] do
                    Scope.run (fun () ->
                        use net = Network.create arch Loss.CrossEntropy shape 10 Precision.Float32 cpu 1L
                        Expect.equal net.Depth depth (sprintf "%O: blocks" arch)
                        use g = Rng.generator 3L cpu
                        let x = torch.rand(Array.append [| 2L |] shape, generator = g)
                        let labels = torch.tensor([| 1L; 7L |])
                        use st = new InitState(10, 0L)
                        let init = InitApply.apply Init.forward st (context net x labels g) false
                        Expect.equal (Scope.scalar (Energy.spc net init.States None)) 0.0 (sprintf "%O on %A: F = 0" arch shape)
                        for l in 1 .. net.Depth - 1 do
                            Expect.equal init.States[l].shape[1..] (net.StateShape l) (sprintf "%O on %A: shape of state %d" arch shape l)
                        Expect.equal (net.Forward(x).shape) [| 2L; 10L |] "logits")
        }

        test "blocks that write into their input or lose their graph are refused when the network is built" {
            let refused (modules: torch.nn.Module<torch.Tensor, torch.Tensor> list) =
                Util.throws<System.ArgumentException> (fun () -> Network.ofModules "bad" modules Loss.SquaredError [| 3L |] Precision.Float64 cpu |> ignore)
            let e = refused [ torch.nn.Linear(3L, 4L); new InPlaceTanh(); torch.nn.Linear(4L, 2L) ]
            Expect.stringContains e.Message "block 1 (in-place-tanh) wrote into its input in place" "the in-place block is named"
            let e = refused [ new NoGradLinear(3L, 4L); torch.nn.Linear(4L, 2L) ]
            Expect.stringContains e.Message "block 0 (no-grad)'s output has no autograd graph" "the first block, by its parameters"
            let e = refused [ torch.nn.Linear(3L, 4L); new NoGradLinear(4L, 2L) ]
            Expect.stringContains e.Message "block 1 (no-grad)'s output has no autograd graph" "a later block, by its input"
        }

        test "a block that loses its graph after construction is refused by name on every inference path, not ended in libtorch" {
            for second in [ false; true ] do
                for opts in [ { InferenceOptions.spc 3 0.1 with Dense = true }; InferenceOptions.spc 3 0.1; InferenceOptions.epc 3 0.1 ] do
                    Scope.run (fun () ->
                        use net = Network.ofModules "later" [ torch.nn.Linear(3L, 4L); torch.nn.Linear(4L, 2L) ] Loss.SquaredError [| 3L |] Precision.Float64 cpu
                        let block = if second then 1 else 0
                        let inputs, outputs = if second then 4L, 2L else 3L, 4L
                        let replacement = new NoGradLinear(inputs, outputs)
                        replacement.``to``(torch.float64) |> ignore
                        net.Blocks[block] <- { net.Blocks[block] with Module = replacement }
                        use g = Rng.generator 1L cpu
                        let x = torch.randn([| 2L; 3L |], dtype = torch.float64, generator = g)
                        let y = torch.randn([| 2L; 2L |], dtype = torch.float64, generator = g)
                        use st = new InitState(2, 0L)
                        let init = InitApply.apply Init.forward st (InitContext.input net x g) true
                        let e = Util.throws<System.InvalidOperationException> (fun () -> Inference.run net opts init (Some y) None |> ignore)
                        Expect.stringContains e.Message (sprintf "block %d (no-grad)'s output has no autograd graph" block) (sprintf "%A, dense %b: the block is named" opts.Reparam opts.Dense))
        }

        test "a user network saves and loads through checkpoints by parameter name, and bad chains are refused" {
            // A 1-channel 4x4 image, a convolution to 3 channels, a residual block, flatten + linear.
            let spec: Hybrid.Verification.NetSpec =
                { Input = 2; Widths = [ 2; 4 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.CrossEntropy; Seed = 7L; Batch = 2 }
            use net = chain.Build spec
            let names = Checkpoint.networkTensors net |> List.map fst
            Expect.containsAll names [ "block0.0.weight"; "block0.0.bias"; "block1.conv.weight"; "block2.1.weight" ] "names"
            Expect.equal net.Architecture (Architecture.Custom "conv-chain") "architecture"
            let e = Util.throws<System.ArgumentException> (fun () ->
                Network.ofModules "bad" [ torch.nn.Linear(5L, 3L) ] Loss.CrossEntropy [| 4L |] Precision.Float64 cpu |> ignore)
            Expect.stringContains e.Message "block 0" "the block is named"
            let e = Util.throws<System.ArgumentException> (fun () ->
                Network.ofModules "bad" [ torch.nn.Conv2d(1L, 2L, 3L) ] Loss.CrossEntropy [| 1L; 4L; 4L |] Precision.Float64 cpu |> ignore)
            Expect.stringContains e.Message "must output a vector per sample" "the output shape is checked"
        }
    ]
