/// What the invariants run on: small networks described by values (printed in a
/// counterexample, shrunk towards fewer and narrower layers), built-in or made of your
/// own blocks, each with one batch, in float64 on the CPU.
namespace Hybrid.Verification

open System
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid

/// A small network to check, as a value.
type NetSpec =
    { /// Input features.
      Input: int
      /// Hidden widths, first to last (at least one hidden layer).
      Widths: int list
      Outputs: int
      Activation: Activation
      Loss: Loss
      /// Seeds the parameters and the batch.
      Seed: int64
      /// Samples in the batch.
      Batch: int }

    /// `Widths` as an array (for C#).
    member this.HiddenWidths: int[] = Array.ofList this.Widths

    /// The spec read as an image input, for convolutional models: `Input` n stands for
    /// [channels; side; side] with 1 + (n - 1) / 3 channels and side 4 (n even) or 6 (n
    /// odd), so that shrinking the input shrinks the image.
    member this.Image: int64[] =
        let side = if this.Input % 2 = 0 then 4L else 6L
        [| int64 (1 + (this.Input - 1) / 3); side; side |]

    override this.ToString() =
        sprintf "%d-[%s]-%d %O %O seed %d batch %d" this.Input (String.Join(",", this.Widths)) this.Outputs this.Activation this.Loss this.Seed this.Batch

/// What a block factory is asked for: block `Index` (0-based) from `Inputs` to `Outputs`
/// features; `Last` for the output block (no activation expected after it).
type BlockSpec =
    { Index: int
      Inputs: int
      Outputs: int
      Last: bool
      Activation: Activation
      Seed: int64 }

/// How to build the network of a spec.
type ModelUnderTest =
    { /// Shown in property names and counterexamples.
      Name: string
      /// The network of a spec, in float64 on the CPU.
      Build: NetSpec -> Network }

/// A network built from a spec, with one batch. Owns the network.
type Case =
    { Spec: NetSpec
      Network: Network
      /// `[Batch; Input]`, N(0, 1).
      Input: torch.Tensor
      /// Class labels in 0..Outputs-1.
      Labels: torch.Tensor
      /// One-hot labels (cross-entropy) or N(0, 1) values (squared error).
      Target: torch.Tensor }

    interface IDisposable with
        member this.Dispose() = (this.Network :> IDisposable).Dispose()

