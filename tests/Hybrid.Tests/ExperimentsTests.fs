module Hybrid.Tests.ExperimentsTests

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Expecto
open Hybrid
open Hybrid.Experiments
open Hybrid.Reporting

let private tempDir () = Directory.CreateTempSubdirectory("hybrid-experiment-").FullName

/// Reads a written form back onto the defaults and refuses an unknown field, naming it.
let private roundTrip (name: string) (codec: Codec<'T>) (value: 'T) =
    let text = Codec.writeText (codec.Write value)
    Expect.equal (Codec.read codec value text) value (sprintf "%s reads back what it writes" name)
    let o = codec.Write value :?> JsonObject
    o["bogus"] <- JsonValue.Create 1
    let e = Util.throws<ConfigError> (fun () -> codec.Read "" value o |> ignore)
    Expect.stringContains e.Message "unknown config field 'bogus'" (sprintf "%s names the unknown field" name)

let private number (node: JsonNode) = node.GetValue<float>()

/// Three epochs of a small sPC MLP on an IDX folder of 60 samples (6 batches an epoch).
let private tinyRun (data: string) (name: string) =
    { Config.defaults with
        Name = name
        Dataset = "folder:" + data
        Architecture = Architecture.Mlp([ 8 ], Activation.Tanh)
        Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 3 0.1; Init = Init.forward }
        Normalisation = Data.Normalisation.Unit
        Epochs = 3
        BatchSize = 10
        Device = DeviceChoice.Cpu }

