module Hybrid.Tests.TrainingTests

open System
open System.Threading
open Expecto
open TorchSharp
open Hybrid
open Hybrid.Data
open Hybrid.Tests.Fixtures

let private data () = separableData 400 200

let private small =
    { Config.defaults with
        Name = "test"
        Architecture = Architecture.Mlp([ 16; 16 ], Activation.Tanh)
        Epochs = 3
        BatchSize = 20
        Batching = Batching.StreamAligned
        Optimizer = OptimizerSpec.AdamW(3e-3, 0.0)
        Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 4 0.1; Init = InitText.parse "forward[1..1] + avg[2..]" }
        Device = DeviceChoice.Cpu }

let private run cfg =
    use d = data ()
    Train.runOn cfg d ignore ignore CancellationToken.None

[<Tests>]
let tests =
    testList "Training" [
        test "BP, PC-fw, PC-avg and ePC learn a separable problem" {
            for name, algorithm, batching in
                [ "bp", Algorithm.Backprop, Batching.Random
                  "pc-fw", Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 4 0.1; Init = Init.forward }, Batching.Random
                  "pc-avg", small.Algorithm, Batching.StreamAligned
                  "epc", Algorithm.PredictiveCoding { Inference = InferenceOptions.epc 4 0.1; Init = Init.forward }, Batching.Random ] do
                let r = run { small with Name = name; Algorithm = algorithm; Batching = batching }
                Expect.equal r.Status RunStatus.Completed name
                Expect.equal r.Epochs.Length 3 "three epochs"
                // Chance is 25%; the classes are 4 standard deviations apart.
                Expect.isGreaterThan r.FinalAccuracy.Value 90.0 (sprintf "%s learns" name)
                Expect.isTrue (r.Epochs |> List.pairwise |> List.forall (fun (a, b) -> b.Smm > a.Smm && b.Seconds >= a.Seconds)) "SMM and time accumulate"
        }

        test "a run is reproducible from its seed" {
            let a = run small
            let b = run small
            Expect.equal (a.Epochs |> List.map (fun e -> e.TestAccuracy, e.TrainEnergy)) (b.Epochs |> List.map (fun e -> e.TestAccuracy, e.TrainEnergy)) "same numbers"
        }

        test "SMM per update follows the accounting" {
            let r = run { small with Epochs = 1 }
            // 400 samples / 20 = 20 updates; L = 3, T = 4, forward for layer 1 only: 2T + 1 = 9.
            Expect.equal r.Smm (20L * 9L) "PC-avg hybrid"
            let bp = run { small with Epochs = 1; Algorithm = Algorithm.Backprop }
            Expect.equal bp.Smm (20L * 5L) "BP: 2L - 1"
        }

        test "a diverging run stops, names layer, step and batch, and reports no result" {
            let cfg = { small with Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 50 50.0; Init = Init.zero } }
            let r = run cfg
            match r.Status with
            | RunStatus.Diverged msg ->
                Expect.stringContains msg "step" "step"
                Expect.stringContains msg "batch 0" "batch"
                Expect.isEmpty r.Epochs "no epoch recorded as if it had completed"
                Expect.isNone r.FinalAccuracy "no accuracy"
            | other -> failtestf "expected divergence, got %O" other
        }

        test "cancellation stops between batches" {
            use cts = new CancellationTokenSource()
            use d = data ()
            let r = Train.runOn small d (fun p -> if p.Batch = 3 then cts.Cancel()) ignore cts.Token
            Expect.equal r.Status RunStatus.Cancelled "cancelled"
        }

        test "bad configurations are refused before any work" {
            let arch ws = Architecture.Mlp(ws, Activation.Relu)
            for cfg, fragment in
                [ { small with Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 0 0.1; Init = Init.forward } }, "T must be at least 1"
                  { small with Architecture = arch [ 16; 0 ] }, "width of hidden layer 2 must be at least 1"
                  { small with Fraction = 0.0 }, "outside (0,1]"
                  { small with Fraction = 1.5 }, "outside (0,1]"
                  { small with Epochs = 0 }, "epochs must be at least 1"
                  { small with Batching = Batching.Random }, "needs stream-aligned batching" ] do
                let e = Util.throws<ArgumentException> (fun () -> cfg.Validate())
                Expect.stringContains e.Message fragment fragment
            let e = Util.throws<ArgumentException> (fun () -> run { small with BatchSize = 30 } |> ignore)
            Expect.stringContains e.Message "divisible by the number of classes (4), got 30" "stream batch"
            let e = Util.throws<ConfigError> (fun () -> Choices.activation.Parse "swish" |> ignore)
            Expect.stringContains e.Message "unknown activation 'swish'" "activation"
        }

        test "memory stays flat over many training steps" {
            use d = data ()
            let stats = DisposeScopeManager.Statistics
            let live = ResizeArray<int64>()
            let cfg = { small with Epochs = 6 }
            Train.runOn cfg d ignore (fun _ -> live.Add stats.ThreadTotalLiveCount) CancellationToken.None |> ignore
            // Tensors alive on this thread after each epoch: the same count every epoch.
            Expect.equal (live |> Seq.distinct |> Seq.length) 1 (sprintf "live tensors per epoch: %A" (List.ofSeq live))
        }
    ]

