/// The effective landscape and vanishing gradients: dF*/dW_l against dL/dW_l per layer.
module Hybrid.Experiments.EffectiveGradients

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting

type Settings =
    { Dataset: string
      DataRoot: string option
      Samples: int
      Activations: string list
      Depths: int list
      Width: int
      WeightScale: float
      Updates: int
      LearningRate: float
      Records: int
      Tolerance: float
      MaxSteps: int
      Seed: int64
      Out: string }

    member s.Validate() =
        if String.IsNullOrWhiteSpace s.Dataset then invalidArg "dataset" "dataset must name a dataset"
        if s.Samples < 1 || s.Samples > 60000 then invalidArg "samples" (sprintf "samples must be in 1..60000, got %d" s.Samples)
        if s.Activations.IsEmpty then invalidArg "activations" "give at least one activation"
        for a in s.Activations do
            if not (List.contains a [ "tanh"; "sigmoid"; "identity" ]) then
                invalidArg "activations" (sprintf "activations must be tanh, sigmoid or identity, got '%s'" a)
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 2 || d > 64 then invalidArg "depths" (sprintf "depths must be in 2..64, got %d" d)
        if s.Width < 1 || s.Width > 1024 then invalidArg "width" (sprintf "width must be in 1..1024, got %d" s.Width)
        if not (s.WeightScale > 0.0 && s.WeightScale <= 10.0) then invalidArg "weightScale" (sprintf "weightScale must be in (0, 10], got %g" s.WeightScale)
        if s.Updates < 0 || s.Updates > 100000 then invalidArg "updates" (sprintf "updates must be in 0..100000, got %d" s.Updates)
        if not (s.LearningRate > 0.0 && s.LearningRate <= 100.0) then invalidArg "learningRate" (sprintf "learningRate must be in (0, 100], got %g" s.LearningRate)
        if s.Records < 1 || s.Records > 1000 then invalidArg "records" (sprintf "records must be in 1..1000, got %d" s.Records)
        if not (s.Tolerance > 0.0 && s.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0, 1), got %g" s.Tolerance)
        if s.MaxSteps < 1 || s.MaxSteps > 10_000_000 then invalidArg "maxSteps" (sprintf "maxSteps must be in 1..10000000, got %d" s.MaxSteps)
        if s.Seed < 0L then invalidArg "seed" (sprintf "seed must be non-negative, got %d" s.Seed)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Dataset = "fashion-mnist"; DataRoot = None; Samples = 256; Activations = [ "tanh"; "sigmoid" ]; Depths = [ 5; 10; 20 ]; Width = 32
      WeightScale = 1.0; Updates = 30; LearningRate = 0.1; Records = 4; Tolerance = 1e-5; MaxSteps = 20000; Seed = 0L; Out = "runs/theory-gradients" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "dataset" "Dataset (registry name or folder:PATH)" Codec.string (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
          Codec.optional "data" "Dataset root folder" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
          Codec.field "samples" "Training samples used (one full batch)" Codec.int (fun s -> s.Samples) (fun v s -> { s with Samples = v })
          Codec.field "activations" "Hidden activations: tanh, sigmoid or identity" (Codec.items Codec.string) (fun s -> s.Activations) (fun v s -> { s with Activations = v })
          Codec.field "depths" "Depths L (weight matrices)" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of the hidden layers" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "weightScale" "Weights N(0, scale^2 / fan_in)" Codec.float (fun s -> s.WeightScale) (fun v s -> { s with WeightScale = v })
          Codec.field "updates" "SGD updates by PC (and by BP, for its loss)" Codec.int (fun s -> s.Updates) (fun v s -> { s with Updates = v })
          Codec.field "learningRate" "SGD learning rate" Codec.float (fun s -> s.LearningRate) (fun v s -> { s with LearningRate = v })
          Codec.field "records" "Points of training at which both gradients are recorded" Codec.int (fun s -> s.Records) (fun v s -> { s with Records = v })
          Codec.field "tolerance" "Inference stops when every sample's state gradient has at most this norm" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "maxSteps" "Inference step budget" Codec.int (fun s -> s.MaxSteps) (fun v s -> { s with MaxSteps = v })
          Codec.field "seed" "Seed of the weights" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "out" "Folder for the plots, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type Record =
    { Update: int
      Bp: float array
      Pc: float array
      Loss: float
      Energy: float
      Steps: int
      Converged: bool }

type Case =
    { Activation: string
      Depth: int
      Records: Record list
      BpLoss: float }

type Study =
    { Settings: Settings
      Cases: Case list
      Plots: string list
      Csv: string }

let ratio (norms: float array) = norms[0] / norms[norms.Length - 1]

let private activationOf name =
    match name with
    | "tanh" -> Activation.Tanh
    | "sigmoid" -> Activation.Sigmoid
    | _ -> Activation.Identity

let private sgd (net: Network) (grads: torch.Tensor array) (rate: float) =
    use _ = torch.no_grad ()
    let ps = Theory.weights net |> Array.concat
    Array.iter2 (fun (p: Modules.Parameter) (g: torch.Tensor) -> p.sub_(Ops.mul g rate) |> ignore) ps grads

let private runCase (s: Settings) (x: torch.Tensor) (y: torch.Tensor) (act: string) (depth: int) : Case =
    let sizes = int x.shape[1] :: List.replicate (depth - 1) s.Width @ [ int y.shape[1] ]
    let opts: Theory.EquilibriumOptions = { StepSize = 0.5; Tolerance = s.Tolerance; MaxSteps = s.MaxSteps }
    let points = set [ for i in 0 .. s.Records - 1 -> if s.Records = 1 then 0 else int (Math.Round(float i * float s.Updates / float (s.Records - 1))) ]
    let records =
        use net = TheoryNets.chain sizes (activationOf act) s.WeightScale s.Seed
        [ for k in 0 .. s.Updates do
              let r =
                  Scope.run (fun () ->
                      let eq = Theory.equilibrate net x (Some y) opts
                      let pc = Theory.equilibratedGradient net eq y
                      let r =
                          if points.Contains k then
                              Some
                                  { Update = k
                                    Bp = Theory.layerNorms net (Theory.lossGradient net x y)
                                    Pc = Theory.layerNorms net pc
                                    Loss = Scope.scalar (Theory.loss net x y)
                                    Energy = eq.Energy
                                    Steps = eq.Steps
                                    Converged = eq.Converged }
                          else None
                      if k < s.Updates then sgd net pc s.LearningRate
                      r)
              yield! Option.toList r ]
    let bpLoss =
        use net = TheoryNets.chain sizes (activationOf act) s.WeightScale s.Seed
        for _ in 1 .. s.Updates do
            Scope.run (fun () -> sgd net (Theory.lossGradient net x y) s.LearningRate)
        Scope.run (fun () -> Scope.scalar (Theory.loss net x y))
    { Activation = act; Depth = depth; Records = records; BpLoss = bpLoss }

let private nums (xs: float array) = JsonArray(xs |> Array.map Report.num)

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "dataset", Report.str s.Dataset
          "samples", Report.int s.Samples
          "width", Report.int s.Width
          "weightScale", Report.num s.WeightScale
          "updates", Report.int s.Updates
          "learningRate", Report.num s.LearningRate
          "tolerance", Report.num s.Tolerance
          "cases",
          JsonArray(
              [| for c in st.Cases ->
                     Report.object
                         [ "activation", Report.str c.Activation
                           "depth", Report.int c.Depth
                           "bpLoss", Report.num c.BpLoss
                           "records",
                           JsonArray(
                               [| for r in c.Records ->
                                      Report.object
                                          [ "update", Report.int r.Update
                                            "bp", nums r.Bp
                                            "pc", nums r.Pc
                                            "loss", Report.num r.Loss
                                            "energy", Report.num r.Energy
                                            "steps", Report.int r.Steps
                                            "converged", Report.bool r.Converged ]
                                      :> JsonNode |])
                           :> JsonNode ]
                     :> JsonNode |])
          "plots", Report.strings st.Plots
          "csv", Report.str st.Csv ]