/// Building `ModelUnderTest`s (compiled as `ModelModule`, so that C# code that also imports
/// Hybrid.Facade, whose `Model` is an architecture, sees one `Model`).
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Model =
    /// Hybrid's own MLP (`Architecture.Mlp`) with the spec's widths and activation.
    let mlp: ModelUnderTest =
        { Name = "mlp"
          Build =
            fun s ->
                Network.create (Architecture.Mlp(s.Widths, s.Activation)) s.Loss [| int64 s.Input |] s.Outputs Precision.Float64 torch.CPU s.Seed }

    /// Hybrid's residual MLPs (`Architecture.ResidualMlp`, SPEC.md 1.5) under a
    /// parameterisation (sp, muPC, ntp): one weight layer per hidden layer of the spec plus
    /// the output layer, at least 3 (input, residual, output), all as wide as the spec's
    /// widest hidden layer.
    let residual (parameterisation: Parameterisation) : ModelUnderTest =
        { Name = sprintf "residual-%O" parameterisation
          Build =
            fun s ->
                let arch = Architecture.ResidualMlp(List.max s.Widths, max 3 (s.Widths.Length + 1), s.Activation, parameterisation)
                Network.create arch s.Loss [| int64 s.Input |] s.Outputs Precision.Float64 torch.CPU s.Seed }

    /// Hybrid's convolutional networks (`Architecture.ConvNet`) on the spec's image
    /// (`NetSpec.Image`): each hidden width w is a 3x3 convolution to w channels and the
    /// activation, with (when `maxPool`) a 2x2 max-pool after it when w >= 5 and the side
    /// is still even; then the linear output layer. Max-pooling makes F non-smooth where
    /// a pool's maximum changes hands: `Invariants.spcEpcEquilibrium` needs `maxPool` false.
    let convNet (maxPool: bool) : ModelUnderTest =
        { Name = if maxPool then "convnet-maxpool" else "convnet"
          Build =
            fun s ->
                let image = s.Image
                let mutable side = image[1]
                let convs =
                    [ for w in s.Widths ->
                          let pool = maxPool && w >= 5 && side % 2L = 0L
                          if pool then side <- side / 2L
                          { Channels = w; Pool = pool } ]
                Network.create (Architecture.ConvNet(convs, [], s.Activation)) s.Loss image s.Outputs Precision.Float64 torch.CPU s.Seed }

    /// `model` in another precision: its network is built as usual (float64, parameters
    /// from the spec's seed), then every block moves to `precision`, and so does the
    /// batch (`Case.build`). The invariants that are exact (`forwardInitialisation`,
    /// `keepRecalls`, `initialisationUnchanged`) hold in float32 too; the others state
    /// float64 tolerances.
    let inPrecision (precision: Precision) (model: ModelUnderTest) : ModelUnderTest =
        { Name = sprintf "%s-%O" model.Name precision
          Build =
            fun s ->
                let net = model.Build s
                for b in net.Blocks do b.Module.``to``(precision.ScalarType) |> ignore
                { net with Precision = precision } }

    /// Redraws every parameter from `seed`, N(0, 1/fan_in): module constructors draw from
    /// libtorch's global generator, which concurrent code shares, so a counterexample
    /// would not replay without this.
    let private reseed (seed: int64) (modules: torch.nn.Module<torch.Tensor, torch.Tensor> list) =
        use g = Rng.generator seed torch.CPU
        use _ = torch.no_grad ()
        for m in modules do
            for p in m.parameters () do
                let fanIn = if p.dim () > 1L then p.numel () / p.shape[0] else p.numel ()
                use draw = torch.randn(p.shape, dtype = p.dtype, generator = g)
                use scaled = Ops.div draw (sqrt (float (max 1L fanIn)))
                p.copy_(scaled) |> ignore

    /// Networks you build whole from a spec (any input shape, any blocks): `build` reads
    /// the spec as it likes (it must give a float64 network on the CPU with
    /// `spec.Outputs` outputs); the parameters are then redrawn from the spec's seed,
    /// N(0, 1/fan_in), so that every case replays. The batch's input has the network's
    /// `InputShape`.
    let custom (name: string) (build: Func<NetSpec, Network>) : ModelUnderTest =
        { Name = name
          Build =
            fun s ->
                let net = build.Invoke s
                reseed s.Seed [ for b in net.Blocks -> b.Module ]
                net }

    /// Networks of your own modules: `modules` gives the blocks a spec stands for (the
    /// last one's output has `spec.Outputs` values) on inputs of per-sample shape
    /// `inputShape spec`; built with `Network.ofModules` in float64 on the CPU, then
    /// redrawn from the spec's seed (`custom`).
    let ofModules (name: string) (inputShape: NetSpec -> int64[]) (modules: NetSpec -> torch.nn.Module<torch.Tensor, torch.Tensor> list) : ModelUnderTest =
        custom name (Func<_, _>(fun s -> Network.ofModules name (modules s) s.Loss (inputShape s) Precision.Float64 torch.CPU))

    /// Networks made of your own blocks: `factory` builds each block for the spec's
    /// widths (every block, the output block included); the parameters are then redrawn
    /// from the spec's seed, N(0, 1/fan_in), so that every case replays.
    let ofBlocks (name: string) (factory: Func<BlockSpec, torch.nn.Module<torch.Tensor, torch.Tensor>>) : ModelUnderTest =
        ofModules name (fun s -> [| int64 s.Input |]) (fun s ->
            let sizes = s.Input :: s.Widths @ [ s.Outputs ]
            sizes
            |> List.pairwise
            |> List.mapi (fun i (a, b) ->
                factory.Invoke
                    { Index = i; Inputs = a; Outputs = b; Last = i = sizes.Length - 2; Activation = s.Activation; Seed = Rng.derive s.Seed (sprintf "block%d" i) }))

module Case =
    /// The spec's batch for inputs of shape `inputShape` (one sample), drawn from the
    /// spec's seed: inputs N(0, 1), labels in 0..Outputs-1, and the target (one-hot labels
    /// for cross-entropy, N(0, 1) values for squared error), in float64.
    let batch (spec: NetSpec) (inputShape: int64[]) : torch.Tensor * torch.Tensor * torch.Tensor =
        use g = Rng.generator (Rng.derive spec.Seed "batch") torch.CPU
        let x = torch.randn(Array.append [| int64 spec.Batch |] inputShape, dtype = torch.float64, generator = g)
        let labels = torch.randint(int64 spec.Outputs, [| int64 spec.Batch |], generator = g)
        let y =
            match spec.Loss with
            | Loss.CrossEntropy -> torch.nn.functional.one_hot(labels, int64 spec.Outputs).to_type(torch.float64)
            | Loss.SquaredError -> torch.randn([| int64 spec.Batch; int64 spec.Outputs |], dtype = torch.float64, generator = g)
        x, labels, y

    /// Builds the spec's network and draws its batch from the spec's seed.
    let build (model: ModelUnderTest) (spec: NetSpec) : Case =
        let net = model.Build spec
        let x, labels, y = batch spec net.InputShape
        let dtype = net.Precision.ScalarType
        { Spec = spec; Network = net; Input = x.to_type(dtype); Labels = labels; Target = y.to_type(dtype) }

