/// Pinchetti et al., Fig. 7: a generative PCN (latent 64, three layers of 256)
/// trained with several initializers (configs/reconstruction/NAME.json) for
/// T_train = T_eval in a list of values; the best test reconstruction error per
/// initializer and T, the loss-vs-T plot and image grids for the smallest T. With
/// `EvalSteps`, every trained model is also evaluated at each T_eval after every
/// epoch: the T_train x T_eval grid of best errors and its heatmaps (Fig. 7 left).
module Hybrid.Experiments.Reconstruction

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting
open Hybrid.Data

/// What `reproduce reconstruction` runs.
type Settings =
    { Runs: RunSettings
      Seeds: int
      /// T_train = T_eval values.
      Steps: int list
      /// Initializers (configs/reconstruction/NAME.json).
      Inits: string list
      /// T_eval values of the T_train x T_eval grid (empty: T_eval = T_train only).
      EvalSteps: int list }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        this.Runs.Validate()
        Common.atLeast "seeds" 1 this.Seeds
        if this.Steps.IsEmpty then invalidArg "steps" "steps needs at least one step count"
        for t in this.Steps do
            if t < 1 then invalidArg "steps" (sprintf "steps: %d is not a step count of at least 1" t)
        if this.Inits.IsEmpty then invalidArg "inits" "inits needs at least one initializer"
        for t in this.EvalSteps do
            if t < 1 then invalidArg "evalSteps" (sprintf "evalSteps: %d is not a step count of at least 1" t)

/// The paper's grid: random, zero, keep and memory at T in {3, 5, 10, 20}, 3 seeds, 16 epochs.
let defaults = { Runs = Common.runs "fashion-mnist" 16; Seeds = 3; Steps = [ 3; 5; 10; 20 ]; Inits = [ "random"; "zero"; "keep"; "mem" ]; EvalSteps = [] }

/// The JSON form of the settings.
let codec: Codec<Settings> =
    Codec.record (
        Common.runFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
        @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
            Codec.field "steps" "T_train = T_eval values" (Codec.items Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v })
            Codec.field "inits" "Initializers (configs/reconstruction/NAME.json)" (Codec.items Codec.string) (fun s -> s.Inits) (fun v s -> { s with Inits = v })
            Codec.field "evalSteps" "T_eval values: also evaluate every model at each after every epoch (the T_train x T_eval grid and heatmaps; empty: T_eval = T_train only)" (Codec.items Codec.int) (fun s -> s.EvalSteps) (fun v s -> { s with EvalSteps = v }) ])
    |> Codec.check (fun s -> s.Validate())

/// One run of the grid.
type private Job = { Init: string; Steps: int; Seed: int; Config: Generative.GenConfig }

/// The runs: every initializer x T x seed, from the initializer's checked-in config.
let private jobs (s: Settings) =
    [ for k in s.Inits do
          let baseConfig = Configs.generative (sprintf "reconstruction/%s.json" k)
          for t in s.Steps do
              for seed in 0 .. s.Seeds - 1 ->
                  let cfg =
                      { baseConfig with
                          Name = sprintf "recon-%s-T%d-s%d" k t seed
                          Dataset = s.Runs.Dataset
                          DataRoot = s.Runs.DataRoot
                          Fraction = s.Runs.Fraction
                          Epochs = s.Runs.Epochs
                          TrainSteps = t
                          EvalSteps = t
                          Seed = int64 seed
                          Device = s.Runs.Device }
                  { Init = k; Steps = t; Seed = seed; Config = Generative.validate cfg } ]

let private epochLine (e: Generative.GenEpoch) =
    let r (x: float) = x.ToString("R", Report.culture)
    sprintf "{\"epoch\":%d,\"trainEnergy\":%s,\"testMse\":%s,\"seconds\":%s}" e.Epoch (r e.TrainEnergy) (r e.TestMse) (r e.Seconds)

/// The first `count` images of a split as rows of pixels.
let private firstImages (split: RawSplit) (count: int) =
    [ for i in 0 .. min count split.Count - 1 -> Array.sub split.Pixels (i * split.SampleSize) split.SampleSize ]

/// The outcome of the grid: the best reconstruction error per initializer and T
/// (mean over the seeds that completed; NaN where none did), and the files written.
type Outcome =
    { Settings: Settings
      /// (initializer, T, mean best test MSE per pixel).
      Cells: (string * int * float) list
      /// Memory at the smallest T against zero initialisation at the largest (their
      /// MSEs), when both ran: can a memory save inference steps?
      MemoryVsZero: (float * float) option
      /// (initializer, T_train, T_eval, mean best test MSE per pixel) with `EvalSteps`.
      Grid: (string * int * int * float) list
      /// One heatmap per initializer of the T_train x T_eval grid.
      Heatmaps: string list
      Plot: string
      Grids: string list
      Folder: string
      WallSeconds: float
      /// Runs that diverged (their names and messages).
      Diverged: (string * string) list
      /// Whether the grid was interrupted before every run completed.
      Interrupted: bool }

    /// The cell of an initializer and T.
    member this.Cell(init: string, steps: int) =
        this.Cells |> List.pick (fun (k, t, v) -> if k = init && t = steps then Some v else None)

