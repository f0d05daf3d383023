/// Strict saddles of the equilibrated energy (Innocenti et al., NeurIPS 2024): the Hessians
/// of the MSE loss and of F* at the origin of deep linear networks.
module Hybrid.Experiments.Saddles

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
      Seed: int
      Tolerance: float
      Out: string }

    member s.Validate() =
        if s.Depths.IsEmpty then invalidArg "depths" "give at least one depth"
        for d in s.Depths do
            if d < 1 || d > 16 then invalidArg "depths" (sprintf "depths must be in 1..16, got %d" d)
        if s.Width < 1 || s.Width > 32 then invalidArg "width" (sprintf "width must be in 1..32, got %d" s.Width)
        if s.Batch < 1 || s.Batch > 100000 then invalidArg "batch" (sprintf "batch must be in 1..100000, got %d" s.Batch)
        if s.Seed < 0 || s.Seed > 1_000_000 then invalidArg "seed" (sprintf "seed must be in 0..1000000, got %d" s.Seed)
        if not (s.Tolerance > 0.0 && s.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0, 1), got %g" s.Tolerance)
        if String.IsNullOrWhiteSpace s.Out then invalidArg "out" "out must name a folder"

let defaults =
    { Depths = [ 1 .. 6 ]; Width = 8; Batch = 64; Seed = 0; Tolerance = 1e-10; Out = "runs/theory-saddles" }

