/// The conditioning of the inference landscape against depth (Innocenti et al. 2025, muPC).
module Hybrid.Experiments.Conditioning

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Data
open Hybrid.Reporting

type Settings =
    { Depths: int list
      Widths: int list
      Parameterisations: Parameterisation list
      Activation: Activation
      Samples: int
      TrainSteps: int
      BatchSize: int
      LearningRate: float
      Fraction: float
      Dataset: string
      DataRoot: string option
      Seed: int64
      Out: string }

    member s.Validate() =
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 3 || d > 128 then invalidArg "depths" (sprintf "depths must be in 3..128, got %d" d)
        if s.Widths.IsEmpty then invalidArg "widths" "give at least one width"
        for w in s.Widths do
            if w < 1 || w > 256 then invalidArg "widths" (sprintf "widths must be in 1..256, got %d" w)
        if s.Parameterisations.IsEmpty then invalidArg "parameterisations" "give at least one parameterisation (sp, ntp, mupc)"
        if s.Samples < 1 || s.Samples > 256 then invalidArg "samples" (sprintf "samples must be in 1..256, got %d" s.Samples)
        if s.TrainSteps < 0 || s.TrainSteps > 100000 then invalidArg "trainSteps" (sprintf "trainSteps must be in 0..100000, got %d" s.TrainSteps)
        if s.BatchSize < 1 || s.BatchSize > 10000 then invalidArg "batchSize" (sprintf "batchSize must be in 1..10000, got %d" s.BatchSize)
        if not (s.LearningRate > 0.0 && s.LearningRate <= 10.0) then invalidArg "learningRate" (sprintf "learningRate must be in (0, 10], got %g" s.LearningRate)
        if not (s.Fraction > 0.0 && s.Fraction <= 1.0) then invalidArg "fraction" (sprintf "fraction must be in (0, 1], got %g" s.Fraction)
        if String.IsNullOrWhiteSpace s.Dataset then invalidArg "dataset" "dataset must name a dataset"
        if s.Seed < 0L then invalidArg "seed" (sprintf "seed must be at least 0, got %d" s.Seed)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Depths = [ 4; 8; 16; 32 ]
      Widths = [ 16; 64 ]
      Parameterisations = [ Parameterisation.Sp; Parameterisation.Ntp; Parameterisation.MuPC ]
      Activation = Activation.Relu
      Samples = 4
      TrainSteps = 50
      BatchSize = 64
      LearningRate = 0.1
      Fraction = 0.1
      Dataset = "fashion-mnist"
      DataRoot = None
      Seed = 0L
      Out = "runs/theory-conditioning" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Numbers of weight layers L of the residual MLPs" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "widths" "Widths N of the hidden layers" (Codec.items Codec.int) (fun s -> s.Widths) (fun v s -> { s with Widths = v })
          Codec.field "parameterisations" "Parameterisations compared: sp, ntp, mupc" (Codec.items (Codec.choice Choices.parameterisation)) (fun s -> s.Parameterisations) (fun v s -> { s with Parameterisations = v })
          Codec.field "activation" "Activation of the residual blocks" (Codec.choice Choices.activation) (fun s -> s.Activation) (fun v s -> { s with Activation = v })
          Codec.field "samples" "Test images whose activity Hessians are measured (median reported)" Codec.int (fun s -> s.Samples) (fun v s -> { s with Samples = v })
          Codec.field "trainSteps" "Weight updates (by sPC) of the short training (0: initialisation only)" Codec.int (fun s -> s.TrainSteps) (fun v s -> { s with TrainSteps = v })
          Codec.field "batchSize" "Samples per training batch" Codec.int (fun s -> s.BatchSize) (fun v s -> { s with BatchSize = v })
          Codec.field "learningRate" "AdamW learning rate of the short training" Codec.float (fun s -> s.LearningRate) (fun v s -> { s with LearningRate = v })
          Codec.field "fraction" "Fraction of the training set the batches are drawn from, in (0,1]" Codec.float (fun s -> s.Fraction) (fun v s -> { s with Fraction = v })
          Codec.field "dataset" "Dataset: fashion-mnist, mnist10k, mnist, kmnist or folder:PATH" Codec.string (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
          Codec.optional "data" "Dataset root folder (default: $HYBRID_DATA, then the standard folders)" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
          Codec.field "seed" "Seed of the networks and of the batches" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "out" "Folder for the plot, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type Spectrum =
    { Smallest: float
      Largest: float
      Condition: float }

type Cell =
    { Parameterisation: Parameterisation
      Width: int
      Depth: int
      SpcInit: Spectrum
      EpcInit: Spectrum
      SpcTrained: Spectrum option
      EpcTrained: Spectrum option
      InitAccuracy: float
      TrainedAccuracy: float option
      Diverged: string option }

type Study =
    { Settings: Settings
      Cells: Cell list
      Plot: string
      Csv: string
      WallSeconds: float }

let private median (xs: float list) =
    let a = xs |> List.sort |> Array.ofList
    if a.Length = 0 then nan
    elif a.Length % 2 = 1 then a[a.Length / 2]
    else 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2])

