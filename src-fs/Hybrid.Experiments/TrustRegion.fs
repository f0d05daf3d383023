/// The trust-region view of PC: PC's weight update against BP's gradient and TR steps.
module Hybrid.Experiments.TrustRegion

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting

type Settings =
    { Depths: int list
      Width: int
      Activations: string list
      Batch: int
      WeightScale: float
      LearningRate: float
      Updates: int
      Records: int
      Tolerance: float
      Seed: int64
      Out: string }

    member s.Validate() =
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 1 || d > 8 then invalidArg "depths" (sprintf "depths must be in 1..8 (the curvature is a full matrix), got %d" d)
        if s.Width < 1 || s.Width > 16 then invalidArg "width" (sprintf "width must be in 1..16 (the curvature is a full matrix), got %d" s.Width)
        if s.Activations.IsEmpty then invalidArg "activations" "give at least one activation"
        for a in s.Activations do
            if not (List.contains a [ "identity"; "tanh" ]) then invalidArg "activations" (sprintf "activations must be identity or tanh, got '%s'" a)
        if s.Batch < 1 || s.Batch > 4096 then invalidArg "batch" (sprintf "batch must be in 1..4096, got %d" s.Batch)
        if not (s.WeightScale > 0.0 && s.WeightScale <= 10.0) then invalidArg "weightScale" (sprintf "weightScale must be in (0, 10], got %g" s.WeightScale)
        if not (s.LearningRate > 0.0 && s.LearningRate <= 10.0) then invalidArg "learningRate" (sprintf "learningRate must be in (0, 10], got %g" s.LearningRate)
        if s.Updates < 0 || s.Updates > 100000 then invalidArg "updates" (sprintf "updates must be in 0..100000, got %d" s.Updates)
        if s.Records < 1 || s.Records > 1000 then invalidArg "records" (sprintf "records must be in 1..1000, got %d" s.Records)
        if not (s.Tolerance > 0.0 && s.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0, 1), got %g" s.Tolerance)
        if s.Seed < 0L then invalidArg "seed" (sprintf "seed must be non-negative, got %d" s.Seed)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Depths = [ 2; 3; 4 ]; Width = 6; Activations = [ "identity"; "tanh" ]; Batch = 32; WeightScale = 0.5; LearningRate = 0.2
      Updates = 200; Records = 5; Tolerance = 1e-10; Seed = 0L; Out = "runs/theory-trust-region" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Depths L (weight matrices)" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of the input, hidden layers and output" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "activations" "Hidden activations: identity, tanh" (Codec.items Codec.string) (fun s -> s.Activations) (fun v s -> { s with Activations = v })
          Codec.field "batch" "Regression samples" Codec.int (fun s -> s.Batch) (fun v s -> { s with Batch = v })
          Codec.field "weightScale" "Weights N(0, scale^2 / fan_in)" Codec.float (fun s -> s.WeightScale) (fun v s -> { s with WeightScale = v })
          Codec.field "learningRate" "PC's SGD learning rate" Codec.float (fun s -> s.LearningRate) (fun v s -> { s with LearningRate = v })
          Codec.field "updates" "PC updates" Codec.int (fun s -> s.Updates) (fun v s -> { s with Updates = v })
          Codec.field "records" "Points of training at which the angles are measured" Codec.int (fun s -> s.Records) (fun v s -> { s with Records = v })
          Codec.field "tolerance" "Inference stops when every sample's state gradient has at most this norm" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "seed" "Seed of the data and the weights" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "out" "Folder for the plots, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type Record =
    { Update: int
      PcBp: float
      PcFisher: float
      BpFisher: float
      PcHessian: float
      BpHessian: float
      PcNatural: float
      BpNatural: float
      LengthRatio: float
      Loss: float
      Energy: float }

type Case =
    { Activation: string
      Depth: int
      Parameters: int
      Records: Record list }

type Study =
    { Settings: Settings
      Cases: Case list
      Plots: string list
      Csv: string }

let private activationOf name = if name = "tanh" then Activation.Tanh else Activation.Identity

