/// The equilibrated energy of deep linear networks (Innocenti et al. 2024, Theorem 1): the
/// energy at the inference equilibrium is the rescaled MSE F* = 1/(2n) sum_i r_i^T S^{-1} r_i.
module Hybrid.Experiments.Equilibrated

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
      Seeds: int
      WeightScale: float
      Tolerance: float
      MaxSteps: int
      Out: string }

    member s.Validate() =
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 1 || d > 64 then invalidArg "depths" (sprintf "depths must be in 1..64, got %d" d)
        if s.Width < 1 || s.Width > 512 then invalidArg "width" (sprintf "width must be in 1..512, got %d" s.Width)
        if s.Batch < 1 || s.Batch > 100000 then invalidArg "batch" (sprintf "batch must be in 1..100000, got %d" s.Batch)
        if s.Seeds < 1 || s.Seeds > 1000 then invalidArg "seeds" (sprintf "seeds must be in 1..1000, got %d" s.Seeds)
        if not (s.WeightScale >= 0.0 && s.WeightScale <= 10.0) then invalidArg "weightScale" (sprintf "weightScale must be in [0, 10], got %g" s.WeightScale)
        if not (s.Tolerance > 0.0 && s.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0, 1), got %g" s.Tolerance)
        if s.MaxSteps < 1 || s.MaxSteps > 10_000_000 then invalidArg "maxSteps" (sprintf "maxSteps must be in 1..10000000, got %d" s.MaxSteps)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Depths = [ 2 .. 10 ]; Width = 16; Batch = 32; Seeds = 3; WeightScale = 1.0; Tolerance = 1e-10; MaxSteps = 200000; Out = "runs/theory-energy" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Depths L (weight matrices)" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of the input, hidden layers and output" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "batch" "Samples per network" Codec.int (fun s -> s.Batch) (fun v s -> { s with Batch = v })
          Codec.field "seeds" "Networks (seeds) per depth" Codec.int (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
          Codec.field "weightScale" "Weights N(0, scale^2 / fan_in)" Codec.float (fun s -> s.WeightScale) (fun v s -> { s with WeightScale = v })
          Codec.field "tolerance" "Inference stops when every sample's state gradient has at most this norm" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "maxSteps" "Inference step budget" Codec.int (fun s -> s.MaxSteps) (fun v s -> { s with MaxSteps = v })
          Codec.field "out" "Folder for the plot, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type DepthResult =
    { Depth: int
      Energy: float
      Loss: float
      EnergyDifference: float
      GradientDifference: float
      Steps: int
      Converged: bool }

type Study =
    { Settings: Settings
      Depths: DepthResult list
      Plot: string
      Csv: string }

type private One =
    { Closed: float
      Loss: float
      EnergyGap: float
      GradGap: float
      Steps: int
      Converged: bool }

let private one (s: Settings) (depth: int) (seed: int64) : One =
    Scope.run (fun () ->
        use net = TheoryNets.chain (List.replicate (depth + 1) s.Width) Activation.Identity s.WeightScale seed
        let x, y = TheoryNets.regression s.Batch s.Width s.Width seed
        let closed = Theory.linearEquilibratedEnergy net x y
        let ps = Theory.weights net |> Array.concat |> Array.map (fun p -> p :> torch.Tensor)
        let gClosed = torch.autograd.grad([| closed |], ps) |> Array.ofSeq |> Theory.flatten
        let eq = Theory.equilibrate net x (Some y) { StepSize = 0.2; Tolerance = s.Tolerance; MaxSteps = s.MaxSteps }
        let gInfer = Theory.equilibratedGradient net eq y |> Theory.flatten
        let c = Scope.scalar closed
        { Closed = c
          Loss = Scope.scalar (Theory.loss net x y)
          EnergyGap = abs (eq.Energy - c) / max (abs c) 1e-300
          GradGap = Scope.scalar ((Ops.minus gInfer gClosed).norm()) / max (Scope.scalar (gClosed.norm())) 1e-300
          Steps = eq.Steps
          Converged = eq.Converged })

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "width", Report.int s.Width
          "batch", Report.int s.Batch
          "seeds", Report.int s.Seeds
          "weightScale", Report.num s.WeightScale
          "tolerance", Report.num s.Tolerance
          "depths",
          JsonArray(
              [| for d in st.Depths ->
                     Report.object
                         [ "depth", Report.int d.Depth
                           "energy", Report.num d.Energy
                           "loss", Report.num d.Loss
                           "energyDifference", Report.num d.EnergyDifference
                           "gradientDifference", Report.num d.GradientDifference
                           "steps", Report.int d.Steps
                           "converged", Report.bool d.Converged ]
                     :> JsonNode |])
          "plot", Report.str st.Plot
          "csv", Report.str st.Csv ]

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    let rows = Collections.Generic.List<string>()
    let depths =
        [ for depth in s.Depths ->
              let runs =
                  [ for k in 0 .. s.Seeds - 1 ->
                        let r = one s depth (int64 k)
                        rows.Add(String.Join(",", [ string depth; string k; r.Closed.ToString("R", c); r.Loss.ToString("R", c); r.EnergyGap.ToString("R", c); r.GradGap.ToString("R", c); string r.Steps; string r.Converged ]))
                        r ]
              let d =
                  { Depth = depth
                    Energy = runs |> List.averageBy (fun r -> r.Closed)
                    Loss = runs |> List.averageBy (fun r -> r.Loss)
                    EnergyDifference = runs |> List.map (fun r -> r.EnergyGap) |> List.max
                    GradientDifference = runs |> List.map (fun r -> r.GradGap) |> List.max
                    Steps = runs |> List.map (fun r -> r.Steps) |> List.max
                    Converged = runs |> List.forall (fun r -> r.Converged) }
              observer.Message(sprintf "L = %d: closed form vs inference %.2e (energy), %.2e (gradient), %d steps" depth d.EnergyDifference d.GradientDifference d.Steps)
              d ]
    let csv = Path.Combine(s.Out, "theory-energy.csv")
    File.WriteAllLines(csv, "depth,seed,closed_form_energy,loss,energy_difference,gradient_difference,steps,converged" :: List.ofSeq rows)
    let plot = Path.Combine(s.Out, "theory-energy.png")
    let floor v = max v 1e-17
    Plots.write
        { Plots.figure plot "Closed-form F* against inference, deep linear networks" "depth L" "relative difference (largest over seeds)"
              [ Plots.series "energy" (depths |> List.map (fun d -> float d.Depth)) (depths |> List.map (fun d -> floor d.EnergyDifference))
                Plots.series "weight gradient" (depths |> List.map (fun d -> float d.Depth)) (depths |> List.map (fun d -> floor d.GradientDifference)) ] with
            LogY = true }
    let st = { Settings = s; Depths = depths; Plot = plot; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "theory-energy.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let e (x: float) = x.ToString("0.00e+00", c)
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf "Closed-form F* vs inference (tolerance %s), bias-free linear chains of width %d, batch %d, %d seeds; paper (Innocenti et al. 2024, Thm 1): F* = 1/(2n) sum r^T S^-1 r exactly"
                    (s.Tolerance.ToString("G", c)) s.Width s.Batch s.Seeds
              Header = [ "L"; "F* (closed form)"; "MSE loss"; "F* / loss"; "energy rel. diff."; "gradient rel. diff."; "steps"; "converged" ]
              Rows =
                [ for d in st.Depths ->
                      [ string d.Depth; d.Energy.ToString("G6", c); d.Loss.ToString("G6", c); (d.Energy / d.Loss).ToString("F4", c)
                        e d.EnergyDifference; e d.GradientDifference; string d.Steps; (if d.Converged then "yes" else "no") ] ] } ]
        Lines = [ sprintf "plot: %s" st.Plot; sprintf "per seed: %s" st.Csv ] }
