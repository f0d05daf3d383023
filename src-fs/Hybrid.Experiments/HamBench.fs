/// The HAM solver benchmark (SPEC.md 3): the four solver variants on a test set.
module Hybrid.Experiments.HamBench

open System
open System.Diagnostics
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting
open Hybrid.Ham

/// Times a solver on a batch: seconds, and the solution.
let timed (net: Network) (solver: Solver) (start: torch.Tensor[]) (tolerance: float) (maxIterations: int) =
    let sw = Stopwatch.StartNew()
    let s = solve net solver start tolerance maxIterations
    sw.Stop()
    s, sw.Elapsed.TotalSeconds

/// One solver's measured behaviour on a batch.
type BenchRow =
    { Solver: Solver
      /// Mean iterations per sample to the criterion (the cap for those that did not converge).
      MeanIterations: float
      /// Median seconds over the timed repeats (after one warm-up solve).
      Seconds: float
      NotConverged: int
      /// Accuracy of the top layer's argmax (percent).
      Accuracy: float }

/// The four variants of SPEC.md 3: synchronous Picard, even/odd, DEQ-Anderson and
/// even/odd + Anderson (Anderson memory 4, Tikhonov 1e-4).
let variants = [ Solver.Picard; Solver.EvenOdd; Solver.Anderson(4, 1e-4); Solver.EvenOddAnderson(4, 1e-4) ]

/// Solves the test inputs with each solver and reports iterations, time, failures and accuracy.
let benchmark (net: Network) (solvers: Solver list) (x: torch.Tensor) (labels: torch.Tensor) (tolerance: float) (maxIterations: int) (repeats: int) : BenchRow list =
    if repeats < 1 then invalidArg "repeats" (sprintf "repeats must be at least 1, got %d" repeats)
    [ for solver in solvers ->
          use _ = torch.NewDisposeScope()
          let warm = solve net solver (initial net x) tolerance maxIterations
          let times =
              [| for _ in 1 .. repeats ->
                     let s, secs = timed net solver (initial net x) tolerance maxIterations
                     for t in s.States do t.Dispose()
                     secs |] |> Array.sort
          let row =
              { Solver = solver
                MeanIterations = warm.Iterations |> Array.averageBy float
                Seconds = times[times.Length / 2]
                NotConverged = warm.Converged |> Array.filter not |> Array.length
                Accuracy = accuracy warm.States[net.Top] labels }
          for t in warm.States do t.Dispose()
          row ]

/// What `hybrid ham bench` measures.
type Settings =
    { /// Dataset (inputs in [0,1]).
      Dataset: string
      DataRoot: string option
      /// Layer sizes of each network.
      Layers: int list list
      /// Training epochs before the measurement.
      Epochs: int
      BatchSize: int
      /// Adam learning rate.
      LearningRate: float
      /// Solver used in training.
      TrainSolver: Solver
      /// Convergence of the measured solves: ||x_{k+1} - x_k|| / ||x_{k+1}|| below this.
      Tolerance: float
      /// Convergence of the training solves (implicit gradients need accurate fixed points).
      TrainTolerance: float
      /// Iteration cap.
      MaxIterations: int
      /// Timed repeats per variant (median).
      Repeats: int
      Seed: int64
      Device: DeviceChoice }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        if this.Layers.IsEmpty then invalidArg "layers" "layers needs at least one network"
        for sizes in this.Layers do
            if sizes.Length < 2 then invalidArg "layers" (sprintf "layers: a HAM needs at least 2 layers, got %d" sizes.Length)
            for n in sizes do
                if n < 1 then invalidArg "layers" (sprintf "layers: a layer needs at least 1 unit, got %d" n)
        if this.Epochs < 1 then invalidArg "epochs" (sprintf "epochs must be at least 1, got %d" this.Epochs)
        if this.BatchSize < 1 then invalidArg "batchSize" (sprintf "batchSize must be at least 1, got %d" this.BatchSize)
        if not (this.LearningRate > 0.0 && Double.IsFinite this.LearningRate) then invalidArg "lr" (sprintf "lr must be positive, got %g" this.LearningRate)
        if not (this.Tolerance > 0.0 && Double.IsFinite this.Tolerance) then invalidArg "tolerance" (sprintf "tolerance must be positive, got %g" this.Tolerance)
        if not (this.TrainTolerance > 0.0 && Double.IsFinite this.TrainTolerance) then invalidArg "trainTolerance" (sprintf "trainTolerance must be positive, got %g" this.TrainTolerance)
        if this.MaxIterations < 1 then invalidArg "maxIterations" (sprintf "maxIterations must be at least 1, got %d" this.MaxIterations)
        if this.Repeats < 1 then invalidArg "repeats" (sprintf "repeats must be at least 1, got %d" this.Repeats)

/// A 3- and a 5-layer HAM on mnist10k, trained for 2 epochs with even/odd + Anderson.
let defaults =
    { Dataset = "mnist10k"; DataRoot = None; Layers = [ [ 784; 512; 10 ]; [ 784; 512; 256; 128; 10 ] ]; Epochs = 2; BatchSize = 100; LearningRate = 1e-3
      TrainSolver = Solver.EvenOddAnderson(4, 1e-4); Tolerance = 1e-4; TrainTolerance = HamTraining.trainTolerance; MaxIterations = HamTraining.maxIterations
      Repeats = 3; Seed = 0L; Device = DeviceChoice.Auto }

