module Hybrid.Tests.MemoryTests

open System
open System.IO
open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 30

[<Tests>]
let memory =
    testList "Memory" [
        testPropertyWithConfig config "one slot per stored state: recall returns that state at high delta"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (1, 8)) Generators.seed)) (fun (n, seed) ->
            Scope.run (fun () ->
                let spec = { MemorySpec.Default with Slots = n; Delta = 1e4; Embedding = 128 }
                use m = new HopfieldMemory(32, 5, spec, torch.float64, cpu, seed)
                // Orthogonal observations: each embedded key is most similar to itself,
                // by a margin of about ten standard deviations at embedding size 128.
                let o = Ops.mul (torch.eye(int64 n, 32L, dtype = torch.float64)) 3.0
                use g = Rng.generator seed cpu
                let states = torch.randn([| int64 n; 5L |], dtype = torch.float64, generator = g)
                m.Store(o, states)
                relErr (m.Recall o) states < 1e-9))

        // The verification kit's invariant (one definition).
        testPropertyWithConfig config "the pseudo-inverse start reproduces the forward initialisation on the first batch"
            (Hybrid.Verification.Invariants.memoryStart Hybrid.Verification.Model.mlp)

        testPropertyWithConfig config "a multi-head recall is the sum of single-head recalls over the heads' slices"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.choose (1, 4)) (Gen.choose (1, 6)) Generators.seed)) (fun (heads, slots, seed) ->
            Scope.run (fun () ->
                let e = 3 * heads
                let spec = { MemorySpec.Default with Slots = slots; Delta = 2.0; Embedding = e; Heads = heads }
                use m = new HopfieldMemory(7, 5, spec, torch.float64, cpu, seed)
                use g = Rng.generator seed cpu
                let q, b, k, v = match m.Parameters with [ q; b; k; v ] -> q, b, k, v | _ -> failwith "four parameters"
                using (torch.no_grad ()) (fun _ ->
                    b.copy_(torch.randn([| int64 e |], dtype = torch.float64, generator = g)) |> ignore
                    v.copy_(torch.randn(v.shape, dtype = torch.float64, generator = g)) |> ignore)
                let o = torch.randn([| 9L; 7L |], dtype = torch.float64, generator = g)
                let attention = m.Attention o
                // Every head's weights are a distribution over its slots.
                let rowsOk = relErr (attention.reshape(9L, int64 heads, int64 slots).sum(2L)) (torch.ones([| 9L; int64 heads |], dtype = torch.float64)) < 1e-12
                let single = { spec with Embedding = 3; Heads = 1 }
                let mutable sum = torch.zeros([| 9L; 5L |], dtype = torch.float64)
                for h in 0 .. heads - 1 do
                    use one = new HopfieldMemory(7, 5, single, torch.float64, cpu, 0L)
                    let q1, b1, k1, v1 = match one.Parameters with [ q; b; k; v ] -> q, b, k, v | _ -> failwith "four parameters"
                    using (torch.no_grad ()) (fun _ ->
                        q1.copy_(q.narrow(1L, int64 (3 * h), 3L)) |> ignore
                        b1.copy_(b.narrow(0L, int64 (3 * h), 3L)) |> ignore
                        k1.copy_(k.narrow(1L, int64 (3 * h), 3L)) |> ignore
                        v1.copy_(v.narrow(0L, int64 (slots * h), int64 slots)) |> ignore)
                    sum <- sum + one.Recall o
                rowsOk && relErr (m.Recall o) sum < 1e-12))

        test "a multi-head pseudo-inverse start reproduces the forward initialisation" {
            Scope.run (fun () ->
                let mm: Generators.SmallMlp = { Input = 6; Widths = [ 8; 8 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.CrossEntropy; Seed = 3L; Batch = 12 }
                use net = network mm
                let x, labels, _ = batch mm
                use g = Rng.generator 1L cpu
                use st = new InitState(3, 0L)
                let ctx = context net x labels g
                // a p = 4 x 4 = 16 >= 12 samples: [A_1 .. A_4] has full row rank.
                let mem = Init.memory { MemorySpec.Default with Slots = 4; Delta = 1.0; Embedding = 16; Heads = 4 }
                let recalled = InitApply.apply mem st ctx false
                let fw = InitApply.apply Init.forward st ctx false
                Expect.isLessThan (relErr recalled.States[1] fw.States[1]) 1e-8 "layer 1"
                Expect.isLessThan (relErr recalled.States[2] fw.States[2]) 1e-8 "layer 2")
        }

        test "a latent memory with forward layers above learns through them, leaving the network alone" {
            Scope.run (fun () ->
                // Generative: latent 3 -> 6 -> 6 -> 5 pixels; one inference step moves only
                // the top hidden layer, so the latent's own target is its recall and the
                // memory can only learn through the forward layers above it (Eq. 9 over
                // every layer it initialises).
                use g = Rng.generator 7L cpu
                use net = Network.create (Architecture.Mlp([ 6; 6 ], Activation.Tanh)) Loss.SquaredError [| 3L |] 5 Precision.Float64 cpu 4L
                let images = torch.rand([| 20L; 5L |], dtype = torch.float64, generator = g)
                let init = InitText.parse "mem(slots=6,delta=1,dim=8,heads=2,lr=0.01)[0..0] + forward[1..]"
                use st = new InitState(0, 0L)
                let ctx = InitContext.generative net images g
                let start = InitApply.apply init st ctx true
                let h0 = start.States |> Array.map (fun t -> t.detach().clone())
                let r = Inference.run net { InferenceOptions.spc 1 0.5 with InputFree = true } start (Some images) None
                let targets = r.States |> Array.map (fun t -> t.detach().clone())
                Expect.isTrue (same targets[0] h0[0]) "one step leaves the latent where the memory put it"
                Expect.isGreaterThan ((targets[2] - h0[2]).abs().max().item<float>()) 1e-3 "the top hidden layer moved"
                // Eq. 9 over every layer the memory initialises, as InitApply computes h^(0).
                let distance () =
                    let h = (InitApply.apply init st ctx false).States
                    Array.map2 (fun (a: torch.Tensor) (b: torch.Tensor) -> (a - b).square().sum().item<float>()) h targets |> Array.sum
                let m = st.Memories[0]
                let checkedParams = [ m.Parameters[0]; m.Parameters[2]; m.Parameters[3] ] // Q, K, V
                // Central differences of the distance / n, before the memory's step.
                let eps = 1e-6
                let numeric =
                    [ for p in checkedParams ->
                          let flat = p.detach().view(-1L)
                          Array.init (int flat.shape[0]) (fun i ->
                              let x0 = flat[int64 i].item<float>()
                              using (torch.no_grad ()) (fun _ -> flat[int64 i] <- torch.tensor(x0 + eps, dtype = torch.float64))
                              let up = distance ()
                              using (torch.no_grad ()) (fun _ -> flat[int64 i] <- torch.tensor(x0 - eps, dtype = torch.float64))
                              let down = distance ()
                              using (torch.no_grad ()) (fun _ -> flat[int64 i] <- torch.tensor(x0, dtype = torch.float64))
                              (up - down) / (2.0 * eps) / 20.0) ]
                let before = net.Parameters |> List.map (fun p -> p.detach().clone())
                st.Record(net, init, targets, None, ctx.Observation)
                // The memory's optimiser leaves the gradient of its step on the parameters.
                for p, fd in List.zip checkedParams numeric do
                    let analytic = p.grad.reshape(-1L)
                    Expect.isLessThan (relErr analytic (torch.tensor(fd, dtype = torch.float64))) 1e-6 "memory gradient = d(sum over layers of ||h^(0) - h^(T)||^2 / n)"
                Expect.isGreaterThan (m.Parameters[3].grad.abs().max().item<float>()) 1e-6 "a non-zero gradient although the latent's own target is its recall"
                for a, b in List.zip before net.Parameters do
                    Expect.isTrue (same a b) "network parameters untouched"
                    Expect.isTrue (isNull b.grad || b.grad.abs().max().item<float>() = 0.0) "no gradient left on the network")
        }

        test "memories learn towards the inferred states" {
            Scope.run (fun () ->
                let spec = { MemorySpec.Default with Slots = 8; Delta = 1.0; LearningRate = 1e-2 }
                use m = new HopfieldMemory(10, 4, spec, torch.float64, cpu, 3L)
                use g = Rng.generator 4L cpu
                let o = torch.randn([| 16L; 10L |], dtype = torch.float64, generator = g)
                let target = torch.randn([| 16L; 4L |], dtype = torch.float64, generator = g)
                let first = Memory.learn m o [] [ target ]
                let mutable last = first
                for _ in 1 .. 200 do last <- Memory.learn m o [] [ target ]
                Expect.isLessThan last (0.5 * first) "loss halves")
        }

        test "bad memory settings and observations are named" {
            let cases =
                [ "mem(slots=0)", "at least 1 slot"
                  "mem(delta=0)", "delta must be positive"
                  "mem(heads=0)", "at least 1 head"
                  "mem(dim=128,heads=3)", "does not split evenly among 3 heads"
                  "mem(width=2)", "unknown memory setting 'width'" ]
            for text, fragment in cases do
                let e = Util.throws<ConfigError> (fun () -> InitText.parse text |> ignore)
                Expect.stringContains e.Message fragment text
            use m = new HopfieldMemory(10, 4, MemorySpec.Default, torch.float64, cpu, 0L)
            let e = Util.throws<ArgumentException> (fun () -> m.Recall(torch.zeros([| 2L; 9L |], dtype = torch.float64)) |> ignore)
            Expect.stringContains e.Message "does not match the memory's observation size 10" "observation size"
            use multi = new HopfieldMemory(10, 4, { MemorySpec.Default with Heads = 4 }, torch.float64, cpu, 0L)
            let e = Util.throws<ArgumentException> (fun () -> multi.Store(torch.zeros([| 2L; 10L |], dtype = torch.float64), torch.zeros([| 2L; 4L |], dtype = torch.float64)))
            Expect.stringContains e.Message "single-headed memory" "store"
        }

        test "a memory is drawn from the run's seed: the same seed gives the same memory, another seed another one" {
            Scope.run (fun () ->
                let memory (seed: int64) (layer: int) =
                    use st = new InitState(3, seed)
                    let m = st.MemoryFor(layer, MemorySpec.Default, 10, 4, torch.float64, cpu)
                    m.Parameters |> List.map (fun p -> p.detach().clone())
                let same (a: torch.Tensor list) (b: torch.Tensor list) = List.forall2 (fun (x: torch.Tensor) y -> Fixtures.same x y) a b
                Expect.isTrue (same (memory 1L 2) (memory 1L 2)) "same seed, same layer"
                Expect.isFalse (same (memory 1L 2) (memory 2L 2)) "another run seed"
                Expect.isFalse (same (memory 1L 2) (memory 1L 3)) "another layer")
        }

        test "memory initializers print and parse back" {
            let i = InitText.parse "forward[1..2] + mem(slots=24,delta=200,dim=64,lr=0.01)[3..]"
            Expect.equal (InitText.parse (string i)) i "round trip"
            Expect.equal (i.KindAt 3) (InitKind.Memory { Slots = 24; Delta = 200.0; Embedding = 64; Heads = 1; LearningRate = 0.01 }) "settings"
            let h = InitText.parse "mem(slots=24,delta=200,dim=128,heads=16,lr=0.001)[0..0] + forward[1..]"
            Expect.equal (string h) "mem(slots=24,delta=200,dim=128,heads=16,lr=0.001)[0..0] + forward[1..]" "heads print"
            Expect.equal (InitText.parse (string h)) h "heads round trip"
            let g = InitText.parse "mem(24,200)[0..0] + forward[1..]"
            Expect.equal g.Start 0 "a generative initializer starts at the latent"
            Expect.equal (InitText.parse (string g)) g "latent round trip"
        }
    ]

