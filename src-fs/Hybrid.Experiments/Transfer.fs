/// Hyperparameter transfer under muPC: a grid of weight learning rate and state step.
module Hybrid.Experiments.Transfer

open System
open System.IO
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Reporting

type Settings =
    { Runs: RunSettings
      Seeds: int
      SmallWidth: int
      SmallDepth: int
      LargeWidth: int
      LargeDepth: int
      LearningRates: float list
      StateSteps: float list
      Parameterisations: Parameterisation list
      Steps: int option }

    member s.Validate() =
        s.Runs.Validate()
        Common.atLeast "seeds" 1 s.Seeds
        let size name v lo hi = if v < lo || v > hi then invalidArg name (sprintf "%s must be in %d..%d, got %d" name lo hi v)
        size "smallWidth" s.SmallWidth 1 4096
        size "largeWidth" s.LargeWidth 1 4096
        size "smallDepth" s.SmallDepth 3 512
        size "largeDepth" s.LargeDepth 3 512
        let increasing name (xs: float list) lo hi =
            if xs.Length < 2 then invalidArg name (sprintf "%s needs at least two values (a grid), got %d" name xs.Length)
            for x in xs do
                if not (x > lo && x <= hi) then invalidArg name (sprintf "%s must be in (%g, %g], got %g" name lo hi x)
            for a, b in List.pairwise xs do
                if not (b > a) then invalidArg name (sprintf "%s must increase, got %g then %g" name a b)
        increasing "learningRates" s.LearningRates 0.0 10.0
        increasing "stateSteps" s.StateSteps 0.0 10.0
        if s.Parameterisations.IsEmpty then invalidArg "parameterisations" "give at least one parameterisation"
        if List.distinct s.Parameterisations <> s.Parameterisations then invalidArg "parameterisations" "parameterisations must not repeat"
        s.Steps |> Option.iter (fun t -> if t < 1 || t > 10000 then invalidArg "steps" (sprintf "steps must be in 1..10000, got %d" t))

let defaults =
    { Runs = { Common.runs "fashion-mnist" 1 with Fraction = 0.1 }
      Seeds = 2
      SmallWidth = 32
      SmallDepth = 4
      LargeWidth = 128
      LargeDepth = 16
      LearningRates = [ 0.003; 0.01; 0.03; 0.1; 0.3 ]
      StateSteps = [ 0.0125; 0.025; 0.05; 0.1; 0.2 ]
      Parameterisations = [ Parameterisation.Sp; Parameterisation.MuPC ]
      Steps = None }

let codec: Codec<Settings> =
    Codec.record (
        Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
        @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
            Codec.field "smallWidth" "Hidden width of the small network" Codec.int (fun s -> s.SmallWidth) (fun v s -> { s with SmallWidth = v })
            Codec.field "smallDepth" "Weight layers of the small network" Codec.int (fun s -> s.SmallDepth) (fun v s -> { s with SmallDepth = v })
            Codec.field "largeWidth" "Hidden width of the large network" Codec.int (fun s -> s.LargeWidth) (fun v s -> { s with LargeWidth = v })
            Codec.field "largeDepth" "Weight layers of the large network" Codec.int (fun s -> s.LargeDepth) (fun v s -> { s with LargeDepth = v })
            Codec.field "learningRates" "AdamW learning rates of the weights, increasing" (Codec.items Codec.float) (fun s -> s.LearningRates) (fun v s -> { s with LearningRates = v })
            Codec.field "stateSteps" "State steps of sPC's inference, increasing" (Codec.items Codec.float) (fun s -> s.StateSteps) (fun v s -> { s with StateSteps = v })
            Codec.field "parameterisations" "Parameterisations compared: sp, ntp, mupc" (Codec.items (Codec.choice Choices.parameterisation)) (fun s -> s.Parameterisations) (fun v s -> { s with Parameterisations = v })
            Codec.field "steps" "Inference steps T (null: the configs', 8)" (Codec.option Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v }) ])
    |> Codec.check (fun s -> s.Validate())

type Grid =
    { Parameterisation: Parameterisation
      Width: int
      Depth: int
      Accuracy: float[,]
      Best: int * int
      BestAccuracy: float
      Plot: string }

type Verdict =
    { Parameterisation: Parameterisation
      Small: Grid
      Large: Grid
      LearningRateShift: int
      StateStepShift: int
      Transfers: bool
      LargeAtSmallBest: float
      Regret: float }

type Study =
    { Settings: Settings
      Table: Table.Outcome
      Verdicts: Verdict list }

let private name (p: Parameterisation) = Choices.parameterisation.Name p