let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Depths L (weight matrices)" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of the input, hidden layers and output" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "batch" "Samples of the regression data" Codec.int (fun s -> s.Batch) (fun v s -> { s with Batch = v })
          Codec.field "seed" "Seed of the regression data" Codec.int (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "tolerance" "Inference at the origin stops when every sample's state gradient has at most this norm" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "out" "Folder for the plot, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

type Spectrum =
    { Smallest: float
      Largest: float
      Negative: int
      Positive: int
      PredictedSmallest: float
      PredictedNegative: int
      ModelDifference: float
      GradientNorm: float
      Eigenvalues: float array }

type DepthResult =
    { Depth: int
      Loss: Spectrum
      Energy: Spectrum
      InferenceDifference: float
      ClaimHolds: bool }

type Study =
    { Settings: Settings
      Depths: DepthResult list
      OutputCovarianceMax: float
      CrossCovarianceMax: float
      InputCovarianceMin: float
      InputCovarianceMax: float
      Plot: string
      Csv: string }

let private eigenvalues (h: torch.Tensor) : float array =
    Scope.run (fun () -> torch.linalg.eigvalsh(h).data<float>().ToArray())

/// Eigenvalues below -tol and above +tol, tol = 1e-9 max(1, |lambda|max).
let private counts (ev: float array) =
    let tol = 1e-9 * max 1.0 (ev |> Array.map abs |> Array.max)
    (ev |> Array.filter (fun v -> v < -tol) |> Array.length), (ev |> Array.filter (fun v -> v > tol) |> Array.length)

let private relative (a: torch.Tensor) (b: torch.Tensor) =
    let d = Scope.scalar ((Ops.minus a b).norm())
    let m = max (Scope.scalar (a.norm())) (Scope.scalar (b.norm()))
    if m = 0.0 then d else d / m

let private spectrum (h: torch.Tensor) (model: torch.Tensor) (gradient: torch.Tensor) : Spectrum =
    let ev = eigenvalues h
    let pv = eigenvalues model
    let neg, pos = counts ev
    let pneg, _ = counts pv
    { Smallest = ev[0]
      Largest = ev[ev.Length - 1]
      Negative = neg
      Positive = pos
      PredictedSmallest = pv[0]
      PredictedNegative = pneg
      ModelDifference = relative h model
      GradientNorm = Scope.scalar (gradient.norm())
      Eigenvalues = ev }

/// Whether a spectrum meets its model: the same smallest eigenvalue and negative count.
let private meetsModel (sp: Spectrum) =
    abs (sp.Smallest - sp.PredictedSmallest) <= 1e-8 * max 1.0 (abs sp.PredictedSmallest)
    && sp.Negative = sp.PredictedNegative
    && sp.ModelDifference <= 1e-8

let private one (s: Settings) (x: torch.Tensor) (y: torch.Tensor) (depth: int) : DepthResult =
    Scope.run (fun () ->
        use net = TheoryNets.chain (List.replicate (depth + 1) s.Width) Activation.Identity 0.0 (int64 s.Seed)
        let ps = Theory.weights net |> Array.concat |> Array.map (fun p -> p :> torch.Tensor)
        let n = float x.shape[0]
        let sxx = Ops.div (x.t().mm(x)) n
        let cxy = Ops.div (x.t().mm(y)) n
        let myy = Ops.div (y.t().mm(y)) n
        let count = Theory.parameterCount net
        let zeros () = torch.zeros([| count; count |], dtype = torch.float64)
        // The second-order Taylor models at the origin (exact quadratics, their Hessians constant).
        let lossModel () : torch.Tensor =
            match ps.Length with
            | 1 -> Ops.mul (((ps[0].mm(sxx)) * ps[0]).sum()) 0.5
            | 2 -> Ops.mul (ps[1].mm(ps[0]).mm(cxy).trace()) (-1.0)
            | _ -> invalidArg "depth" "the loss's model at L >= 3 is zero"
        let energyModel () : torch.Tensor =
            if ps.Length = 1 then lossModel ()
            else // L = 2
                let wl = ps[ps.Length - 1]
                Ops.minus (lossModel ()) (Ops.mul (wl.t().mm(myy).mm(wl).trace()) 0.5)
        let lossH = Theory.lossHessian net x y
        let lossM = if ps.Length >= 3 then zeros () else Theory.hessian ps lossModel
        let energyH = Theory.linearEquilibratedHessian net x y
        let energyM =
            if ps.Length < 3 then Theory.hessian ps energyModel
            else
                // Only -1/2 tr(W_L^T M W_L) is left: the block -(M kron I) on W_L (row-major), zero elsewhere.
                let h = zeros ()
                let wl = ps[ps.Length - 1]
                let size = wl.numel ()
                let block = Ops.mul (torch.kron(myy, torch.eye(wl.shape[1], dtype = torch.float64))) (-1.0)
                h.narrow(0L, count - size, size).narrow(1L, count - size, size).copy_(block) |> ignore
                h
        // L = 1 has no hidden state to infer: F* is the energy itself, the loss.
        let infer () = Theory.equilibrate net x (Some y) { StepSize = 0.2; Tolerance = s.Tolerance; MaxSteps = 100000 }
        let lossG = Theory.lossGradient net x y |> Theory.flatten
        let energyG = torch.autograd.grad([| Theory.linearEquilibratedEnergy net x y |], ps) |> Array.ofSeq |> Theory.flatten
        let loss = spectrum lossH lossM lossG
        let energy = spectrum energyH energyM energyG
        let inference =
            if depth = 1 then nan
            else
                let eq = infer ()
                if not eq.Converged then failwithf "inference at the origin did not converge at L = %d" depth
                let inferH = Theory.equilibratedHessian net eq y
                Scope.scalar ((Ops.minus inferH energyH).norm()) / max (Scope.scalar (energyH.norm())) 1e-300
        let critical = depth = 1 || (loss.GradientNorm <= 1e-12 && energy.GradientNorm <= 1e-12)
        let shape =
            match depth with
            | 1 -> loss.Negative = 0 && energy.Negative = 0 && relative lossH energyH <= 1e-10
            | 2 -> loss.Negative > 0 && energy.Negative > 0
            | _ -> loss.Negative = 0 && loss.Positive = 0 && energy.Negative > 0
        { Depth = depth
          Loss = loss
          Energy = energy
          InferenceDifference = inference
          ClaimHolds = shape && critical && meetsModel loss && meetsModel energy && (depth = 1 || inference <= 1e-6) })

let private spectrumJson (sp: Spectrum) : JsonNode =
    Report.object
        [ "smallest", Report.num sp.Smallest
          "largest", Report.num sp.Largest
          "negative", Report.int sp.Negative
          "positive", Report.int sp.Positive
          "predictedSmallest", Report.num sp.PredictedSmallest
          "predictedNegative", Report.int sp.PredictedNegative
          "modelDifference", Report.num sp.ModelDifference
          "gradientNorm", Report.num sp.GradientNorm ]
    :> JsonNode

let private json (st: Study) : JsonObject =
    let s = st.Settings
    Report.object
        [ "width", Report.int s.Width
          "batch", Report.int s.Batch
          "seed", Report.int s.Seed
          "tolerance", Report.num s.Tolerance
          "outputCovarianceMax", Report.num st.OutputCovarianceMax
          "crossCovarianceMax", Report.num st.CrossCovarianceMax
          "inputCovarianceMin", Report.num st.InputCovarianceMin
          "inputCovarianceMax", Report.num st.InputCovarianceMax
          "depths",
          JsonArray(
              [| for d in st.Depths ->
                     Report.object
                         [ "depth", Report.int d.Depth
                           "loss", spectrumJson d.Loss
                           "energy", spectrumJson d.Energy
                           "inferenceDifference", (if Double.IsNaN d.InferenceDifference then null else Report.num d.InferenceDifference)
                           "claimHolds", Report.bool d.ClaimHolds ]
                     :> JsonNode |])
          "plot", Report.str st.Plot
          "csv", Report.str st.Csv ]

let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    Scope.run (fun () ->
        let x, y = TheoryNets.regression s.Batch s.Width s.Width (int64 s.Seed)
        let n = float s.Batch
        let outMax = Scope.scalar (torch.linalg.eigvalsh(Ops.div (y.t().mm(y)) n).max())
        let crossMax = Scope.scalar (torch.linalg.svdvals(Ops.div (y.t().mm(x)) n).max())
        let inEv = torch.linalg.eigvalsh(Ops.div (x.t().mm(x)) n)
        let inMin, inMax = Scope.scalar (inEv.min()), Scope.scalar (inEv.max())
        let depths =
            [ for depth in s.Depths ->
                  let d = one s x y depth
                  observer.Message(
                      sprintf "L = %d: loss lambda_min %.4g (%d negative), F* lambda_min %.4g (%d negative), inference %.2e"
                          depth d.Loss.Smallest d.Loss.Negative d.Energy.Smallest d.Energy.Negative d.InferenceDifference)
                  d ]
        let r (v: float) = v.ToString("R", c)
        let csv = Path.Combine(s.Out, "theory-saddles.csv")
        File.WriteAllLines(
            csv,
            "depth,function,smallest,largest,negative,positive,predicted_smallest,predicted_negative,model_difference,gradient_norm,inference_difference,claim_holds"
            :: [ for d in depths do
                     for name, sp in [ "loss", d.Loss; "energy", d.Energy ] ->
                         String.Join(",", [ string d.Depth; name; r sp.Smallest; r sp.Largest; string sp.Negative; string sp.Positive; r sp.PredictedSmallest
                                            string sp.PredictedNegative; r sp.ModelDifference; r sp.GradientNorm; r d.InferenceDifference; string d.ClaimHolds ]) ])
        File.WriteAllLines(
            Path.Combine(s.Out, "theory-saddles-spectra.csv"),
            "depth,function,index,eigenvalue"
            :: [ for d in depths do
                     for name, sp in [ "loss", d.Loss; "energy", d.Energy ] do
                         for i, v in Array.indexed sp.Eigenvalues -> sprintf "%d,%s,%d,%s" d.Depth name i (r v) ])
        let plot = Path.Combine(s.Out, "theory-saddles.png")
        let xs = depths |> List.map (fun d -> float d.Depth)
        let line label (f: DepthResult -> float) dashed =
            { Plots.series label xs (depths |> List.map f) with Markers = true; Dashed = dashed }
        Plots.write
            (Plots.figure plot "Hessian at the origin of deep linear networks: MSE loss vs equilibrated energy F*" "depth L" "eigenvalue"
                [ line "loss lambda_min" (fun d -> d.Loss.Smallest) false
                  line "loss lambda_max" (fun d -> d.Loss.Largest) true
                  line "F* lambda_min" (fun d -> d.Energy.Smallest) false
                  line "F* lambda_max" (fun d -> d.Energy.Largest) true ])
        let st =
            { Settings = s
              Depths = depths
              OutputCovarianceMax = outMax
              CrossCovarianceMax = crossMax
              InputCovarianceMin = inMin
              InputCovarianceMax = inMax
              Plot = plot
              Csv = csv }
        Report.writeJson (Path.Combine(s.Out, "theory-saddles.json")) (json st)
        st)

let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let g (x: float) = x.ToString("G5", c)
    let e (x: float) = x.ToString("0.0e+00", c)
    let total = st.Depths |> List.forall (fun d -> d.ClaimHolds)
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf
                    "Hessians at the origin (all weights 0), bias-free linear chains of width %d, regression batch %d; papers (Innocenti et al. 2024): L >= 3 loss Hessian = 0 (non-strict saddle) but F* lambda_min = -lambda_max(Y^T Y/n) = %s (strict); L = 2 both strict, loss lambda_min = -sigma_max(Y^T X/n) = %s; L = 1 F* = loss, convex (lambda in [%s, %s])"
                    s.Width s.Batch (g -st.OutputCovarianceMax) (g -st.CrossCovarianceMax) (g st.InputCovarianceMin) (g st.InputCovarianceMax)
              Header =
                [ "L"; "loss lambda_min"; "loss lambda_max"; "loss #neg"; "predicted"; "F* lambda_min"; "F* lambda_max"; "F* #neg"; "predicted"
                  "F* inference rel. diff."; "|grad| (loss, F*)"; "claim holds" ]
              Rows =
                [ for d in st.Depths ->
                      [ string d.Depth
                        g d.Loss.Smallest; g d.Loss.Largest; string d.Loss.Negative; sprintf "%s (%d)" (g d.Loss.PredictedSmallest) d.Loss.PredictedNegative
                        g d.Energy.Smallest; g d.Energy.Largest; string d.Energy.Negative; sprintf "%s (%d)" (g d.Energy.PredictedSmallest) d.Energy.PredictedNegative
                        (if Double.IsNaN d.InferenceDifference then "- (no hidden layer)" else e d.InferenceDifference); sprintf "%s, %s" (e d.Loss.GradientNorm) (e d.Energy.GradientNorm)
                        (if d.ClaimHolds then "yes" else "no") ] ] } ]
        Lines =
          [ sprintf "claim holds at every depth: %s" (if total then "yes" else "no")
            "predicted: lambda_min and negative count of the second-order Taylor model at the origin; #neg counts eigenvalues below -1e-9 max(1, |lambda|max)"
            sprintf "plot: %s" st.Plot
            sprintf "per depth: %s (spectra: theory-saddles-spectra.csv)" st.Csv ] }