let spectrum (net: Network) (reparam: Reparam) (x: Tensor) (y: Tensor) : Spectrum =
    Scope.run (fun () ->
        let states =
            use _ = torch.no_grad ()
            let hs = Array.zeroCreate<Tensor> net.Depth
            hs[0] <- x
            for l in 1 .. net.Depth - 1 do
                hs[l] <- net.Blocks[l - 1].Forward(hs[l - 1])
            hs
        let h = Theory.activityHessian net reparam states (Some y)
        let per = [ for i in 0L .. h.shape[0] - 1L -> Theory.extremes (h.select(0L, i)) ]
        { Smallest = per |> List.map (fun e -> e.Smallest) |> median
          Largest = per |> List.map (fun e -> e.Largest) |> median
          Condition = per |> List.map (fun e -> e.Condition) |> median })

/// The run configuration of one network: configs/mupc's training (sPC, T = 8, step 0.05,
/// AdamW), with this width, depth, activation and parameterisation, in float64 on the CPU.
let private config (s: Settings) (p: Parameterisation) (width: int) (depth: int) : TrainConfig =
    let file = if p = Parameterisation.Sp then "mupc/sp.json" else "mupc/mupc.json"
    let cfg = Configs.train file
    let arch, loss, init =
        Config.changeModel
            { Config.ModelChanges.None with Width = Some width; Layers = Some depth; Activation = Some s.Activation; Parameterisation = Some p }
            (cfg.Architecture, cfg.Loss, cfg.WeightInit)
    { cfg with
        Name = sprintf "conditioning-%O-N%d-L%d" p width depth
        Dataset = s.Dataset
        DataRoot = s.DataRoot
        Fraction = s.Fraction
        Architecture = arch
        Loss = loss
        WeightInit = init
        Optimizer = OptimizerSpec.AdamW(s.LearningRate, 0.0)
        BatchSize = s.BatchSize
        Epochs = 1 + s.TrainSteps
        Seed = s.Seed
        Precision = Precision.Float64
        Device = DeviceChoice.Cpu
        EvalEvery = 0
        TensorBoard = false }

let private cell (s: Settings) (data: RunData) (x: Tensor) (y: Tensor) (p: Parameterisation) (width: int) (depth: int) : Cell =
    use session = TrainingSession.Start(config s p width depth, data)
    let net = session.Network
    let spcInit = spectrum net Reparam.States x y
    let epcInit = spectrum net Reparam.Errors x y
    let initAccuracy = session.Evaluate()
    let mutable k = 0
    while k < s.TrainSteps && not session.Finished do
        session.Step() |> ignore
        k <- k + 1
    let diverged =
        match session.Status with
        | RunStatus.Diverged msg -> Some msg
        | _ -> None
    let trained = s.TrainSteps > 0 && diverged.IsNone
    let finite (sp: Spectrum) = if Double.IsFinite sp.Largest then Some sp else None
    { Parameterisation = p
      Width = width
      Depth = depth
      SpcInit = spcInit
      EpcInit = epcInit
      SpcTrained = if trained then finite (spectrum net Reparam.States x y) else None
      EpcTrained = if trained then finite (spectrum net Reparam.Errors x y) else None
      InitAccuracy = initAccuracy
      TrainedAccuracy = if trained then Some(session.Evaluate()) else None
      Diverged = diverged }