let private measure (s: Settings) (net: Network) (x: torch.Tensor) (y: torch.Tensor) (eq: Theory.Equilibrium) (pc: torch.Tensor array) (k: int) : Record =
    let g = Theory.flatten (Theory.lossGradient net x y)
    let p = Theory.flatten pc
    let pcStep = Ops.mul p (-s.LearningRate)
    let bpStep = Ops.mul g (-s.LearningRate)
    let radius = Scope.scalar (pcStep.norm())
    let curvature = Theory.gaussNewton net x
    let fisher = Theory.trustRegionStep curvature g radius
    // A radius no step reaches: the damping falls to its floor, the step is -C⁺ g.
    let natural = Theory.trustRegionStep curvature g 1e12
    let hessian = Theory.trustRegionStep (Theory.lossHessian net x y) g radius
    { Update = k
      PcBp = Theory.angle pcStep bpStep
      PcFisher = Theory.angle pcStep fisher
      BpFisher = Theory.angle bpStep fisher
      PcHessian = Theory.angle pcStep hessian
      BpHessian = Theory.angle bpStep hessian
      PcNatural = Theory.angle pcStep natural
      BpNatural = Theory.angle bpStep natural
      LengthRatio = Scope.scalar (p.norm()) / Scope.scalar (g.norm())
      Loss = Scope.scalar (Theory.loss net x y)
      Energy = eq.Energy }

let private runCase (s: Settings) (x: torch.Tensor) (y: torch.Tensor) (act: string) (depth: int) : Case =
    let sizes = List.replicate (depth + 1) s.Width
    let opts = { Theory.EquilibriumOptions.defaults with Tolerance = s.Tolerance }
    let points = set [ for i in 0 .. s.Records - 1 -> if s.Records = 1 then 0 else int (Math.Round(float i * float s.Updates / float (s.Records - 1))) ]
    use net = TheoryNets.chain sizes (activationOf act) s.WeightScale (s.Seed + 1L)
    let records =
        [ for k in 0 .. s.Updates do
              let r =
                  Scope.run (fun () ->
                      let eq = Theory.equilibrate net x (Some y) opts
                      let pc = Theory.equilibratedGradient net eq y
                      let r = if points.Contains k then Some(measure s net x y eq pc k) else None
                      if k < s.Updates then
                          use _ = torch.no_grad ()
                          Array.iter2 (fun (w: Modules.Parameter) (d: torch.Tensor) -> w.sub_(Ops.mul d s.LearningRate) |> ignore) (Theory.weights net |> Array.concat) pc
                      r)
              yield! Option.toList r ]
    { Activation = act; Depth = depth; Parameters = int (Theory.parameterCount net); Records = records }