let label (p: Parameterisation) (width: int) (depth: int) (lr: float) (step: float) =
    sprintf "%s N=%d L=%d lr=%s step=%s" (name p) width depth (lr.ToString("R", Report.culture)) (step.ToString("R", Report.culture))

let private sizes (s: Settings) = [ s.SmallWidth, s.SmallDepth; s.LargeWidth, s.LargeDepth ]

let private config (s: Settings) (p: Parameterisation) (width: int) (depth: int) (lr: float) (step: float) (seed: int) : TrainConfig =
    let file = if p = Parameterisation.Sp then "mupc/sp.json" else "mupc/mupc.json"
    let cfg = Configs.train file |> Common.withRuns s.Runs (int64 seed)
    let arch, loss, init =
        Config.changeModel
            { Config.ModelChanges.None with Width = Some width; Layers = Some depth; Parameterisation = Some p }
            (cfg.Architecture, cfg.Loss, cfg.WeightInit)
    let algorithm =
        Config.changeAlgorithm { Config.AlgorithmChanges.None with Inference = Some(fun i -> { i with StepSize = step }) } cfg.Algorithm
    { cfg with
        Name = sprintf "transfer-%s-N%d-L%d-lr%g-step%g-s%d" (name p) width depth lr step seed
        Architecture = arch
        Loss = loss
        WeightInit = init
        Algorithm = algorithm
        Optimizer = OptimizerSpec.AdamW(lr, 0.0) }
    |> Common.withSteps s.Steps

let private cells (s: Settings) =
    [ for p in s.Parameterisations do
          for width, depth in sizes s do
              for lr in s.LearningRates do
                  for step in s.StateSteps -> p, width, depth, lr, step ]

let private gridOf (s: Settings) (t: Table.Outcome) (folder: string) (p: Parameterisation) (width: int) (depth: int) : Grid =
    let rows = t.Rows |> List.map (fun r -> r.Method, r) |> Map.ofList
    let nl, ns = s.LearningRates.Length, s.StateSteps.Length
    let acc =
        Array2D.init nl ns (fun i j ->
            let r = rows[label p width depth s.LearningRates[i] s.StateSteps[j]]
            if r.Failed > 0 || r.Best.Length < s.Seeds then nan else fst (Table.meanStd r.Best))
    let mutable best = (0, 0)
    let mutable bestAcc = Double.NegativeInfinity
    for i in 0 .. nl - 1 do
        for j in 0 .. ns - 1 do
            if Double.IsFinite acc[i, j] && acc[i, j] > bestAcc then
                best <- (i, j)
                bestAcc <- acc[i, j]
    let plot =
        Plots.heatmap
            (Path.Combine(folder, sprintf "theory-transfer-%s-N%d-L%d.png" (name p) width depth))
            (sprintf "%s, width %d, %d layers: best test accuracy %% (mean over %d seed(s))" (name p) width depth s.Seeds)
            "state step" "weight learning rate"
            (s.LearningRates |> List.map (fun v -> v.ToString("G3", Report.culture)))
            (s.StateSteps |> List.map (fun v -> v.ToString("G3", Report.culture)))
            acc
    { Parameterisation = p; Width = width; Depth = depth; Accuracy = acc; Best = best; BestAccuracy = (if Double.IsFinite bestAcc then bestAcc else nan); Plot = plot }

let private verdict (small: Grid) (large: Grid) : Verdict =
    let (si, sj), (li, lj) = small.Best, large.Best
    let atSmall = large.Accuracy[si, sj]
    { Parameterisation = small.Parameterisation
      Small = small
      Large = large
      LearningRateShift = li - si
      StateStepShift = lj - sj
      Transfers = Double.IsFinite small.BestAccuracy && Double.IsFinite large.BestAccuracy && abs (li - si) <= 1 && abs (lj - sj) <= 1
      LargeAtSmallBest = atSmall
      Regret = large.BestAccuracy - atSmall }

