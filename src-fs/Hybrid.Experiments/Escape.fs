/// Escaping the saddle at the origin (Innocenti et al., NeurIPS 2024): updates until the loss
/// leaves its plateau, BP against PC with the same optimiser.
module Hybrid.Experiments.Escape

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting

type Settings =
    { Depths: int list
      Width: int
      Batch: int
      LearningRates: float list
      MaxUpdates: int
      MlpLayers: int
      MlpWidth: int
      MlpSamples: int
      MlpLearningRates: float list
      MlpMaxUpdates: int
      Seeds: int
      WeightScale: float
      Threshold: float
      InferenceStep: float
      Tolerance: float
      MaxInferenceSteps: int
      DataRoot: string option
      Out: string }

    member s.Validate() =
        let rates field (xs: float list) =
            if xs.IsEmpty then invalidArg field (sprintf "%s: give at least one learning rate" field)
            for r in xs do
                if not (r > 0.0 && r <= 100.0) then invalidArg field (sprintf "%s must be in (0, 100], got %g" field r)
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 1 || d > 32 then invalidArg "depths" (sprintf "depths must be in 1..32, got %d" d)
        if s.Width < 1 || s.Width > 256 then invalidArg "width" (sprintf "width must be in 1..256, got %d" s.Width)
        if s.Batch < 1 || s.Batch > 100000 then invalidArg "batch" (sprintf "batch must be in 1..100000, got %d" s.Batch)
        rates "learningRates" s.LearningRates
        if s.MaxUpdates < 1 || s.MaxUpdates > 10_000_000 then invalidArg "maxUpdates" (sprintf "maxUpdates must be in 1..10000000, got %d" s.MaxUpdates)
        if s.MlpLayers < 1 || s.MlpLayers > 16 then invalidArg "mlpLayers" (sprintf "mlpLayers must be in 1..16, got %d" s.MlpLayers)
        if s.MlpWidth < 1 || s.MlpWidth > 4096 then invalidArg "mlpWidth" (sprintf "mlpWidth must be in 1..4096, got %d" s.MlpWidth)
        if s.MlpSamples < 0 || s.MlpSamples > 60000 then invalidArg "mlpSamples" (sprintf "mlpSamples must be in 0..60000, got %d" s.MlpSamples)
        rates "mlpLearningRates" s.MlpLearningRates
        if s.MlpMaxUpdates < 1 || s.MlpMaxUpdates > 10_000_000 then invalidArg "mlpMaxUpdates" (sprintf "mlpMaxUpdates must be in 1..10000000, got %d" s.MlpMaxUpdates)
        if s.Seeds < 1 || s.Seeds > 1000 then invalidArg "seeds" (sprintf "seeds must be in 1..1000, got %d" s.Seeds)
        if not (s.WeightScale > 0.0 && s.WeightScale <= 10.0) then invalidArg "weightScale" (sprintf "weightScale must be in (0, 10], got %g" s.WeightScale)
        if not (s.Threshold > 0.0 && s.Threshold < 1.0) then invalidArg "threshold" (sprintf "threshold must be in (0, 1), got %g" s.Threshold)
        if not (s.InferenceStep > 0.0 && s.InferenceStep <= 10.0) then invalidArg "inferenceStep" (sprintf "inferenceStep must be in (0, 10], got %g" s.InferenceStep)
        if not (s.Tolerance > 0.0 && s.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0, 1), got %g" s.Tolerance)
        if s.MaxInferenceSteps < 1 || s.MaxInferenceSteps > 10_000_000 then invalidArg "maxInferenceSteps" (sprintf "maxInferenceSteps must be in 1..10000000, got %d" s.MaxInferenceSteps)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Depths = [ 2 .. 5 ]
      Width = 8
      Batch = 64
      LearningRates = [ 0.1; 0.2; 0.4 ]
      MaxUpdates = 1000
      MlpLayers = 3
      MlpWidth = 64
      MlpSamples = 1000
      MlpLearningRates = [ 0.25; 0.5 ]
      MlpMaxUpdates = 400
      Seeds = 3
      WeightScale = 1e-3
      Threshold = 0.9
      InferenceStep = 0.5
      Tolerance = 1e-6
      MaxInferenceSteps = 10000
      DataRoot = None
      Out = "runs/theory-escape" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Depths L (weight matrices) of the linear chains" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of the linear chains' input, hidden layers and output" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "batch" "Samples of the regression data" Codec.int (fun s -> s.Batch) (fun v s -> { s with Batch = v })
          Codec.field "learningRates" "Learning rates of the linear cases (plain SGD, the same for BP and PC)" (Codec.items Codec.float) (fun s -> s.LearningRates) (fun v s -> { s with LearningRates = v })
          Codec.field "maxUpdates" "Update budget of the linear cases" Codec.int (fun s -> s.MaxUpdates) (fun v s -> { s with MaxUpdates = v })
          Codec.field "mlpLayers" "Weight layers of the tanh MLP (784 inputs, 10 outputs)" Codec.int (fun s -> s.MlpLayers) (fun v s -> { s with MlpLayers = v })
          Codec.field "mlpWidth" "Hidden width of the MLP" Codec.int (fun s -> s.MlpWidth) (fun v s -> { s with MlpWidth = v })
          Codec.field "mlpSamples" "Fashion-MNIST training samples of the MLP case (0: no MLP case)" Codec.int (fun s -> s.MlpSamples) (fun v s -> { s with MlpSamples = v })
          Codec.field "mlpLearningRates" "Learning rates of the MLP case" (Codec.items Codec.float) (fun s -> s.MlpLearningRates) (fun v s -> { s with MlpLearningRates = v })
          Codec.field "mlpMaxUpdates" "Update budget of the MLP case" Codec.int (fun s -> s.MlpMaxUpdates) (fun v s -> { s with MlpMaxUpdates = v })
          Codec.field "seeds" "Networks (initialisation seeds) per case" Codec.int (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
          Codec.field "weightScale" "Weights N(0, scale^2 / fan_in)" Codec.float (fun s -> s.WeightScale) (fun v s -> { s with WeightScale = v })
          Codec.field "threshold" "The plateau is left at the first update with the loss below this fraction of its initial value" Codec.float (fun s -> s.Threshold) (fun v s -> { s with Threshold = v })
          Codec.field "inferenceStep" "First step size of PC's inference" Codec.float (fun s -> s.InferenceStep) (fun v s -> { s with InferenceStep = v })
          Codec.field "tolerance" "PC's inference stops when every sample's state gradient has at most this norm" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "maxInferenceSteps" "PC's inference step budget per update" Codec.int (fun s -> s.MaxInferenceSteps) (fun v s -> { s with MaxInferenceSteps = v })
          Codec.optional "data" "Dataset root folder" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
          Codec.field "out" "Folder for the plot, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type Run =
    { Escape: int option
      Diverged: bool
      Losses: float array }

type Cell =
    { Case: string
      Method: string
      LearningRate: float
      Budget: int
      Runs: Run list }

    member c.Summary =
        if c.Runs |> List.forall (fun r -> r.Escape.IsSome) then
            let xs = c.Runs |> List.map (fun r -> float r.Escape.Value)
            let m = List.average xs
            let sd = if xs.Length < 2 then 0.0 else sqrt ((xs |> List.sumBy (fun v -> (v - m) ** 2.0)) / float (xs.Length - 1))
            Some(m, sd)
        else None

type Study =
    { Settings: Settings
      Cases: string list
      Cells: Cell list
      Plot: string
      Csv: string }

/// Plain gradient descent on the weights from `net`'s initialisation until the loss is below
/// `threshold` times its initial value, the budget is spent, or it diverges. `pc`: the
/// gradient of F* at an equilibrium to the tolerance (warm-started from the last one), else
/// the loss's gradient.
let private train (s: Settings) (net: Network) (x: torch.Tensor) (y: torch.Tensor) (pc: bool) (rate: float) (budget: int) : Run =
    let ps = Theory.weights net |> Array.concat
    let opts: Theory.EquilibriumOptions = { StepSize = s.InferenceStep; Tolerance = s.Tolerance; MaxSteps = s.MaxInferenceSteps }
    let lossNow () = Scope.run (fun () -> use _ = torch.no_grad () in Scope.scalar (Theory.loss net x y))
    let l0 = lossNow ()
    let losses = Collections.Generic.List<float>([ l0 ])
    let mutable states: torch.Tensor[] = null
    let mutable escape = None
    let mutable diverged = false
    let mutable t = 0
    try
        while escape.IsNone && not diverged && t < budget do
            t <- t + 1
            Scope.run (fun () ->
                let grads =
                    if pc then
                        let eq = if isNull states then Theory.equilibrate net x (Some y) opts else Theory.equilibrateFrom net states (Some y) opts
                        let g = Theory.equilibratedGradient net eq y
                        let next = eq.States |> Array.map (fun h -> h.detach().clone().DetachFromDisposeScope())
                        if not (isNull states) then states |> Array.iter (fun h -> h.Dispose())
                        states <- next
                        g
                    else Theory.lossGradient net x y
                use _ = torch.no_grad ()
                for p, g in Array.zip ps grads do
                    p.sub_(Ops.mul g rate) |> ignore)
            let l = lossNow ()
            losses.Add l
            if not (Double.IsFinite l) || l > 1e6 * l0 then diverged <- true
            elif l < s.Threshold * l0 then escape <- Some t
    with :? ArithmeticException -> diverged <- true
    if not (isNull states) then states |> Array.iter (fun h -> h.Dispose())
    { Escape = escape; Diverged = diverged; Losses = losses.ToArray() }

/// The Fashion-MNIST subset: the first `n` training images (pixels in [0, 1]) and one-hot labels.
let private fashion (s: Settings) : torch.Tensor * torch.Tensor =
    let data = Data.Dataset.load s.DataRoot "fashion-mnist"
    let split = data.Train
    let n = min s.MlpSamples split.Count
    let size = split.SampleSize
    let x = torch.tensor(Array.sub split.Pixels 0 (n * size), dtype = torch.float64).reshape(int64 n, int64 size)
    let labels = torch.tensor(Array.sub split.Labels 0 n |> Array.map int64)
    let y = torch.nn.functional.one_hot(labels, int64 data.Classes).to_type(torch.float64)
    x.DetachFromDisposeScope(), y.DetachFromDisposeScope()

let private fmt (v: float) = v.ToString("R", Report.culture)

let best (st: Study) (case: string) (methodName: string) : float option =
    st.Cells
    |> List.filter (fun c -> c.Case = case && c.Method = methodName)
    |> List.choose (fun c -> c.Summary |> Option.map fst)
    |> function
        | [] -> None
        | xs -> Some(List.min xs)

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "seeds", Report.int s.Seeds
          "weightScale", Report.num s.WeightScale
          "threshold", Report.num s.Threshold
          "tolerance", Report.num s.Tolerance
          "cells",
          JsonArray(
              [| for c in st.Cells ->
                     Report.object
                         [ "case", Report.str c.Case
                           "method", Report.str c.Method
                           "learningRate", Report.num c.LearningRate
                           "budget", Report.int c.Budget
                           "escape",
                           JsonArray([| for r in c.Runs -> (match r.Escape with Some t -> Report.int t | None -> null) |])
                           "diverged", JsonArray([| for r in c.Runs -> Report.bool r.Diverged |]) ]
                     :> JsonNode |])
          "plot", Report.str st.Plot
          "csv", Report.str st.Csv ]

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let linear =
        [ for d in s.Depths ->
              sprintf "linear L=%d" d, (fun (seed: int64) -> TheoryNets.chain (List.replicate (d + 1) s.Width) Activation.Identity s.WeightScale seed), s.LearningRates, s.MaxUpdates ]
    let mlpName = sprintf "tanh MLP %d layers" s.MlpLayers
    let mlp =
        if s.MlpSamples = 0 then []
        else
            [ mlpName,
              (fun (seed: int64) -> TheoryNets.chain ([ 784 ] @ List.replicate (s.MlpLayers - 1) s.MlpWidth @ [ 10 ]) Activation.Tanh s.WeightScale seed),
              s.MlpLearningRates,
              s.MlpMaxUpdates ]
    let linearData = lazy (Scope.run (fun () -> let x, y = TheoryNets.regression s.Batch s.Width s.Width 0L in x.DetachFromDisposeScope(), y.DetachFromDisposeScope()))
    let mlpData = lazy (Scope.run (fun () -> fashion s))
    let cells =
        [ for name, build, rates, budget in linear @ mlp do
              let x, y = if name = mlpName && not mlp.IsEmpty then mlpData.Force() else linearData.Force()
              for rate in rates do
                  for meth in [ "BP"; "PC" ] ->
                      let runs =
                          [ for k in 0 .. s.Seeds - 1 ->
                                use net = build (int64 k)
                                let r = train s net x y (meth = "PC") rate budget
                                observer.Message(
                                    sprintf "%s, %s, lr %g, seed %d: %s" name meth rate k
                                        (match r.Escape with
                                         | Some t -> sprintf "left the plateau at update %d" t
                                         | None when r.Diverged -> "diverged"
                                         | None -> sprintf "still on the plateau after %d updates" budget))
                                r ]
                      { Case = name; Method = meth; LearningRate = rate; Budget = budget; Runs = runs } ]
    let lines =
        [ for c in cells do
              for k, r in List.indexed c.Runs ->
                  String.Join(",", [ c.Case; c.Method; fmt c.LearningRate; string k; (match r.Escape with Some t -> string t | None -> ""); string r.Diverged; string c.Budget; fmt r.Losses[0]; fmt r.Losses[r.Losses.Length - 1] ]) ]
    let csv = Path.Combine(s.Out, "theory-escape.csv")
    File.WriteAllLines(csv, "case,method,learning_rate,seed,escape_update,diverged,budget,initial_loss,final_loss" :: lines)
    let cases = (linear @ mlp) |> List.map (fun (n, _, _, _) -> n)
    // The plotted learning rate per case: the largest at which seed 0 diverged under neither method.
    let plot = Path.Combine(s.Out, "theory-escape.png")
    let series =
        [ for case in cases do
              let mine = cells |> List.filter (fun c -> c.Case = case)
              let fine = mine |> List.filter (fun c -> not c.Runs.Head.Diverged) |> List.map (fun c -> c.LearningRate)
              let ok = mine |> List.map (fun c -> c.LearningRate) |> List.distinct |> List.filter (fun r -> fine |> List.filter ((=) r) |> List.length = 2)
              match ok with
              | [] -> ()
              | _ ->
                  let rate = List.max ok
                  for c in mine |> List.filter (fun c -> c.LearningRate = rate) do
                      let ls = c.Runs.Head.Losses
                      yield { Plots.series (sprintf "%s %s lr %g" case c.Method rate) (Seq.init ls.Length float) (ls |> Array.map (fun v -> v / ls[0])) with Dashed = (c.Method = "BP") } ]
    Plots.write
        { Plots.figure plot "Leaving the plateau near the origin: BP vs PC, plain SGD, seed 0" "update" "training MSE / initial MSE" series with
            Legend = Plots.Legend.LowerRight }
    let st = { Settings = s; Cases = cases; Cells = cells; Plot = plot; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "theory-escape.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let cellText (cell: Cell) =
        match cell.Summary with
        | Some(m, sd) -> if cell.Runs.Length > 1 then sprintf "%s ± %s" (m.ToString("F0", c)) (sd.ToString("F0", c)) else m.ToString("F0", c)
        | None ->
            let escaped = cell.Runs |> List.choose (fun r -> r.Escape)
            let diverged = cell.Runs |> List.filter (fun r -> r.Diverged) |> List.length
            let head = if diverged > 0 then sprintf "diverged (%d/%d)" diverged cell.Runs.Length else sprintf "> %d" cell.Budget
            if escaped.IsEmpty then head else sprintf "%s; %s" head (String.Join(" ", escaped |> List.map string))
    let rows =
        [ for case in st.Cases do
              let mine = st.Cells |> List.filter (fun x -> x.Case = case)
              let budget = mine.Head.Budget
              let bp, pc = best st case "BP", best st case "PC"
              let holds =
                  match pc, bp with
                  | Some p, Some b -> p < b
                  | Some _, None -> true
                  | None, _ -> false
              for meth in [ "BP"; "PC" ] ->
                  let b = best st case meth
                  [ case; meth ]
                  @ [ for cell in mine |> List.filter (fun x -> x.Method = meth) -> cellText cell ]
                  @ [ (match b with Some v -> v.ToString("F0", c) | None -> sprintf "> %d" budget)
                      (if meth = "PC" then
                           (match pc, bp with
                            | Some p, Some b -> (b / p).ToString("F1", c) + "x"
                            | Some p, None -> sprintf "> %sx" ((float budget / p).ToString("F1", c))
                            | None, _ -> "-")
                       else "")
                      (if meth = "PC" then (if holds then "yes" else "no") else "") ] ]
    let table (title: string) (rates: float list) (rs: string list list) : ReportTable =
        { Title = title
          Header = [ "case"; "method" ] @ [ for r in rates -> sprintf "lr %g" r ] @ [ "best"; "BP / PC"; "claim holds" ]
          Rows = rs }
    let isMlp (r: string list) = r.Head.StartsWith "tanh"
    let title what =
        sprintf
            "Updates until the training MSE first falls below %s x its value at initialisation (mean ± sd over %d seeds; > budget: not within the budget), plain full-batch SGD on the weights from N(0, (%g)^2/fan_in), %s; PC: dF*/dθ at inference equilibria (tolerance %g); papers (Innocenti et al. 2024): PC leaves the plateau in far fewer updates than BP with the same optimiser"
            (s.Threshold.ToString("G", c)) s.Seeds s.WeightScale what s.Tolerance
    let linearRows = rows |> List.filter (isMlp >> not)
    let mlpRows = rows |> List.filter isMlp
    { Report.ofJson (json st) with
        Tables =
          [ table (title (sprintf "bias-free linear chains of width %d on %d regression samples" s.Width s.Batch)) s.LearningRates linearRows ]
          @ (if mlpRows.IsEmpty then []
             else
                 [ table
                       (title (sprintf "tanh MLP 784-%s-10 on %d Fashion-MNIST training samples, MSE on one-hot targets" (String.Join("-", List.replicate (s.MlpLayers - 1) (string s.MlpWidth))) s.MlpSamples))
                       s.MlpLearningRates
                       mlpRows ])
        Lines = [ sprintf "plot: %s" st.Plot; sprintf "per seed: %s" st.Csv ] }