[<Tests>]
let checkpoints =
    testList "Checkpoint" [
        test "a model with memories round-trips exactly, and bad files are refused" {
            Scope.run (fun () ->
                let mm: Generators.SmallMlp = { Input = 6; Widths = [ 8; 8 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.CrossEntropy; Seed = 2L; Batch = 12 }
                use net = network mm
                let x, labels, y = batch mm
                use g = Rng.generator 1L cpu
                use st = new InitState(3, 0L)
                let init = InitText.parse "forward[1..1] + mem(slots=8,dim=16,heads=4)[2..]"
                let ctx = context net x labels g
                let r = Inference.run net (InferenceOptions.spc 3 0.1) (InitApply.apply init st ctx true) (Some y) None
                st.Record(net, init, r.States, Some labels, ctx.Observation)
                let dir = Directory.CreateTempSubdirectory("hybrid-ck-").FullName
                let path = Path.Combine(dir, "model.ck")
                Checkpoint.saveModel path net st (Text.Json.Nodes.JsonObject())
                use net2 = Network.create net.Architecture net.Loss net.InputShape net.Outputs net.Precision cpu 99L
                use st2 = new InitState(3, 0L)
                Checkpoint.loadModel path net2 st2 |> ignore
                for a, b in List.zip net.Parameters net2.Parameters do
                    Expect.isTrue (same a b) "parameters bitwise equal"
                for KeyValue(l, m) in st.Memories do
                    for a, b in List.zip m.Parameters st2.Memories[l].Parameters do
                        Expect.isTrue (same a b) (sprintf "memory %d bitwise equal" l)
                Expect.isTrue (same ((InitApply.apply init st ctx false).States[2]) ((InitApply.apply init st2 ctx false).States[2])) "same recall"
                // A corrupt byte is caught by the checksum.
                let bytes = File.ReadAllBytes path
                let bad = Path.Combine(dir, "bad.ck")
                bytes[bytes.Length / 2] <- bytes[bytes.Length / 2] ^^^ 0xFFuy
                File.WriteAllBytes(bad, bytes)
                let e = Util.throws<Checkpoint.CheckpointError> (fun () -> Checkpoint.loadModel bad net2 st2 |> ignore)
                Expect.stringContains e.Message "checksum" "corrupt"
                File.WriteAllBytes(bad, Array.sub (File.ReadAllBytes path) 0 100)
                let e = Util.throws<Checkpoint.CheckpointError> (fun () -> Checkpoint.loadModel bad net2 st2 |> ignore)
                Expect.stringContains e.Message "checksum" "truncated"
                // Another architecture is named.
                use other = Network.create (Architecture.Mlp([ 8; 9 ], Activation.Tanh)) net.Loss net.InputShape net.Outputs net.Precision cpu 1L
                let e = Util.throws<Checkpoint.CheckpointError> (fun () -> Checkpoint.loadModel path other (new InitState(3, 0L)) |> ignore)
                Expect.stringContains e.Message "holds a 'mlp[8,8] tanh' network" "architecture")
        }

        test "a failed write leaves the previous checkpoint intact" {
            Scope.run (fun () ->
                let dir = Directory.CreateTempSubdirectory("hybrid-ck-").FullName
                let path = Path.Combine(dir, "state.ck")
                let good: Checkpoint.Contents = { Meta = Text.Json.Nodes.JsonObject(); Tensors = Map.ofList [ "a", torch.ones(3L) ] }
                Checkpoint.save path good
                let before = File.ReadAllBytes path
                // int32 tensors are not storable: the write fails while serialising.
                let bad = { good with Tensors = Map.ofList [ "a", torch.ones(3L); "b", torch.ones([| 2L |], dtype = torch.int32) ] }
                Util.throws<ArgumentException> (fun () -> Checkpoint.save path bad) |> ignore
                Expect.sequenceEqual (File.ReadAllBytes path) before "untouched"
                let c = Checkpoint.load path
                Expect.isTrue (same c.Tensors["a"] (torch.ones(3L))) "still readable")
        }
    ]

[<Tests>]
let generative =
    testList "Generative" [
        test "a generative PCN learns to reconstruct, and bad settings are refused" {
            Scope.run (fun () ->
                // 8-pixel "images": two prototypes plus noise.
                use g = Rng.generator 5L cpu
                let protos = torch.tensor([| 1.0f; 1.0f; 1.0f; 1.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 1.0f; 1.0f |]).reshape(2L, 8L)
                let pick = torch.randint(2L, [| 400L |], generator = g)
                let imgs = (protos.index_select(0L, pick) + Ops.mul (torch.randn([| 400L; 8L |], generator = g)) 0.05).DetachFromDisposeScope()
                let cfg =
                    { Generative.defaults with
                        Latent = 2; Widths = [ 16 ]; Epochs = 4; BatchSize = 20; TrainSteps = 10; EvalSteps = 10
                        Optimizer = OptimizerSpec.AdamW(1e-2, 0.0); Device = DeviceChoice.Cpu; Init = InitText.parse "mem(slots=4,delta=1)[0..0] + forward[1..]" }
                let r = Generative.train cfg (imgs.narrow(0L, 0L, 300L)) (imgs.narrow(0L, 300L, 100L)) ignore ignore CancellationToken.None
                Expect.equal r.Status RunStatus.Completed "completed"
                let mses = r.Epochs |> List.map (fun e -> e.TestMse)
                // The images have variance ~0.25 per pixel; a trained decoder must do far better.
                Expect.isLessThan (List.last mses) 0.05 (sprintf "reconstruction MSE per epoch %A" mses)
                for init, fragment in [ Init.forward, "latent layer h_0"; Init.streamAverage, "needs labels" ] do
                    let e = Util.throws<ArgumentException> (fun () -> { cfg with Init = init }.Validate())
                    Expect.stringContains e.Message fragment (string init))
        }
    
        test "a generative session resumed from its checkpoint gives the same epochs as an uninterrupted one" {
            Scope.run (fun () ->
                use g = Rng.generator 6L cpu
                let imgs = torch.rand([| 120L; 8L |], generator = g).DetachFromDisposeScope()
                let train, test = imgs.narrow(0L, 0L, 100L), imgs.narrow(0L, 100L, 20L)
                for init in [ "keep"; "mem(slots=4,delta=1,lr=0.01)[0..0] + forward[1..]" ] do
                    let cfg =
                        { Generative.defaults with
                            Latent = 3; Widths = [ 6 ]; Epochs = 3; BatchSize = 20; TrainSteps = 4; EvalSteps = 4
                            Optimizer = OptimizerSpec.AdamW(1e-2, 0.0); Device = DeviceChoice.Cpu; Init = InitText.parse init }
                    let whole = Generative.train cfg train test ignore ignore CancellationToken.None
                    let path = Path.Combine(Directory.CreateTempSubdirectory("hybrid-gen-").FullName, "gen.ck")
                    do
                        use s = Generative.GenerativeSession.Start(cfg, train, test)
                        for _ in 1 .. 7 do s.Step() |> ignore
                        s.Save path
                    use resumed = Generative.GenerativeSession.Restore(path, train, test)
                    Expect.equal resumed.Position (2, 2) "position restored"
                    resumed.Run(ignore, ignore, CancellationToken.None)
                    let numbers (es: Generative.GenEpoch list) = es |> List.map (fun e -> e.Epoch, e.TrainEnergy, e.TestMse)
                    Expect.equal (numbers (resumed.Result 0).Epochs) (numbers whole.Epochs) (sprintf "%s: same epochs" init)
                    let e = Util.throws<Checkpoint.CheckpointError> (fun () -> TrainingSession.Restore(path, Unchecked.defaultof<RunData>) |> ignore)
                    Expect.stringContains e.Message "not a training-session checkpoint" "kinds are told apart")
        }
    ]