[<Tests>]
let configs =
    testList "Config" [
        test "configurations round-trip through JSON" {
            let cfgs =
                [ small
                  { small with Algorithm = Algorithm.Backprop; Optimizer = OptimizerSpec.Sgd(0.1, 0.9); Precision = Precision.Float64 }
                  { small with Architecture = Architecture.ResidualMlp(64, 8, Activation.Relu, Parameterisation.MuPC); Loss = Loss.SquaredError }
                  { small with Architecture = Architecture.AlexNet Activation.Gelu; DataRoot = Some "/data"; Fraction = 0.25 }
                  { small with Algorithm = Algorithm.PredictiveCoding { Inference = { InferenceOptions.epc 7 0.3 with Tolerance = Some 1e-6; Momentum = 0.5 }; Init = Init.random 0.0 0.1 } } ]
            for c in cfgs do
                Expect.equal (Config.parse (Config.toText c) Config.defaults) c (string c.Architecture)
        }

        test "Table 1 methods resolve by config name, PC-mem has no paper number, unknown names are listed" {
            Expect.equal (Experiments.Table1.label "PC-Mem") "PC-mem" "case-insensitive"
            Expect.equal (Experiments.Table1.paperNumber "fashion-mnist" 1.0 "pc-avg") (Some 89.80) "PC-avg"
            Expect.equal (Experiments.Table1.paperNumber "fashion-mnist" 1.0 "pc-mem") None "PC-mem"
            let e = Util.throws<ArgumentException> (fun () -> Experiments.Table1.label "pc-foo" |> ignore)
            Expect.stringContains e.Message "known: bp, pc-fw, pc-avg, pc-mem" "named"
            let cfgs = Experiments.Table1.configs [ "pc-mem"; "pc-avg" ] { Experiments.Table1.defaults.Runs with Fraction = 0.5; Epochs = 2 } 1L
            Expect.equal (cfgs |> List.map fst) [ "PC-mem"; "PC-avg" ] "in the order asked"
            match (snd cfgs.Head).Algorithm with
            | Algorithm.PredictiveCoding pc -> Expect.isTrue (pc.Init.Uses(function InitKind.Memory _ -> true | _ -> false)) "the memory config"
            | a -> failtestf "PC-mem is %A" a
            // The other datasets of the paper's table: its numbers per fraction, mnist10k standing in for MNIST,
            // and CIFAR-10 with its own AlexNet configurations.
            Expect.equal (Experiments.Table1.paperNumber "kmnist" 0.25 "bp") (Some 87.18) "KMNIST at 25%"
            Expect.equal (Experiments.Table1.paperNumber "cifar10" 0.5 "pc-fw") (Some 64.25) "CIFAR-10 at 50%"
            Expect.equal (Experiments.Table1.paperNumber "mnist10k" 1.0 "pc-avg") (Experiments.Table1.paperNumber "mnist" 1.0 "pc-avg") "mnist10k stands in for MNIST"
            let cifar = Experiments.Table1.configs [ "bp"; "pc-avg" ] { Experiments.Table1.defaults.Runs with Dataset = "cifar10"; Epochs = 24 } 0L
            for _, c in cifar do
                Expect.equal c.Architecture (Architecture.AlexNet Activation.Gelu) "AlexNet on CIFAR-10"
                Expect.equal c.Epochs 24 "the run's epochs"
            match (snd cifar[1]).Algorithm with
            | Algorithm.PredictiveCoding pc -> Expect.equal pc.Init (InitText.parse "forward[1..5] + avg[6..]") "m = 5"
            | a -> failtestf "PC-avg is %A" a
        }

        test "config errors name the field" {
            for json, fragment in
                [ """{"epochs": "many"}""", "'epochs' must be a number"
                  """{"epoch": 3}""", "unknown config field 'epoch'"
                  """{"model": {"kind": "mlp", "activation": "swish"}}""", "'model.activation': unknown activation 'swish'"
                  """{"model": {"kind": "mlp", "parameterisation": "mupc"}}""", "needs a residual MLP"
                  """{"init": "forward[1..2] + avg"}""", "'init'"
                  """{"inference": {"steps": 2.5}}""", "must be an integer"
                  """{"batching": "sideways"}""", "unknown batching"
                  """{"epochs": 3""", "malformed JSON" ] do
                let e = Util.throws<ConfigError> (fun () -> Config.parse json Config.defaults |> ignore)
                Expect.stringContains e.Message fragment json
        }
    ]

