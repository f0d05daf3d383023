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

/// What a generated chain is made of.
type Piece =
    | Conv of channels: int
    | Residual
    | Pool

/// A random user chain: image inputs, pieces, then flatten and one or two linear layers.
type Chain =
    { Channels: int
      Size: int
      Pieces: Piece list
      Hidden: int option
      Outputs: int
      Loss: Loss
      Batch: int
      Seed: int64 }

let private chain =
    gen {
        let! channels = Gen.choose (1, 2)
        let! size = Gen.elements [ 4; 6 ]
        let! n = Gen.choose (1, 3)
        let! pieces = Gen.listOfLength n (Gen.frequency [ 3, Gen.choose (2, 4) |> Gen.map Conv; 2, Gen.constant Residual; 1, Gen.constant Pool ])
        let! hidden = Gen.elements [ None; Some 5 ]
        let! outputs = Gen.choose (2, 4)
        let! loss = Gen.elements [ Loss.CrossEntropy; Loss.SquaredError ]
        let! batch = Gen.choose (1, 3)
        let! seed = Gen.choose (0, 10000)
        return { Channels = channels; Size = size; Pieces = pieces; Hidden = hidden; Outputs = outputs; Loss = loss; Batch = batch; Seed = int64 seed }
    }

/// Redraws every parameter from the chain's seed (N(0, 1/fan_in)): module constructors
/// draw from libtorch's global generator, which tests running in parallel share.
let private reseed (seed: int64) (modules: torch.nn.Module<torch.Tensor, torch.Tensor> list) =
    use g = Rng.generator seed cpu
    use _ = torch.no_grad ()
    for m in modules do
        for p in m.parameters () do
            let fanIn = if p.dim () > 1L then p.numel () / p.shape[0] else p.numel ()
            p.copy_(Ops.div (torch.randn(p.shape, dtype = torch.float64, generator = g)) (sqrt (float fanIn))) |> ignore

/// The chain's modules: each piece is one block; flatten + linear (+ tanh) is one more.
let private modules (c: Chain) =
    let mutable channels = int64 c.Channels
    let mutable size = int64 c.Size
    let blocks =
        [ for p in c.Pieces do
              match p with
              | Conv k ->
                  let conv = torch.nn.Sequential(torch.nn.Conv2d(channels, int64 k, 3L, padding = 1L), torch.nn.Tanh())
                  channels <- int64 k
                  yield conv :> torch.nn.Module<torch.Tensor, torch.Tensor>
              | Residual -> yield new ResidualConv(channels, 0.5)
              | Pool when size >= 2L ->
                  size <- size / 2L
                  yield torch.nn.Sequential(torch.nn.AvgPool2d(2L), torch.nn.Tanh())
              | Pool -> ()
          let flat = channels * size * size
          match c.Hidden with
          | Some h ->
              yield torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(flat, int64 h), torch.nn.Tanh())
              yield torch.nn.Linear(int64 h, int64 c.Outputs)
          | None -> yield torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(flat, int64 c.Outputs)) ]
    reseed c.Seed blocks
    blocks

let private build (c: Chain) =
    Network.ofModules "chain" (modules c) c.Loss [| int64 c.Channels; int64 c.Size; int64 c.Size |] Precision.Float64 cpu

let private batchOf (c: Chain) =
    use g = Rng.generator (Rng.derive c.Seed "batch") cpu
    let x = torch.randn([| int64 c.Batch; int64 c.Channels; int64 c.Size; int64 c.Size |], dtype = torch.float64, generator = g)
    let labels = torch.randint(int64 c.Outputs, [| int64 c.Batch |], generator = g)
    let y =
        match c.Loss with
        | Loss.CrossEntropy -> torch.nn.functional.one_hot(labels, int64 c.Outputs).to_type(torch.float64)
        | Loss.SquaredError -> torch.randn([| int64 c.Batch; int64 c.Outputs |], dtype = torch.float64, generator = g)
    x, labels, y

let private converge (net: Network) (x: torch.Tensor) (labels: torch.Tensor) (y: torch.Tensor) (opts: InferenceOptions) =
    use g = Rng.generator 0L cpu
    use st = new InitState(net.Outputs, 0L)
    let init = InitApply.apply Init.forward st (context net x labels g) true
    Inference.run net opts init (Some y) None

[<Tests>]
let tests =
    testList "CustomNetworks" [
        testPropertyWithConfig config "user chains (conv, residual, pooling, linear): forward init gives F = 0 free and F = the BP loss clamped"
        <| Prop.forAll (Arb.fromGen chain) (fun c ->
            Scope.run (fun () ->
                use net = build c
                let x, labels, y = batchOf c
                use g = Rng.generator c.Seed cpu
                use st = new InitState(c.Outputs, 0L)
                let init = InitApply.apply Init.forward st (context net x labels g) false
                let free = Scope.scalar (Energy.spc net init.States None)
                let clamped = Scope.scalar (Energy.spc net init.States (Some y))
                let bp = Scope.scalar (Energy.forwardLoss net x y)
                // The states are the forward pass itself: every hidden error is an exact zero.
                free = 0.0 && clamped = bp && net.Depth = (net.Blocks.Length)))

        testPropertyWithConfig config "user chains: from the same start, sPC and ePC reach the same equilibrium with the same weight gradients"
        <| Prop.forAll (Arb.fromGen chain) (fun c ->
            Scope.run (fun () ->
                use net = build c
                // Small weights: the energy is strongly convex around the forward pass, so
                // both descents must find the one equilibrium there.
                do
                    use _ = torch.no_grad ()
                    use half = (0.5).ToScalar()
                    for p in net.Parameters do p.mul_(half) |> ignore
                let x, labels, y = batchOf c
                let opts r = { InferenceOptions.spc 1500 0.2 with Momentum = 0.8; Reparam = r; DivergenceFactor = infinity }
                let grads (r: InferenceResult) =
                    Learning.weightGradients net r.States r.Predictions (Some y) |> ignore
                    Learning.gradients net
                let s = converge net x labels y (opts Reparam.States)
                let e = converge net x labels y (opts Reparam.Errors)
                let gs, ge = grads s, grads e
                Equilibrium.distance s.States e.States < 1e-9 && Array.forall2 (fun a b -> close 1e-5 1e-8 a b) gs ge))

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

        test "a user network saves and loads through checkpoints by parameter name, and bad chains are refused" {
            let c = { Channels = 1; Size = 4; Pieces = [ Conv 3; Residual ]; Hidden = Some 5; Outputs = 3; Loss = Loss.CrossEntropy; Batch = 2; Seed = 7L }
            use net = build c
            let names = Checkpoint.networkTensors net |> List.map fst
            Expect.containsAll names [ "block0.0.weight"; "block0.0.bias"; "block1.conv.weight"; "block2.1.weight"; "block3.weight" ] "names"
            Expect.equal net.Architecture (Architecture.Custom "chain") "architecture"
            let e = Util.throws<System.ArgumentException> (fun () ->
                Network.ofModules "bad" [ torch.nn.Linear(5L, 3L) ] Loss.CrossEntropy [| 4L |] Precision.Float64 cpu |> ignore)
            Expect.stringContains e.Message "block 0" "the block is named"
            let e = Util.throws<System.ArgumentException> (fun () ->
                Network.ofModules "bad" [ torch.nn.Conv2d(1L, 2L, 3L) ] Loss.CrossEntropy [| 1L; 4L; 4L |] Precision.Float64 cpu |> ignore)
            Expect.stringContains e.Message "must output a vector per sample" "the output shape is checked"
        }
    ]