let private spectrumJson (sp: Spectrum option) : JsonNode =
    match sp with
    | None -> null
    | Some sp -> Report.object [ "smallest", Report.number sp.Smallest; "largest", Report.number sp.Largest; "condition", Report.number sp.Condition ] :> JsonNode

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "activation", Report.str (string s.Activation)
          "samples", Report.int s.Samples
          "trainSteps", Report.int s.TrainSteps
          "batchSize", Report.int s.BatchSize
          "learningRate", Report.num s.LearningRate
          "dataset", Report.str s.Dataset
          "cells",
          JsonArray(
              [| for c in st.Cells ->
                     Report.object
                         [ "parameterisation", Report.str (string c.Parameterisation)
                           "width", Report.int c.Width
                           "depth", Report.int c.Depth
                           "spcInit", spectrumJson (Some c.SpcInit)
                           "epcInit", spectrumJson (Some c.EpcInit)
                           "spcTrained", spectrumJson c.SpcTrained
                           "epcTrained", spectrumJson c.EpcTrained
                           "initAccuracy", Report.num c.InitAccuracy
                           "trainedAccuracy", Report.optional c.TrainedAccuracy
                           "diverged", (match c.Diverged with Some m -> Report.str m | None -> null) ]
                     :> JsonNode |])
          "wallSeconds", Report.num st.WallSeconds
          "plot", Report.str st.Plot
          "csv", Report.str st.Csv ]

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    let started = DateTime.UtcNow
    Directory.CreateDirectory s.Out |> ignore
    let dataset = Dataset.load s.DataRoot s.Dataset
    let first = config s s.Parameterisations.Head s.Widths.Head s.Depths.Head
    use data = Training.prepare first (Runtime.device first.Device) dataset
    let n = min (int64 s.Samples) data.Test.X.shape[0]
    let x = data.Test.X.narrow(0L, 0L, n)
    let y = TensorSplit.oneHot data.Classes Precision.Float64 (data.Test.Y.narrow(0L, 0L, n))
    let cells =
        [ for p in s.Parameterisations do
              for w in s.Widths do
                  for d in s.Depths ->
                      let c = cell s data x y p w d
                      let after =
                          match c.SpcTrained with
                          | Some t -> sprintf ", after training %.3g" t.Condition
                          | None -> match c.Diverged with Some _ -> ", training diverged" | None -> ""
                      observer.Message(sprintf "%O N = %d L = %d: sPC condition %.3g at init%s" p w d c.SpcInit.Condition after)
                      c ]
    let c = Report.culture
    let r (v: float) = v.ToString("R", c)
    let opt (sp: Spectrum option) = match sp with Some sp -> [ r sp.Smallest; r sp.Largest; r sp.Condition ] | None -> [ ""; ""; "" ]
    let csv = Path.Combine(s.Out, "theory-conditioning.csv")
    File.WriteAllLines(
        csv,
        "parameterisation,width,depth,spc_init_min,spc_init_max,spc_init_condition,epc_init_min,epc_init_max,epc_init_condition,spc_trained_min,spc_trained_max,spc_trained_condition,epc_trained_min,epc_trained_max,epc_trained_condition,init_accuracy,trained_accuracy"
        :: [ for cl in cells ->
                 String.Join(
                     ",",
                     [ string cl.Parameterisation; string cl.Width; string cl.Depth ]
                     @ opt (Some cl.SpcInit) @ opt (Some cl.EpcInit) @ opt cl.SpcTrained @ opt cl.EpcTrained
                     @ [ r cl.InitAccuracy; (match cl.TrainedAccuracy with Some a -> r a | None -> "") ]) ])
    let plot = Path.Combine(s.Out, "theory-conditioning.png")
    let series =
        [ for p in s.Parameterisations do
              for w in s.Widths do
                  let mine = cells |> List.filter (fun cl -> cl.Parameterisation = p && cl.Width = w)
                  let depths = mine |> List.map (fun cl -> float cl.Depth)
                  yield Plots.series (sprintf "%O N=%d sPC init" p w) depths (mine |> List.map (fun cl -> cl.SpcInit.Condition))
                  yield { Plots.series (sprintf "%O N=%d ePC init" p w) depths (mine |> List.map (fun cl -> cl.EpcInit.Condition)) with Dashed = true } ]
    Plots.write
        { Plots.figure plot "Activity-Hessian condition number against depth, residual MLPs at initialisation" "depth L" "condition number (median over samples)" series with
            LogY = true }
    let st = { Settings = s; Cells = cells; Plot = plot; Csv = csv; WallSeconds = (DateTime.UtcNow - started).TotalSeconds }
    Report.writeJson (Path.Combine(s.Out, "theory-conditioning.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let e (x: float) = if Double.IsFinite x then x.ToString("0.00e+00", c) else string x
    let three (sp: Spectrum option) = match sp with Some sp -> [ e sp.Smallest; e sp.Largest; e sp.Condition ] | None -> [ "-"; "-"; "-" ]
    let trainedNote =
        if s.TrainSteps = 0 then "initialisation only"
        else sprintf "after %d sPC updates (batch %d, AdamW %s, T = 8, step 0.05)" s.TrainSteps s.BatchSize (s.LearningRate.ToString("G", c))
    let statement =
        "paper (Innocenti et al. 2025, muPC): the activity Hessian grows ill-conditioned with depth; muPC keeps the forward pass stable at depth"
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf "Activity-Hessian spectrum (median over %d %s test images, forward-pass states, output clamped), residual %O MLPs, at initialisation; %s"
                    s.Samples s.Dataset s.Activation statement
              Header = [ "param."; "N"; "L"; "sPC λmin"; "sPC λmax"; "sPC κ"; "ePC λmin"; "ePC λmax"; "ePC κ"; "test acc. %" ]
              Rows =
                [ for cl in st.Cells ->
                      [ string cl.Parameterisation; string cl.Width; string cl.Depth ]
                      @ three (Some cl.SpcInit) @ three (Some cl.EpcInit) @ [ cl.InitAccuracy.ToString("F1", c) ] ] }
            { Title = sprintf "The same %s; %s" trainedNote statement
              Header = [ "param."; "N"; "L"; "sPC λmin"; "sPC λmax"; "sPC κ"; "ePC λmin"; "ePC λmax"; "ePC κ"; "test acc. %" ]
              Rows =
                [ for cl in st.Cells ->
                      [ string cl.Parameterisation; string cl.Width; string cl.Depth ]
                      @ three cl.SpcTrained @ three cl.EpcTrained
                      @ [ (match cl.TrainedAccuracy, cl.Diverged with
                           | Some a, _ -> a.ToString("F1", c)
                           | None, Some _ -> "diverged"
                           | None, None -> "-") ] ] } ]
        Lines = [ sprintf "plot: %s" st.Plot; sprintf "per network: %s" st.Csv; sprintf "wall time %ss" (st.WallSeconds.ToString("F0", c)) ] }