[<Tests>]
let sessions =
    testList "Session" [
        test "a resumed run gives the same numbers as an uninterrupted one" {
            for init in [ "forward[1..1] + avg[2..]"; "keep[1..1] + mem(slots=8,lr=0.01)[2..]" ] do
                let cfg = { small with Algorithm = Algorithm.PredictiveCoding { Inference = { InferenceOptions.spc 4 0.1 with Momentum = 0.5 }; Init = InitText.parse init } }
                use d = data ()
                let whole = Train.runOn cfg d ignore ignore CancellationToken.None
                let path = IO.Path.Combine(IO.Directory.CreateTempSubdirectory("hybrid-resume-").FullName, "session.ck")
                do
                    use s = TrainingSession.Start(cfg, d)
                    // Stop in the middle of the second epoch.
                    for _ in 1 .. 27 do s.Step() |> ignore
                    s.Save path
                use resumed = TrainingSession.Restore(path, d)
                Expect.equal resumed.Position (2, 7) "position restored"
                let r = resumed.Run(ignore, ignore, CancellationToken.None)
                let numbers (r: TrainResult) = r.Epochs |> List.map (fun e -> e.TestAccuracy, e.TrainEnergy, e.Smm, e.Updates)
                Expect.equal (numbers r) (numbers whole) (sprintf "%s: same epochs" init)
        }

        test "a checkpoint of another architecture is refused with the reason" {
            use d = data ()
            let path = IO.Path.Combine(IO.Directory.CreateTempSubdirectory("hybrid-resume-").FullName, "session.ck")
            do
                use s = TrainingSession.Start(small, d)
                s.Step() |> ignore
                s.Save path
            let c = Checkpoint.load path
            // Rewrite the config with another width: the shapes no longer fit.
            let cfg = c.Meta["config"].AsObject()
            cfg["model"].AsObject()["widths"] <- Text.Json.Nodes.JsonArray([| Text.Json.Nodes.JsonValue.Create 16 :> Text.Json.Nodes.JsonNode; Text.Json.Nodes.JsonValue.Create 17 |])
            Checkpoint.save path c
            let e = Util.throws<Checkpoint.CheckpointError> (fun () -> TrainingSession.Restore(path, d) |> ignore)
            Expect.stringContains e.Message "holds a 'mlp[16,16] tanh' network" "architecture named"
        }
    ]