[<Tests>]
let tests =
    testList "Experiments" [
        test "every configuration form reads back what it writes and names unknown fields" {
            roundTrip "train" Config.train Config.defaults
            roundTrip "generative" Generative.codec Generative.defaults
            roundTrip "table1" Table1.codec { Table1.defaults with Methods = [ "pc-mem"; "bp" ]; Runs = { Table1.defaults.Runs with DataRoot = Some "/data" } }
            roundTrip "deep-mlp" DeepMlp.codec { DeepMlp.defaults with Steps = Some 7 }
            roundTrip "mupc" MuPC.codec MuPC.defaults
            roundTrip "reconstruction" Reconstruction.codec Reconstruction.defaults
            roundTrip "decay" Decay.codec { Decay.defaults with Weights = Decay.ChainWeights.Orthogonal }
            roundTrip "phase" Phase.codec Phase.defaults
            roundTrip "retrieve" Retrieval.codec { Retrieval.defaults with Corruption = Retrieval.Corruption.Noise 0.3 }
            roundTrip "inits" Inits.codec { Inits.defaults with Inits = [ "avg"; "keep" ]; Steps = [ 3 ] }
            roundTrip "steps" Steps.codec { Steps.defaults with Fractions = [ 0.5 ] }
            roundTrip "speed" Speed.codec { Speed.defaults with Errors = [ 1.0 ]; EvalEvery = 7 }
            roundTrip "conv" Conv.codec { Conv.defaults with Models = [ "resnet18" ]; Divisor = 8 }
            roundTrip "reconstruction grid" Reconstruction.codec { Reconstruction.defaults with EvalSteps = [ 3; 20 ] }
            roundTrip "ham-bench" HamBench.codec { HamBench.defaults with TrainSolver = Ham.Solver.Damped 0.25 }
            // Lists also read from comma-separated text, as flags write them.
            let d = Codec.read Decay.codec Decay.defaults """{ "depths": "3, 4" }"""
            Expect.equal d.Depths [ 3; 4 ] "comma-separated depths"
            let e = Util.throws<ConfigError> (fun () -> Codec.read Decay.codec Decay.defaults """{ "depths": [1] }""" |> ignore)
            Expect.stringContains e.Message "not a depth of at least 2" "validated once, named"
            let e = Util.throws<ConfigError> (fun () -> Codec.read Table1.codec Table1.defaults """{ "methods": ["pc-foo"] }""" |> ignore)
            Expect.stringContains e.Message "unknown Table 1 method 'pc-foo'" "methods are checked"
        }

        test "decay: ePC reaches the exact linear equilibrium in fewer steps than sPC, and the study writes its plots" {
            let out = tempDir ()
            let st = Decay.study { Decay.defaults with Depths = [ 4 ]; Width = 8; Batch = 4; MaxSteps = 2000; TraceSteps = 40; Out = out } Observer.silent
            let linear = st.Cases |> List.filter (fun c -> c.Chain.Activation = Activation.Identity)
            Expect.equal linear.Length 2 "float64 and float32"
            for c in linear do
                match c.Spc.Best, c.Epc.Best with
                | Some { Steps = Some spc }, Some { Steps = Some epc } -> Expect.isLessThan epc spc (sprintf "%O: ePC %d steps, sPC %d" c.Chain.Precision epc spc)
                | _ -> failtestf "%O: both should reach the tolerance" c.Chain
            for plot in st.Plots do Expect.isTrue (File.Exists plot) "plot written"
            Expect.isTrue (File.Exists st.Csv) "attempts written"
            Expect.isTrue (File.Exists(Path.Combine(out, "decay.json"))) "summary written"
            let r = Decay.report st
            Expect.equal (r.Json["cases"].AsArray().Count) 2 "the report's cases"
        }

        test "phase: the measured critical beta of simplex patterns is within 2% of N/(M^2 - c)" {
            let out = tempDir ()
            let st = Phase.study { Phase.defaults with Counts = [ 3; 4 ]; Norms = [ 1.0 ]; Points = 9; Starts = 16; Out = out } Observer.silent
            for c in st.Cases do
                // Unit-norm simplex patterns: M = 1, c = -1/(N-1), so beta_c = N - 1.
                Expect.floatClose Accuracy.high c.Result.Predicted (float (c.Count - 1)) "predicted"
                match c.Result.RelativeError with
                | Some e -> Expect.isLessThan (abs e) 0.02 (sprintf "N = %d" c.Count)
                | None -> failtestf "N = %d: the transition was not bracketed" c.Count
                Expect.isTrue (File.Exists c.BifurcationPlot) "bifurcation plot"
            Expect.isTrue (File.Exists st.Csv) "fixed points written"
        }

        test "a run folder gets TensorBoard event files unless its configuration turns them off" {
            let data = DataTests.idxFolder 60 20 false
            let on = Pipeline.runOne (tinyRun data "on") (tempDir ()) Observer.silent CancellationToken.None
            let off = Pipeline.runOne { tinyRun data "off" with TensorBoard = false } (tempDir ()) Observer.silent CancellationToken.None
            Expect.equal (Directory.GetFiles(on.Folder, "events.out.tfevents.*").Length) 1 "an event file"
            Expect.isEmpty (Directory.GetFiles(off.Folder, "events.out.tfevents.*")) "none"
            Expect.equal (off.Result.Epochs |> List.map (fun e -> e.TestAccuracy)) (on.Result.Epochs |> List.map (fun e -> e.TestAccuracy)) "the same run otherwise"
        }

        test "a stopped run folder resumes to the same epochs as an uninterrupted run" {
            let data = DataTests.idxFolder 60 20 false
            let cfg = tinyRun data "runner"
            let whole = Pipeline.runOne cfg (tempDir ()) Observer.silent CancellationToken.None
            use cts = new CancellationTokenSource()
            let stopAfterFirst = { Observer.silent with Epoch = fun _ -> cts.Cancel() }
            let stopped = Pipeline.runOne cfg (tempDir ()) stopAfterFirst cts.Token
            Expect.equal stopped.Result.Status RunStatus.Cancelled "stopped"
            Expect.equal stopped.Result.Epochs.Length 1 "after the first epoch"
            let resumed = Pipeline.resume stopped.Folder Observer.silent CancellationToken.None
            Expect.equal resumed.Result.Status RunStatus.Completed "completed"
            let numbers (r: TrainResult) = r.Epochs |> List.map (fun e -> e.Epoch, e.TestAccuracy, e.TrainEnergy, e.Smm)
            Expect.equal (numbers resumed.Result) (numbers whole.Result) "the same epochs"
            Expect.equal (File.ReadAllLines(Path.Combine(stopped.Folder, "results.jsonl")).Length) 3 "one results line per epoch"
            for f in [ "config.json"; "summary.json"; "checkpoint.ck"; "accuracy.png" ] do
                Expect.isTrue (File.Exists(Path.Combine(stopped.Folder, f))) f
            let report = Pipeline.report [ resumed ]
            Expect.equal (report.Json["status"].GetValue<string>()) "completed" "reported"
            Expect.equal report.ExitCode 0 "exit code"
        }

        test "reconstruction: the grid of initializers and T, the memory-vs-zero reading, the plot and the image grid" {
            match Data.Dataset.locate None "mnist10k" with
            | None -> skiptest "mnist10k is not installed (hybrid data fetch mnist10k)"
            | Some _ ->
                let out = tempDir ()
                let runs = { Reconstruction.defaults.Runs with Dataset = "mnist10k"; Fraction = 0.05; Epochs = 1; Out = out; Device = DeviceChoice.Cpu }
                let s = { Reconstruction.defaults with Runs = runs; Seeds = 1; Steps = [ 2; 3 ]; Inits = [ "zero"; "mem" ] }
                let o = Reconstruction.run s Observer.silent CancellationToken.None
                Expect.equal o.Cells.Length 4 "2 initializers x 2 T"
                for _, _, mse in o.Cells do Expect.isLessThan mse 0.2 "a reconstruction error per pixel"
                Expect.equal o.MemoryVsZero (Some(o.Cell("mem", 2), o.Cell("zero", 3))) "memory at the smallest T, zero at the largest"
                Expect.isTrue (File.Exists o.Plot) "plot"
                Expect.equal o.Grids.Length 1 "28x28 grey images make a grid"
                let r = Reconstruction.report o
                let v = r.Json["memVsZero"]
                Expect.equal (v["memSteps"].GetValue<int>()) 2 "reported"
        }
    
        test "speed: the cost to a relative error is read at the first point of each curve that reaches it" {
            let pt u acc = { Epoch = 1; Batch = int u; Updates = u; Smm = 10L * u; Seconds = 0.5 * float u; TestAccuracy = acc }
            // A curve that rises, dips back below the target and rises again: the first crossing counts.
            let a1 = [ pt 5L 50.0; pt 10L 79.0; pt 15L 80.0; pt 20L 78.0; pt 25L 90.0 ]
            let a2 = [ pt 5L 60.0; pt 10L 85.0; pt 15L 88.0 ]
            let b = [ pt 5L 40.0; pt 10L 70.0 ]
            Expect.equal (Speed.firstReaching 80.0 a1) (Some(pt 15L 80.0)) "at or above the target"
            Expect.equal (Speed.firstReaching 95.0 a1) None "never reached"
            let readings = Speed.read 90.0 [ 2.0; 50.0 ] [ "A", [ a1; a2 ]; "B", [ b ] ]
            let get m e = readings |> List.find (fun r -> r.Method = m && r.Error = e)
            let r = get "A" 2.0
            Expect.floatClose Accuracy.high r.Target 88.2 "90 x (1 - 2%)"
            Expect.equal (r.Reached, r.Runs) (1, 2) "only the first run reaches 88.2"
            Expect.equal r.Updates (Some 25.0) "at its 25th update"
            Expect.equal r.Smm (Some 250.0) "SMMs of that point"
            Expect.equal r.Seconds (Some 12.5) "seconds of that point"
            let r = get "A" 50.0
            Expect.equal (r.Reached, r.Updates) (2, Some 5.0) "45% is reached at once by both runs"
            let r = get "B" 2.0
            Expect.equal (r.Reached, r.Smm, r.Seconds) (0, None, None) "B never reaches 88.2"
        }

        test "evalEvery: test accuracy every k updates and at epoch ends, training unchanged, points kept by a resumed run" {
            let data = DataTests.idxFolder 60 20 false
            let cfg = tinyRun data "eval-every"
            let plain = Pipeline.runOne cfg (tempDir ()) Observer.silent CancellationToken.None
            let every = Pipeline.runOne { cfg with EvalEvery = 4 } (tempDir ()) Observer.silent CancellationToken.None
            let numbers (r: TrainResult) = r.Epochs |> List.map (fun e -> e.Epoch, e.TestAccuracy, e.TrainEnergy, e.Smm, e.Updates)
            Expect.equal (numbers every.Result) (numbers plain.Result) "measuring accuracy does not change training"
            Expect.equal (plain.Result.Evaluations |> List.map (fun p -> p.Updates)) [ 6L; 12L; 18L ] "epoch ends only (6 batches an epoch)"
            let points = every.Result.Evaluations
            Expect.equal (points |> List.map (fun p -> p.Updates)) [ 4L; 6L; 8L; 12L; 16L; 18L ] "every 4 updates, and the epoch ends"
            Expect.equal (points |> List.map (fun p -> p.Epoch, p.Batch)) [ 1, 4; 1, 6; 2, 2; 2, 6; 3, 4; 3, 6 ] "epoch and batch of each"
            for p in points do
                match every.Result.Epochs |> List.tryFind (fun e -> e.Updates = p.Updates) with
                | Some e -> Expect.equal (p.TestAccuracy, p.Smm, p.Seconds) (e.TestAccuracy, e.Smm, e.Seconds) "an epoch end is its record"
                | None -> Expect.isTrue (p.Seconds > 0.0 && p.Smm > 0L) "a point within an epoch has its cost"
            let summary = JsonNode.Parse(File.ReadAllText(Path.Combine(every.Folder, "summary.json")))
            Expect.equal (summary["evaluations"].AsArray().Count) 6 "summary.json holds the points"
            Expect.isNull (JsonNode.Parse(File.ReadAllText(Path.Combine(plain.Folder, "summary.json")))["evaluations"]) "and only when asked"
            use cts = new CancellationTokenSource()
            let stopped = Pipeline.runOne { cfg with EvalEvery = 4 } (tempDir ()) { Observer.silent with Epoch = fun _ -> cts.Cancel() } cts.Token
            let resumed = Pipeline.resume stopped.Folder Observer.silent CancellationToken.None
            Expect.equal (resumed.Result.Evaluations |> List.map (fun p -> p.Updates, p.TestAccuracy)) (points |> List.map (fun p -> p.Updates, p.TestAccuracy)) "a resumed run has every point"
        }

        test "inits, steps and speed: short versions on Fashion-MNIST write their tables and plots" {
            match Data.Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let runs = { Table1.defaults.Runs with Fraction = 0.02; Epochs = 1; Out = tempDir (); Device = DeviceChoice.Cpu }
                let i = Inits.run { Inits.defaults with Runs = runs; Seeds = 1; Inits = [ "forward"; "zero" ]; Steps = [ 2; 4 ] } Observer.silent CancellationToken.None
                let r = Inits.report i
                Expect.equal i.Table.Rows.Length 4 "2 initializers x 2 T"
                Expect.equal r.Tables[0].Rows.Length 2 "one row per initializer"
                Expect.equal r.Tables[0].Header [ ""; "T=2"; "T=4" ] "one column per T"
                let fw = i.Table.Rows |> List.find (fun row -> row.Method = "forward T=4")
                let zero = i.Table.Rows |> List.find (fun row -> row.Method = "zero T=4")
                Expect.isGreaterThan (List.head fw.Best) (List.head zero.Best + 10.0) "forward beats zero clearly at T = 4 (the paper's claim at low T)"
                let plots = r.Json["plots"].AsArray() |> Seq.map (fun p -> p.GetValue<string>()) |> List.ofSeq
                Expect.equal plots.Length 3 "accuracy against T, and curves at each T"
                for p in plots do Expect.isTrue (File.Exists p) p
                // The grid's runs are the trials of one sweep: running it again continues that sweep,
                // where every trial is done, and reads the same table back from the run folders.
                let again = Inits.run { Inits.defaults with Runs = runs; Seeds = 1; Inits = [ "forward"; "zero" ]; Steps = [ 2; 4 ] } Observer.silent CancellationToken.None
                Expect.equal (again.Table.Rows |> List.map (fun r -> r.Method, r.Best, r.Smm)) (i.Table.Rows |> List.map (fun r -> r.Method, r.Best, r.Smm)) "the same table"
                Expect.equal again.Table.Folder i.Table.Folder "the same folder"
                let store = Hybrid.Sweeps.Store.connect i.Table.Storage
                let trials = store.Trials(Path.GetFileName i.Table.Folder)
                Expect.equal trials.Length 4 "4 trials"
                Expect.isTrue (trials |> List.forall (fun t -> t.Completions = 1 && t.Attempts = 1)) "each ran once"
                let st = Steps.run { Steps.defaults with Runs = runs; Fractions = [ 0.02 ]; Steps = [ 2; 3 ] } Observer.silent CancellationToken.None
                let r = Steps.report st
                Expect.equal (r.Tables[0].Rows |> List.map List.head) [ "PC-fw 2%"; "PC-avg 2%" ] "method and fraction rows"
                let sp = Speed.run { Speed.defaults with Runs = runs; EvalEvery = 2 } Observer.silent CancellationToken.None
                let r = Speed.report sp
                Expect.equal (sp.Curves |> List.map fst) [ "BP"; "PC-fw"; "PC-avg" ] "a curve per method"
                let best = sp.Curves |> List.collect snd |> List.concat |> List.map (fun p -> p.TestAccuracy) |> List.max
                Expect.equal sp.Reference best "the reference is the best point of any run"
                Expect.equal sp.Readings.Length 12 "3 methods x 4 errors"
                Expect.isTrue (sp.Readings |> List.exists (fun rd -> rd.Reached = 1)) "the best run reaches every target"
                Expect.equal (r.Json["readings"].AsArray().Count) 12 "reported"
                for p in r.Json["plots"].AsArray() do Expect.isTrue (File.Exists(p.GetValue<string>())) "plot written"
        }
    
        test "conv: narrowed models, and a short run of every model under BP, sPC and ePC" {
            let channels a = match a with Architecture.ConvNet(cs, _, _) -> cs |> List.map (fun c -> c.Channels) | _ -> []
            Expect.equal (channels (Conv.architecture "vgg5" 8 Activation.Gelu)) [ 16; 32; 64; 64 ] "VGG-5 / 8"
            Expect.equal (channels (Conv.architecture "vgg7" 1 Activation.Gelu)) [ 128; 128; 256; 256; 512; 512 ] "VGG-7 at the paper's width"
            Expect.equal (Conv.architecture "resnet18" 16 Activation.Gelu) (Architecture.ResNet18(4, Activation.Gelu)) "ResNet-18 / 16"
            let e = Util.throws<ArgumentException> (fun () -> Conv.defaults.Validate() |> ignore; { Conv.defaults with Divisor = 3 }.Validate())
            Expect.stringContains e.Message "divisor must divide 64" "named"
            match Data.Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let runs = { Conv.defaults.Runs with Dataset = "fashion-mnist"; Fraction = 0.02; Epochs = 1; Out = tempDir (); Device = DeviceChoice.Cpu }
                let o = Conv.run { Conv.defaults with Runs = runs; Divisor = 16 } Observer.silent CancellationToken.None
                Expect.equal o.Table.Rows.Length 9 "3 models x 3 methods"
                // Four updates of batch 256 each: a smoke run, not a comparison (docs/reproduce.md has the measured one).
                for row in o.Table.Rows do
                    Expect.equal row.Failed 0 (row.Method + " completed")
                    Expect.isTrue (List.head row.Best >= 0.0 && List.head row.Best <= 100.0) (row.Method + " has a test accuracy")
                let r = Conv.report o
                Expect.equal (r.Tables[0].Rows |> List.map List.head) [ "VGG-5"; "VGG-7"; "ResNet-18" ] "a row per model"
                Expect.equal r.Tables[0].Header [ "model"; "BP"; "sPC"; "ePC"; "sPC - BP"; "paper sPC - BP"; "ePC - BP"; "paper ePC - BP" ] "columns"
                Expect.equal (r.Tables[0].Rows[2] |> List.item 5) "-48.66" "the paper's ResNet-18 sPC gap"
                let gaps = r.Json["gaps"]
                Expect.isNotNull (gaps["vgg5"]["epcMinusBp"]) "gaps reported"
        }

        test "reconstruction: the T_train x T_eval grid, its diagonal equal to the T_train = T_eval cells, and its heatmaps" {
            match Data.Dataset.locate None "mnist10k" with
            | None -> skiptest "mnist10k is not installed (hybrid data fetch mnist10k)"
            | Some _ ->
                let runs = { Reconstruction.defaults.Runs with Dataset = "mnist10k"; Fraction = 0.05; Epochs = 1; Out = tempDir (); Device = DeviceChoice.Cpu }
                let s = { Reconstruction.defaults with Runs = runs; Seeds = 1; Steps = [ 2; 4 ]; Inits = [ "zero"; "random" ]; EvalSteps = [ 2; 4; 8 ] }
                let o = Reconstruction.run s Observer.silent CancellationToken.None
                Expect.equal o.Grid.Length 12 "2 initializers x 2 T_train x 3 T_eval"
                for k, tt, te, v in o.Grid do
                    Expect.isTrue (Double.IsFinite v) (sprintf "%s %d/%d" k tt te)
                    // Zero and random starts do not depend on earlier evaluations: the diagonal is the plain cell.
                    if tt = te then Expect.equal v (o.Cell(k, tt)) (sprintf "%s at T_train = T_eval = %d" k tt)
                Expect.equal o.Heatmaps.Length 2 "a heatmap per initializer"
                for h in o.Heatmaps do Expect.isTrue (File.Exists h) h
                let r = Reconstruction.report o
                Expect.equal r.Tables.Length 3 "the T table and a grid per initializer"
                Expect.equal (r.Json["grid"].AsArray().Count) 12 "reported"
        }
    ]