/// The outcome as JSON (also written to the folder's summary.json).
let private json (o: Outcome) : JsonObject =
    let s, r = o.Settings, o.Settings.Runs
    Report.object
        [ "experiment", Report.str "reconstruction"
          "dataset", Report.str r.Dataset
          "fraction", Report.num r.Fraction
          "epochs", Report.int r.Epochs
          "seeds", Report.int s.Seeds
          "cells", JsonArray([| for k, t, v in o.Cells -> Report.object [ "init", Report.str k; "T", Report.int t; "bestMse", Report.number v ] :> JsonNode |])
          "memVsZero",
          (match o.MemoryVsZero with
           | Some(mem, zero) ->
               Report.object
                   [ "memSteps", Report.int (List.min s.Steps); "zeroSteps", Report.int (List.max s.Steps); "memMse", Report.num mem
                     "zeroMse", Report.num zero; "difference", Report.num (mem - zero) ]
               :> JsonNode
           | None -> null)
          if not s.EvalSteps.IsEmpty then
              "grid",
              JsonArray(
                  [| for k, tt, te, v in o.Grid ->
                         Report.object [ "init", Report.str k; "trainSteps", Report.int tt; "evalSteps", Report.int te; "bestMse", Report.number v ] :> JsonNode |])
              "heatmaps", Report.strings o.Heatmaps
          "plot", Report.str o.Plot
          "grids", Report.strings o.Grids
          "runs", Report.str o.Folder
          "wallSeconds", Report.num o.WallSeconds ]