/// Networks written as `784,512,10;784,512,256,128,10` (or a JSON array of arrays).
let private layersCodec: Codec<int list list> =
    let arrays = Codec.list (Codec.list Codec.int)
    { arrays with
        Read =
            fun path current n ->
                match n with
                | :? JsonValue as v when v.GetValueKind() = Text.Json.JsonValueKind.String ->
                    [ for net in v.GetValue<string>().Split(';', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries) ->
                          (Codec.items Codec.int).Read path [] (JsonValue.Create net) ]
                | _ -> arrays.Read path current n }

/// The JSON form of the settings.
let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "dataset" "Dataset (inputs in [0,1])" Codec.string (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
          Codec.optional "data" "Dataset root folder" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
          Codec.field "layers" "Layer sizes of each network; networks separated by ';' (784,512,10;784,512,256,128,10)" layersCodec (fun s -> s.Layers) (fun v s -> { s with Layers = v })
          Codec.field "epochs" "Training epochs before the measurement" Codec.int (fun s -> s.Epochs) (fun v s -> { s with Epochs = v })
          Codec.field "batchSize" "Training batch size" Codec.int (fun s -> s.BatchSize) (fun v s -> { s with BatchSize = v })
          Codec.field "lr" "Adam learning rate" Codec.float (fun s -> s.LearningRate) (fun v s -> { s with LearningRate = v })
          Codec.field "trainSolver" "Solver used in training: picard, damped:D, anderson, even-odd or even-odd-anderson" (Codec.text "picard, damped:D, anderson, even-odd or even-odd-anderson" Choices.solver Choices.solverName) (fun s -> s.TrainSolver) (fun v s -> { s with TrainSolver = v })
          Codec.field "tolerance" "Convergence of the measured solves: ||x_{k+1} - x_k|| / ||x_{k+1}|| below this" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "trainTolerance" "Convergence of the training solves (implicit gradients need accurate fixed points)" Codec.float (fun s -> s.TrainTolerance) (fun v s -> { s with TrainTolerance = v })
          Codec.field "maxIterations" "Iteration cap" Codec.int (fun s -> s.MaxIterations) (fun v s -> { s with MaxIterations = v })
          Codec.field "repeats" "Timed repeats per variant (median)" Codec.int (fun s -> s.Repeats) (fun v s -> { s with Repeats = v })
          Codec.field "seed" "Seed" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "device" "Compute device: auto, cpu or cuda" (Codec.choice Choices.device) (fun s -> s.Device) (fun v s -> { s with Device = v }) ]
    |> Codec.check (fun s -> s.Validate())

/// The outcome of a benchmark: per network (named by its layer sizes), the rows of the four variants.
type Study =
    { Settings: Settings
      Networks: (string * BenchRow list) list
      /// Test samples solved.
      TestCount: int }

/// Trains each network's readout, then solves the test set with the four variants.
let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    let c = Report.culture
    let device = Runtime.device s.Device
    let data = Data.Dataset.load s.DataRoot s.Dataset
    use train = Data.TensorSplit.create device Precision.Float32 data.Classes true None data.Train
    use test = Data.TensorSplit.create device Precision.Float32 data.Classes true None data.Test
    let results =
        [ for sizes in s.Layers ->
              let name = String.Join("-", sizes)
              use net = Network.create sizes Precision.Float32 device s.Seed
              observer.Message(sprintf "[%s] training %d epoch(s) with %O..." name s.Epochs s.TrainSolver)
              let report (e: HamTraining.EpochResult) =
                  observer.Message(
                      sprintf "[%s] epoch %d: loss %s, test accuracy %s%%, %s iterations/sample, %d not converged, %ss" name e.Epoch
                          (e.TrainLoss.ToString("G4", c)) (e.TestAccuracy.ToString("F2", c)) (e.MeanIterations.ToString("F2", c)) e.NotConverged (e.Seconds.ToString("F0", c)))
              HamTraining.train net s.TrainSolver train test s.Epochs s.BatchSize s.LearningRate s.TrainTolerance s.MaxIterations s.Seed report |> ignore
              name, benchmark net variants test.X test.Y s.Tolerance s.MaxIterations s.Repeats ]
    { Settings = s; Networks = results; TestCount = test.Count }

/// The benchmark as a report: a JSON array of networks, and a table per network.
let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let results = st.Networks
    let json =
        JsonArray(
            [| for name, rows in results ->
                   let sync = List.head rows
                   Report.object
                       [ "layers", Report.str name
                         "rows",
                         JsonArray(
                             [| for r in rows ->
                                    Report.object
                                        [ "solver", Report.str (string r.Solver)
                                          "meanIterations", Report.num r.MeanIterations
                                          "iterationsVsSync", Report.num (r.MeanIterations / sync.MeanIterations)
                                          "seconds", Report.num r.Seconds
                                          "speedupVsSync", Report.num (sync.Seconds / r.Seconds)
                                          "notConverged", Report.int r.NotConverged
                                          "accuracy", Report.num r.Accuracy ]
                                    :> JsonNode |]) ]
                   :> JsonNode |])
    { Report.ofJson json with
        Tables =
          [ for name, rows in results ->
                let sync = List.head rows
                { Title = sprintf "HAM %s on %s test set (%d samples), tolerance %s, cap %d" name s.Dataset st.TestCount (s.Tolerance.ToString("G", c)) s.MaxIterations
                  Header = [ "variant"; "iterations"; "x sync"; "seconds"; "speed-up"; "not converged"; "accuracy %" ]
                  Rows =
                    [ for r in rows ->
                          [ string r.Solver; r.MeanIterations.ToString("F2", c); (r.MeanIterations / sync.MeanIterations).ToString("F2", c); r.Seconds.ToString("F3", c)
                            (sync.Seconds / r.Seconds).ToString("F1", c) + "x"; string r.NotConverged; r.Accuracy.ToString("F2", c) ] ] } ] }