let private load (s: Settings) =
    let data = Data.Dataset.load s.DataRoot s.Dataset
    let split = data.Train
    if split.Count < s.Samples then invalidArg "samples" (sprintf "the training split of %s holds %d samples, fewer than %d" s.Dataset split.Count s.Samples)
    let size = split.SampleSize
    let x = torch.tensor(Array.sub split.Pixels 0 (s.Samples * size)).reshape(int64 s.Samples, int64 size).``to``(torch.float64)
    let x = Ops.div (Ops.minus x (x.mean())) (max (Scope.scalar (x.std())) 1e-12)
    let labels = torch.tensor(Array.sub split.Labels 0 s.Samples |> Array.map int64)
    let y = torch.nn.functional.one_hot(labels, int64 data.Classes).``to``(torch.float64)
    x, y

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    let cases =
        Scope.run (fun () ->
            let x, y = load s
            [ for act in s.Activations do
                  for depth in s.Depths ->
                      let case = runCase s x y act depth
                      let first, last = List.head case.Records, List.last case.Records
                      observer.Message(
                          sprintf "%s L = %d: first/last layer gradient norm at init BP %.2e, PC %.2e; loss %.4f -> %.4f (PC), %.4f (BP)"
                              act depth (ratio first.Bp) (ratio first.Pc) first.Loss last.Loss case.BpLoss)
                      case ])
    let csv = Path.Combine(s.Out, "theory-gradients.csv")
    let rows =
        [ for case in cases do
              for r in case.Records do
                  for l in 0 .. r.Bp.Length - 1 ->
                      String.Join(",", [ case.Activation; string case.Depth; string r.Update; string (l + 1); r.Bp[l].ToString("R", c); r.Pc[l].ToString("R", c); r.Loss.ToString("R", c); r.Energy.ToString("R", c); string r.Steps; string r.Converged ]) ]
    File.WriteAllLines(csv, "activation,depth,update,layer,bp_norm,pc_norm,loss,energy,steps,converged" :: rows)
    let plots =
        [ for act in s.Activations ->
              let path = Path.Combine(s.Out, sprintf "theory-gradients-%s.png" act)
              let series =
                  [ for case in cases do
                        if case.Activation = act then
                            let r = List.head case.Records
                            let layers = [ for l in 1 .. r.Bp.Length -> float l ]
                            yield Plots.series (sprintf "BP dL/dW, L=%d" case.Depth) layers (List.ofArray r.Bp)
                            yield { Plots.series (sprintf "PC dF*/dW, L=%d" case.Depth) layers (List.ofArray r.Pc) with Dashed = true } ]
              Plots.write { Plots.figure path (sprintf "Per-layer gradient norms at initialisation, %s" act) "layer l" "||gradient of W_l||" series with LogY = true }
              path ]
    let st = { Settings = s; Cases = cases; Plots = plots; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "theory-gradients.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let e (x: float) = x.ToString("0.00e+00", c)
    let f (x: float) = x.ToString("F4", c)
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf "First/last-layer gradient norm (1 = no vanishing) of BP's dL/dW and PC's dF*/dW, %s (%d samples, MSE on one-hot), width %d, scale %g, %d PC updates at rate %g; thesis: F* is far more robust to vanishing gradients than the loss; exact: F* <= L"
                    s.Dataset s.Samples s.Width s.WeightScale s.Updates s.LearningRate
              Header = [ "activation"; "L"; "BP init"; "PC init"; "PC/BP init"; "BP end"; "PC end"; "loss init"; "loss end (PC)"; "loss end (BP)"; "F* <= L"; "converged" ]
              Rows =
                [ for case in st.Cases ->
                      let a, b = List.head case.Records, List.last case.Records
                      [ case.Activation; string case.Depth; e (ratio a.Bp); e (ratio a.Pc); (ratio a.Pc / ratio a.Bp).ToString("F3", c)
                        e (ratio b.Bp); e (ratio b.Pc); f a.Loss; f b.Loss; f case.BpLoss
                        (if case.Records |> List.forall (fun r -> r.Energy <= r.Loss * (1.0 + 1e-9)) then "yes" else "no")
                        (if case.Records |> List.forall (fun r -> r.Converged) then "yes" else "no") ] ] } ]
        Lines = (st.Plots |> List.map (sprintf "plot: %s")) @ [ sprintf "per layer and record: %s" st.Csv ] }