let private recordJson (r: Record) : JsonNode =
    Report.object
        [ "update", Report.int r.Update
          "pcBp", Report.number r.PcBp
          "pcFisher", Report.number r.PcFisher
          "bpFisher", Report.number r.BpFisher
          "pcHessian", Report.number r.PcHessian
          "bpHessian", Report.number r.BpHessian
          "pcNatural", Report.number r.PcNatural
          "bpNatural", Report.number r.BpNatural
          "lengthRatio", Report.number r.LengthRatio
          "loss", Report.num r.Loss
          "energy", Report.num r.Energy ]
    :> JsonNode

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "width", Report.int s.Width
          "batch", Report.int s.Batch
          "weightScale", Report.num s.WeightScale
          "learningRate", Report.num s.LearningRate
          "updates", Report.int s.Updates
          "tolerance", Report.num s.Tolerance
          "cases",
          JsonArray(
              [| for c in st.Cases ->
                     Report.object
                         [ "activation", Report.str c.Activation
                           "depth", Report.int c.Depth
                           "parameters", Report.int c.Parameters
                           "records", JsonArray(c.Records |> List.map recordJson |> Array.ofList) ]
                     :> JsonNode |])
          "plots", Report.strings st.Plots
          "csv", Report.str st.Csv ]

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    let cases =
        Scope.run (fun () ->
            let x, y = TheoryNets.regression s.Batch s.Width s.Width s.Seed
            [ for act in s.Activations do
                  for depth in s.Depths ->
                      let case = runCase s x y act depth
                      let r = List.head case.Records
                      observer.Message(
                          sprintf "%s L = %d: at init PC vs BP %.1f°, PC vs TR(Fisher) %.1f°, BP vs TR(Fisher) %.1f°"
                              act depth r.PcBp r.PcFisher r.BpFisher)
                      case ])
    let csv = Path.Combine(s.Out, "theory-trust-region.csv")
    let f (v: float) = v.ToString("R", c)
    File.WriteAllLines(
        csv,
        "activation,depth,update,pc_bp,pc_fisher,bp_fisher,pc_hessian,bp_hessian,pc_natural,bp_natural,length_ratio,loss,energy"
        :: [ for case in cases do
                 for r in case.Records ->
                     String.Join(",", [ case.Activation; string case.Depth; string r.Update; f r.PcBp; f r.PcFisher; f r.BpFisher; f r.PcHessian; f r.BpHessian; f r.PcNatural; f r.BpNatural; f r.LengthRatio; f r.Loss; f r.Energy ]) ])
    let plots =
        [ for act in s.Activations ->
              let path = Path.Combine(s.Out, sprintf "theory-trust-region-%s.png" act)
              let series =
                  [ for case in cases do
                        if case.Activation = act then
                            let xs = case.Records |> List.map (fun r -> float r.Update)
                            yield { Plots.series (sprintf "PC vs BP, L=%d" case.Depth) xs (case.Records |> List.map (fun r -> r.PcBp)) with Markers = true }
                            yield { Plots.series (sprintf "PC vs TR (Fisher), L=%d" case.Depth) xs (case.Records |> List.map (fun r -> r.PcFisher)) with Dashed = true; Markers = true }
                            yield { Plots.series (sprintf "BP vs TR (Fisher), L=%d" case.Depth) xs (case.Records |> List.map (fun r -> r.BpFisher)) with Dashed = true } ]
              Plots.write (Plots.figure path (sprintf "Angles of the PC update along training, %s chains" act) "PC update" "angle (degrees)" series)
              path ]
    let st = { Settings = s; Cases = cases; Plots = plots; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "theory-trust-region.json")) (json st)
    st

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let deg (v: float) = if Double.IsFinite v then v.ToString("F1", c) else "-"
    let mean (xs: float list) = let xs = xs |> List.filter Double.IsFinite in if xs.IsEmpty then nan else List.average xs
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf "Angles (degrees) of PC's weight update to BP's -dL/dθ and to trust-region steps on the loss of the same length (curvature: Fisher = Gauss-Newton, or the exact Hessian) and to the natural-gradient step -C⁺g (NG), width %d, %d samples, scale %g, SGD %g, each cell at initialisation / mean over %d records of %d updates; paper (Innocenti et al. 2023): PC's update interpolates between BP's gradient direction and a TR direction"
                    s.Width s.Batch s.WeightScale s.LearningRate s.Records s.Updates
              Header = [ "act."; "L"; "params"; "PC∠BP"; "PC∠TR-F"; "BP∠TR-F"; "PC∠TR-H"; "BP∠TR-H"; "PC∠NG"; "BP∠NG"; "|dF*|/|dL|"; "loss end" ]
              Rows =
                [ for case in st.Cases ->
                      let a = List.head case.Records
                      let m (get: Record -> float) = sprintf "%s / %s" (deg (get a)) (deg (mean (case.Records |> List.map get)))
                      [ case.Activation; string case.Depth; string case.Parameters
                        m (fun r -> r.PcBp); m (fun r -> r.PcFisher); m (fun r -> r.BpFisher); m (fun r -> r.PcHessian); m (fun r -> r.BpHessian); m (fun r -> r.PcNatural); m (fun r -> r.BpNatural)
                        a.LengthRatio.ToString("F3", c)
                        (List.last case.Records).Loss.ToString("F4", c) ] ] } ]
        Lines = (st.Plots |> List.map (sprintf "plot: %s")) @ [ sprintf "per record: %s" st.Csv ] }