let private gridJson (s: Settings) (g: Grid) : JsonNode =
    let i, j = g.Best
    Report.object
        [ "parameterisation", Report.str (name g.Parameterisation)
          "width", Report.int g.Width
          "depth", Report.int g.Depth
          "accuracy",
          JsonArray([| for i in 0 .. Array2D.length1 g.Accuracy - 1 -> JsonArray([| for j in 0 .. Array2D.length2 g.Accuracy - 1 -> Report.number g.Accuracy[i, j] |]) :> JsonNode |])
          "bestLearningRate", Report.num s.LearningRates[i]
          "bestStateStep", Report.num s.StateSteps[j]
          "bestAccuracy", Report.number g.BestAccuracy
          "plot", Report.str g.Plot ]
    :> JsonNode

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "experiment", Report.str "theory-transfer"
          "learningRates", JsonArray(s.LearningRates |> List.map Report.num |> Array.ofList)
          "stateSteps", JsonArray(s.StateSteps |> List.map Report.num |> Array.ofList)
          "seeds", Report.int s.Seeds
          "verdicts",
          JsonArray(
              [| for v in st.Verdicts ->
                     Report.object
                         [ "parameterisation", Report.str (name v.Parameterisation)
                           "small", gridJson s v.Small
                           "large", gridJson s v.Large
                           "learningRateShift", Report.int v.LearningRateShift
                           "stateStepShift", Report.int v.StateStepShift
                           "transfers", Report.bool v.Transfers
                           "largeAtSmallBest", Report.number v.LargeAtSmallBest
                           "regret", Report.number v.Regret ]
                     :> JsonNode |])
          "wallSeconds", Report.num st.Table.WallSeconds
          "runs", Report.str st.Table.Folder
          "storage", Report.str st.Table.Storage ]

let run (s: Settings) (observer: Observer) (cancel: Threading.CancellationToken) : Study =
    s.Validate()
    let jobs =
        [ for p, width, depth, lr, step in cells s do
              for seed in 0 .. s.Seeds - 1 -> label p width depth lr step, config s p width depth lr step seed ]
    let table =
        Table.run
            { Name = sprintf "transfer-%s" s.Runs.Dataset
              Title = sprintf "sPC on residual MLPs, %s, %d epoch(s): best test accuracy %% per weight learning rate and state step" s.Runs.Dataset s.Runs.Epochs
              Settings = s.Runs
              Jobs = jobs
              Methods = cells s |> List.map (fun (p, w, d, lr, step) -> label p w d lr step, None) }
            observer
            cancel
    let grids p = [ for width, depth in sizes s -> gridOf s table table.Folder p width depth ]
    let verdicts =
        [ for p in s.Parameterisations ->
              match grids p with
              | [ small; large ] -> verdict small large
              | _ -> failwith "two sizes" ]
    let st = { Settings = s; Table = table; Verdicts = verdicts }
    Report.writeJson (Path.Combine(table.Folder, "theory-transfer.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let pct (x: float) = if Double.IsFinite x then x.ToString("F2", c) else "div"
    let cell (g: Grid) =
        let i, j = g.Best
        sprintf "lr %s, step %s: %s" (s.LearningRates[i].ToString("G3", c)) (s.StateSteps[j].ToString("G3", c)) (pct g.BestAccuracy)
    let runs = Table.report st.Table
    { Json = json st
      Tables =
        [ { Title =
              sprintf "Transfer of the best (weight learning rate, state step) from width %d, L = %d to width %d, L = %d (%s, %g of the training set, %d epoch(s), %d seed(s)); paper (Innocenti et al. 2025, muPC): under muPC the best weight learning rate and state step transfer across widths and depths"
                  s.SmallWidth s.SmallDepth s.LargeWidth s.LargeDepth s.Runs.Dataset s.Runs.Fraction s.Runs.Epochs s.Seeds
            Header = [ "param."; "best, small"; "best, large"; "shift (lr, step)"; "within one step"; "large at small's best"; "regret (points)" ]
            Rows =
              [ for v in st.Verdicts ->
                    [ name v.Parameterisation; cell v.Small; cell v.Large
                      sprintf "%+d, %+d" v.LearningRateShift v.StateStepShift
                      (if v.Transfers then "yes" else "no")
                      pct v.LargeAtSmallBest; pct v.Regret ] ] } ]
        @ [ for v in st.Verdicts do
                for g in [ v.Small; v.Large ] ->
                    { Title = sprintf "%s, N = %d, L = %d: test accuracy %%" (name g.Parameterisation) g.Width g.Depth
                      Header = "lr \\ step" :: (s.StateSteps |> List.map (fun v -> v.ToString("G3", c)))
                      Rows =
                        [ for i in 0 .. s.LearningRates.Length - 1 ->
                              s.LearningRates[i].ToString("G3", c) :: [ for j in 0 .. s.StateSteps.Length - 1 -> pct g.Accuracy[i, j] ] ] } ]
      Lines =
        [ for v in st.Verdicts do
              for g in [ v.Small; v.Large ] -> sprintf "plot: %s" g.Plot ]
        @ runs.Lines
      Notes = runs.Notes
      Errors = runs.Errors
      ExitCode = runs.ExitCode }