/// Runs the grid into `Out/reconstruction-DATASET-TIME` (one results file per run)
/// and writes the plot, the image grid and summary.json.
let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Outcome =
    s.Validate()
    let jobs = jobs s
    let r = s.Runs
    let device = Runtime.device r.Device
    let data = Dataset.load r.DataRoot r.Dataset
    let started = DateTime.UtcNow
    let outRoot = Path.Combine(r.Out, sprintf "reconstruction-%s-%s" r.Dataset (started.ToString("yyyyMMdd-HHmmss")))
    Directory.CreateDirectory outRoot |> ignore
    let tMin, tMax = List.min s.Steps, List.max s.Steps
    use testImages = Generative.images device Precision.Float32 data.Test
    let results =
        jobs
        |> List.mapi (fun i j ->
            if cancel.IsCancellationRequested then None
            else
                observer.Started i jobs.Length j.Config.Name
                use _ = torch.NewDisposeScope()
                let cfg = j.Config
                let train = Generative.images device cfg.Precision (Dataset.fraction cfg.Fraction (Rng.derive cfg.Seed "fraction") data.Train)
                let lines = ResizeArray()
                let samples = if j.Steps = tMin && j.Seed = 0 then 10 else 0
                use session = Generative.GenerativeSession.Start(cfg, train, testImages)
                // The best error at each T_eval over the epochs (NaN: never finite).
                let best = Collections.Generic.Dictionary<int, float>()
                let onEpoch (e: Generative.GenEpoch) =
                    lines.Add(epochLine e)
                    for te in s.EvalSteps do
                        let mse = try session.EvaluateAt te with DivergenceError _ -> nan
                        let old = match best.TryGetValue te with | true, v -> v | _ -> nan
                        if Double.IsFinite mse && not (mse >= old) then best[te] <- mse
                session.Run(observer.Batch, onEpoch, cancel)
                File.WriteAllLines(Path.Combine(outRoot, cfg.Name + ".jsonl"), lines)
                Some(session.Result samples, [ for te in s.EvalSteps -> te, (match best.TryGetValue te with | true, v -> v | _ -> nan) ]))
    let evalBest = List.zip jobs results |> List.map (fun (j, r) -> j, r |> Option.map snd)
    let done' = List.zip jobs (results |> List.map (Option.map fst))
    let cell k t =
        let best =
            done'
            |> List.choose (fun (j, r) ->
                match r with
                | Some r when j.Init = k && j.Steps = t && r.Status = RunStatus.Completed -> r.Best
                | _ -> None)
        if best.IsEmpty then nan else List.average best
    let plot = Path.Combine(outRoot, "loss-vs-T.png")
    Plots.write
        (Plots.figure plot (sprintf "Best test reconstruction MSE vs T (T_train = T_eval), %s" r.Dataset) "T" "MSE per pixel"
            [ for k in s.Inits -> { Plots.series k [ for t in s.Steps -> float t ] [ for t in s.Steps -> cell k t ] with Markers = true } ])
    let grids =
        // Grey images only: originals above each initializer's reconstructions (seed 0, smallest T).
        match data.Test.Shape with
        | [| 1; height; width |] ->
            let rows =
                firstImages data.Test 10
                :: [ for j, r in done' do
                         match r with
                         | Some r when j.Steps = tMin && j.Seed = 0 && r.Samples.Length > 0 -> yield List.ofArray r.Samples
                         | _ -> () ]
            let path = Path.Combine(outRoot, sprintf "reconstructions-T%d.png" tMin)
            Plots.imageGrid path rows width height 3
            [ path ]
        | _ -> []
    // Memory at the smallest T against zero initialisation at the largest: can a memory
    // save inference steps?
    let verdict =
        if List.contains "mem" s.Inits && List.contains "zero" s.Inits && tMin < tMax then
            let mem, zero = cell "mem" tMin, cell "zero" tMax
            if Double.IsNaN mem || Double.IsNaN zero then None else Some(mem, zero)
        else None
    // The T_train x T_eval grid: mean over the completed seeds of each run's best error at T_eval.
    let gridCell k tt te =
        let v =
            List.zip evalBest done'
            |> List.choose (fun ((j, eb), (_, r)) ->
                match eb, r with
                | Some eb, Some r when j.Init = k && j.Steps = tt && r.Status = RunStatus.Completed ->
                    eb |> List.tryFind (fun (t, _) -> t = te) |> Option.map snd |> Option.filter Double.IsFinite
                | _ -> None)
        if v.IsEmpty then nan else List.average v
    let grid = [ for k in s.Inits do for tt in s.Steps do for te in s.EvalSteps -> k, tt, te, gridCell k tt te ]
    let heatmaps =
        if s.EvalSteps.IsEmpty then []
        else
            [ for k in s.Inits ->
                  let values = Array2D.init s.Steps.Length s.EvalSteps.Length (fun a b -> gridCell k s.Steps[a] s.EvalSteps[b])
                  Plots.heatmap (Path.Combine(outRoot, sprintf "grid-%s.png" k)) (sprintf "Best test reconstruction MSE per pixel, %s initializer" k)
                      "T_eval" "T_train" [ for t in s.Steps -> string t ] [ for t in s.EvalSteps -> string t ] values ]
    let o =
        { Settings = s
          Cells = [ for k in s.Inits do for t in s.Steps -> k, t, cell k t ]
          MemoryVsZero = verdict
          Grid = grid
          Heatmaps = heatmaps
          Plot = plot
          Grids = grids
          Folder = outRoot
          WallSeconds = (DateTime.UtcNow - started).TotalSeconds
          Diverged =
            [ for j, r in done' do
                  match r with
                  | Some { Status = RunStatus.Diverged msg } -> yield j.Config.Name, msg
                  | _ -> () ]
          Interrupted = done' |> List.exists (fun (_, r) -> match r with Some { Status = RunStatus.Cancelled } | None -> true | _ -> false) }
    Report.writeJson (Path.Combine(outRoot, "summary.json")) (json o)
    o

/// The outcome as a report: the table of initializers against T, and the memory's reading.
let report (o: Outcome) : Report =
    let s, r = o.Settings, o.Settings.Runs
    let tMin, tMax = List.min s.Steps, List.max s.Steps
    let f5 (x: float) = if Double.IsNaN x then "-" else x.ToString("F5", Report.culture)
    { Report.ofJson (json o) with
        Notes = [ for name, msg in o.Diverged -> sprintf "%s: diverged: %s" name msg ]
        ExitCode = if not o.Diverged.IsEmpty then ExitCode.Diverged elif o.Interrupted then ExitCode.Interrupted else ExitCode.Success
        Tables =
          [ yield
                { Title =
                    sprintf "Best test reconstruction MSE per pixel (%s, fraction %g, %d epoch(s), mean over %d seed(s)); rows: initializer, columns: T_train = T_eval"
                        r.Dataset r.Fraction r.Epochs s.Seeds
                  Header = "init" :: [ for t in s.Steps -> sprintf "T=%d" t ]
                  Rows = [ for k in s.Inits -> k :: [ for t in s.Steps -> f5 (o.Cell(k, t)) ] ] }
            for k in (if s.EvalSteps.IsEmpty then [] else s.Inits) ->
                { Title = sprintf "%s: best test reconstruction MSE per pixel; rows: T_train, columns: T_eval" k
                  Header = "T_train" :: [ for t in s.EvalSteps -> sprintf "T_eval=%d" t ]
                  Rows =
                    [ for tt in s.Steps ->
                          string tt :: [ for te in s.EvalSteps -> o.Grid |> List.pick (fun (k', a, b, v) -> if k' = k && a = tt && b = te then Some(f5 v) else None) ] ] } ]
        Lines =
          [ match o.MemoryVsZero with
            | Some(mem, zero) ->
                yield
                    sprintf "memory at T=%d %s zero initialisation at T=%d (%s vs %s)" tMin
                        (if mem <= zero then "reconstructs at least as well as" else "is worse than") tMax (f5 mem) (f5 zero)
            | None -> ()
            yield sprintf "plot: %s; image grids: %s; runs: %s" o.Plot (String.Join(", ", o.Grids)) o.Folder
            for h in o.Heatmaps -> "heatmap: " + h ] }