/// Generators and shrinkers of the domain.
module Generate =
    /// A non-negative seed.
    let seed: Gen<int64> = Gen.choose (0, 1_000_000) |> Gen.map int64

    /// Every activation.
    let activation: Gen<Activation> = Gen.elements Activation.All

    /// Both precisions.
    let precision: Gen<Precision> = Gen.elements [ Precision.Float32; Precision.Float64 ]

    /// Both output losses.
    let loss: Gen<Loss> = Gen.elements [ Loss.SquaredError; Loss.CrossEntropy ]

    /// Small networks: input 1..6, 1..4 hidden layers of width 1..6, 1..4 outputs, every
    /// activation, both losses, batch 1..5.
    let netSpec: Gen<NetSpec> =
        gen {
            let! input = Gen.choose (1, 6)
            let! hidden = Gen.choose (1, 4)
            let! widths = Gen.listOfLength hidden (Gen.choose (1, 6))
            let! outputs = Gen.choose (1, 4)
            let! act = activation
            let! l = loss
            let! s = seed
            let! batch = Gen.choose (1, 5)
            return { Input = input; Widths = widths; Outputs = outputs; Activation = act; Loss = l; Seed = s; Batch = batch }
        }

    /// Smaller specs first: fewer hidden layers, then narrower ones, then smaller input,
    /// outputs and batch, then the identity activation and squared error (the simplest
    /// network that still fails is what a counterexample shows).
    let shrink (s: NetSpec) : seq<NetSpec> =
        seq {
            if s.Widths.Length > 1 then
                for i in 0 .. s.Widths.Length - 1 do
                    yield { s with Widths = List.removeAt i s.Widths }
            for i in 0 .. s.Widths.Length - 1 do
                if s.Widths[i] > 1 then yield { s with Widths = List.updateAt i (s.Widths[i] - 1) s.Widths }
            if s.Input > 1 then yield { s with Input = s.Input - 1 }
            if s.Outputs > 1 then yield { s with Outputs = s.Outputs - 1 }
            if s.Batch > 1 then yield { s with Batch = s.Batch - 1 }
            if s.Activation <> Activation.Identity then yield { s with Activation = Activation.Identity }
            if s.Loss <> Loss.SquaredError then yield { s with Loss = Loss.SquaredError }
        }

    /// Arbitrary small networks with shrinking.
    let netSpecs: Arbitrary<NetSpec> = Arb.fromGenShrink (netSpec, shrink)

    /// Arbitrary small networks passed through `f` (a fixed activation or loss, say), with
    /// the shrinks passed through it too and those that `f` maps back onto the spec dropped.
    let netSpecsWith (f: NetSpec -> NetSpec) : Arbitrary<NetSpec> =
        Arb.fromGenShrink (Gen.map f netSpec, fun s -> shrink s |> Seq.map f |> Seq.filter (fun t -> t <> s) |> Seq.distinct)

    /// Initializers for a network with `hidden` hidden layers: every kind alone (a memory
    /// of 4 slots and embedding 4), and, with two or more hidden layers, forward below or
    /// above a split with zero, avg, N(0, 1) or a memory.
    let initializer (hidden: int) : Gen<Initializer> =
        let memory = Init.memory { MemorySpec.Default with Slots = 4; Embedding = 4 }
        let single = [ Init.forward; Init.zero; Init.random 0.0 1.0; Init.keep; Init.streamAverage; memory ]
        if hidden < 2 then Gen.elements single
        else
            gen {
                let! m = Gen.choose (1, hidden - 1)
                let! other = Gen.elements [ Init.zero; Init.streamAverage; Init.random 0.0 1.0; memory ]
                return! Gen.elements (Init.split m Init.forward other :: Init.split m other Init.forward :: single)
            }
