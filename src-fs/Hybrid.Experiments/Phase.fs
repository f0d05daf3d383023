/// The inverse-temperature phase transition of modern Hopfield networks
/// (Koulischer et al.): sweep beta, find and classify the fixed points reached
/// from many starts, and measure where the centroid stops being a minimum and
/// where single-pattern minima appear.
module Hybrid.Experiments.Phase

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting
open Hybrid.Hopfield

/// The fixed points found at one beta.
type SweepPoint =
    { Beta: float
      /// beta * (M^2 - c) / N: the transition is at 1 for equidistant patterns.
      BetaEff: float
      Points: FixedPoint list }

    /// Distinct minima.
    member this.Minima = this.Points |> List.filter (fun p -> p.IsMinimum)
    /// Whether the centroid is among the minima.
    member this.GlobalIsMinimum = this.Minima |> List.exists (fun p -> p.Kind = FixedPointKind.Global)
    /// Single-pattern minima.
    member this.PatternMinima = this.Minima |> List.filter (fun p -> match p.Kind with FixedPointKind.Pattern _ -> true | _ -> false)

/// The analysis of one pattern set.
type PhaseResult =
    { Count: int
      MaxNorm: float
      InnerProduct: float
      /// N / (M^2 - c).
      Predicted: float
      /// Bisection on the centroid's Hessian (equidistant patterns only).
      Measured: float option
      /// Smallest beta with a single-pattern minimum (bisection from pattern 0).
      PatternOnset: float option
      /// The sweep, ascending in beta.
      Sweep: SweepPoint list
      /// From the sweep alone: the largest grid beta where the centroid is a minimum.
      SweepCritical: float option
      /// From the sweep alone: the smallest grid beta with a single-pattern minimum.
      SweepOnset: float option }

    /// Measured / predicted - 1.
    member this.RelativeError = this.Measured |> Option.map (fun m -> m / this.Predicted - 1.0)

/// Starting points: the centroid, each pattern, and random mixtures of the
/// patterns (Dirichlet weights) plus Gaussian noise, `[S; d]`.
let starts (p: Patterns) (count: int) (seed: int64) : torch.Tensor =
    Scope.keep (fun () ->
        use g = Rng.generator seed torch.CPU
        let n = int64 p.Count
        let m = max 0 (count - p.Count - 1)
        let w = Ops.mul (torch.rand([| int64 m; n |], dtype = torch.float64, generator = g).log()) -1.0
        let w = w / w.sum(1L, keepdim = true)
        let noise = Ops.mul (torch.randn([| int64 m; int64 p.Dimension |], dtype = torch.float64, generator = g)) (0.1 * p.MaxNorm / sqrt (float p.Dimension))
        torch.cat([| Patterns.centroid p; p.X; w.mm(p.X) + noise |], 0L))

/// The distinct fixed points reached from `starts` at `beta` (retrieval to 1e-12,
/// at most 50,000 updates, states closer than 1e-5 (1 + M) merged).
let fixedPointsAt (p: Patterns) (beta: float) (starts: torch.Tensor) : FixedPoint list =
    fixedPoints p beta starts 1e-12 50000 (1e-5 * (1.0 + p.MaxNorm))

/// The measured critical beta of the centroid and the onset of single-pattern
/// minima (from pattern 0), each by bisection in [lo, hi]; None where the bracket
/// does not hold the transition (or the centroid is not a fixed point).
let criticalBetas (p: Patterns) (lo: float) (hi: float) : float option * float option =
    let measured = try Some(measuredCriticalBeta p lo hi 1e-7) with :? ArgumentException | :? InvalidOperationException -> None
    let onset = try Some(patternOnsetBeta p 0 lo hi 1e-6) with :? ArgumentException -> None
    measured, onset

/// Sweeps `betas`, analysing the fixed points from `startCount` starts at each.
let analyse (p: Patterns) (betas: float list) (startCount: int) (seed: int64) : PhaseResult =
    if betas.IsEmpty then invalidArg "betas" "no beta values to sweep"
    betas |> List.iter (fun b -> if not (b > 0.0) then invalidArg "beta" (sprintf "beta must be positive, got %g" b))
    let m = p.MaxNorm
    let c = Patterns.innerProduct p
    let predicted = predictedCriticalBeta p
    use s = starts p startCount seed
    let sweep =
        [ for b in List.sort betas ->
              { Beta = b
                BetaEff = effectiveBeta p b
                Points = fixedPointsAt p b s } ]
    let lo = List.min betas
    let hi = List.max betas
    let measured, onset = criticalBetas p lo hi
    { Count = p.Count
      MaxNorm = m
      InnerProduct = c
      Predicted = predicted
      Measured = measured
      PatternOnset = onset
      Sweep = sweep
      SweepCritical = sweep |> List.filter (fun s -> s.GlobalIsMinimum) |> List.tryLast |> Option.map (fun s -> s.Beta)
      SweepOnset = sweep |> List.tryFind (fun s -> not s.PatternMinima.IsEmpty) |> Option.map (fun s -> s.Beta) }

/// A geometric grid of `count` betas from `lo` to `hi`.
let grid (lo: float) (hi: float) (count: int) =
    if not (lo > 0.0 && hi > lo) || count < 2 then invalidArg "grid" (sprintf "need 0 < lo < hi and at least 2 points, got %g, %g, %d" lo hi count)
    [ for i in 0 .. count - 1 -> lo * Math.Pow(hi / lo, float i / float (count - 1)) ]

/// The first `count` training images of a dataset as patterns: centred on their mean
/// and scaled to norm `norm`.
let datasetPatterns (dataRoot: string option) (name: string) (count: int) (norm: float) : Patterns =
    let data = Data.Dataset.load dataRoot name
    let split = data.Train
    if count > split.Count then invalidArg "count" (sprintf "count %d is more than the %d training images of %s" count split.Count name)
    Scope.run (fun () ->
        let x = torch.tensor(split.Pixels, dtype = torch.float64).reshape(int64 split.Count, int64 split.SampleSize).narrow(0L, 0L, int64 count)
        let x = x - x.mean([| 0L |], keepdim = true)
        Patterns.ofTensor (Ops.mul (x / x.norm(1, keepdim = true)) norm))

/// What `hybrid hopfield phase` analyses.
type Settings =
    { /// simplex, orthogonal, random, or a dataset name (its first images, centred and scaled).
      Patterns: string
      /// Numbers of patterns N.
      Counts: int list
      /// Pattern norms M.
      Norms: float list
      /// Dimension of generated patterns (0: N + 2).
      Dimension: int
      /// beta values in the sweep (geometric, 0.1 to 3 times the predicted beta_c).
      Points: int
      /// Starting points per beta.
      Starts: int
      Seed: int64
      /// Folder for plots, CSV and JSON.
      Out: string
      /// Data root, for dataset patterns.
      DataRoot: string option }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        if this.Counts.IsEmpty then invalidArg "counts" "counts needs at least one pattern count"
        for n in this.Counts do
            if n < 2 then invalidArg "counts" (sprintf "counts: %d is not a pattern count of at least 2" n)
        if this.Norms.IsEmpty then invalidArg "norms" "norms needs at least one norm"
        for m in this.Norms do
            if not (m > 0.0 && Double.IsFinite m) then invalidArg "norms" (sprintf "norms: %g is not a positive, finite norm" m)
        if this.Dimension < 0 then invalidArg "dimension" (sprintf "dimension must be 0 (N + 2) or positive, got %d" this.Dimension)
        if this.Points < 2 then invalidArg "points" (sprintf "points must be at least 2, got %d" this.Points)
        if this.Starts < 1 then invalidArg "starts" (sprintf "starts must be at least 1, got %d" this.Starts)

/// Simplex patterns, N in {3, 5, 10}, M in {1, 2}.
let defaults =
    { Patterns = "simplex"; Counts = [ 3; 5; 10 ]; Norms = [ 1.0; 2.0 ]; Dimension = 0; Points = 41; Starts = 64; Seed = 0L; Out = "runs/hopfield-phase"; DataRoot = None }

/// The JSON form of the settings.
let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "patterns" "Patterns: simplex, orthogonal, random, or a dataset name (its first images, centred and scaled)" Codec.string (fun s -> s.Patterns) (fun v s -> { s with Patterns = v })
          Codec.field "counts" "Numbers of patterns N" (Codec.items Codec.int) (fun s -> s.Counts) (fun v s -> { s with Counts = v })
          Codec.field "norms" "Pattern norms M" (Codec.items Codec.float) (fun s -> s.Norms) (fun v s -> { s with Norms = v })
          Codec.field "dimension" "Dimension of generated patterns (0: N + 2)" Codec.int (fun s -> s.Dimension) (fun v s -> { s with Dimension = v })
          Codec.field "points" "beta values in the sweep (geometric, 0.1 to 3 times the predicted beta_c)" Codec.int (fun s -> s.Points) (fun v s -> { s with Points = v })
          Codec.field "starts" "Starting points per beta" Codec.int (fun s -> s.Starts) (fun v s -> { s with Starts = v })
          Codec.field "seed" "Seed of patterns and starts" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "out" "Folder for plots, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v })
          Codec.optional "data" "Dataset root folder (dataset patterns)" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v }) ]
    |> Codec.check (fun s -> s.Validate())

let private make (s: Settings) (count: int) (norm: float) (dimension: int) =
    match s.Patterns with
    | "simplex" -> Patterns.simplex count norm dimension s.Seed
    | "orthogonal" -> Patterns.orthogonal count norm dimension s.Seed
    | "random" -> Patterns.random count norm dimension s.Seed
    | name -> datasetPatterns s.DataRoot name count norm

/// One pattern set of a study: N, M, the analysis and its two plots.
type Case =
    { Count: int
      Norm: float
      Result: PhaseResult
      BifurcationPlot: string
      MinimaPlot: string }

/// The outcome of a study, and the files written.
type Study =
    { Settings: Settings
      Cases: Case list
      /// Every fixed point found.
      Csv: string }

/// The study as JSON (also written to `Out/phase.json`).
let private json (st: Study) : JsonObject =
    Report.object
        [ "patterns", Report.str st.Settings.Patterns
          "results",
          JsonArray(
              [| for k in st.Cases ->
                     let r = k.Result
                     Report.object
                         [ "N", Report.int k.Count
                           "M", Report.num k.Norm
                           "c", Report.num r.InnerProduct
                           "predicted", Report.num r.Predicted
                           "measured", Report.optional r.Measured
                           "relativeError", Report.optional r.RelativeError
                           "sweepCritical", Report.optional r.SweepCritical
                           "patternOnset", Report.optional r.PatternOnset
                           "sweepOnset", Report.optional r.SweepOnset
                           "bifurcationPlot", Report.str k.BifurcationPlot
                           "minimaPlot", Report.str k.MinimaPlot ]
                     :> JsonNode |])
          "csv", Report.str st.Csv ]

/// Sweeps beta for every N and M, writes the bifurcation and minima-count plots,
/// every fixed point (phase.csv) and phase.json into `Out`.
let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    let cases =
        [ for n in s.Counts do
              for m in s.Norms ->
                  let p = make s n m (if s.Dimension > 0 then s.Dimension else n + 2)
                  let predicted = predictedCriticalBeta p
                  observer.Message(sprintf "N=%d M=%g: sweeping beta around the predicted %s..." n m (predicted.ToString("G4", c)))
                  let r = analyse p (grid (predicted / 10.0) (predicted * 3.0) s.Points) s.Starts s.Seed
                  let tag = sprintf "N%d-M%s" n (m.ToString(c))
                  let bif = Path.Combine(s.Out, sprintf "bifurcation-%s.png" tag)
                  let minima = [ for sp in r.Sweep do for f in sp.Minima -> sp.BetaEff, f.MaxWeight ]
                  let saddles = [ for sp in r.Sweep do for f in sp.Points do if not f.IsMinimum then yield sp.BetaEff, f.MaxWeight ]
                  let scatter label (pts: (float * float) list) = { Plots.series label (List.map fst pts) (List.map snd pts) with Markers = true; LineWidth = 0.0f }
                  let transition = [ { Plots.Marker.X = 1.0; Plots.Marker.Label = "predicted transition" } ]
                  Plots.write
                      { Plots.figure bif (sprintf "Fixed points vs beta_eff, %s N=%d M=%g (largest retrieval weight)" s.Patterns n m) "beta_eff = beta (M^2 - c) / N" "max_i softmax weight"
                            [ scatter "minima" minima; scatter "other fixed points" saddles ] with
                          Markers = transition
                          Legend = Plots.Legend.MiddleRight }
                  let count = Path.Combine(s.Out, sprintf "minima-%s.png" tag)
                  let betaEff = r.Sweep |> List.map (fun sp -> sp.BetaEff)
                  Plots.write
                      { Plots.figure count (sprintf "Number of distinct minima vs beta_eff, %s N=%d M=%g" s.Patterns n m) "beta_eff" "minima"
                            [ { Plots.series "all minima" betaEff (r.Sweep |> List.map (fun sp -> float sp.Minima.Length)) with Markers = true }
                              { Plots.series "single-pattern minima" betaEff (r.Sweep |> List.map (fun sp -> float sp.PatternMinima.Length)) with Markers = true; Dashed = true } ] with
                          Markers = transition }
                  n, m, r, bif, count ]
    let csv = Path.Combine(s.Out, "phase.csv")
    let rows =
        [ for n, m, r, _, _ in cases do
              for sp in r.Sweep do
                  for f in sp.Points ->
                      String.Join(",",
                          [ string n; m.ToString(c); sp.Beta.ToString("R", c); sp.BetaEff.ToString("R", c); string f.Kind
                            (if f.IsMinimum then "True" else "False"); f.MaxWeight.ToString("R", c); string f.Basin ]) ]
    File.WriteAllLines(csv, "N,M,beta,beta_eff,kind,is_minimum,max_weight,basin" :: rows)
    let st = { Settings = s; Cases = [ for n, m, r, bif, count in cases -> { Count = n; Norm = m; Result = r; BifurcationPlot = bif; MinimaPlot = count } ]; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "phase.json")) (json st)
    st

/// The study as a report: its JSON, and the measured against the predicted critical beta.
let report (st: Study) : Report =
    let c = Report.culture
    let f (fmt: string) (x: float option) = match x with Some v -> v.ToString(fmt, c) | None -> "-"
    { Report.ofJson (json st) with
        Tables =
          [ { Title = sprintf "Critical inverse temperature of the centroid (%s patterns): predicted N/(M^2 - c) vs measured" st.Settings.Patterns
              Header = [ "N"; "M"; "c"; "beta_c predicted"; "beta_c measured"; "error"; "beta_c sweep"; "pattern onset"; "onset sweep" ]
              Rows =
                [ for k in st.Cases ->
                      let r = k.Result
                      [ string k.Count; k.Norm.ToString(c); r.InnerProduct.ToString("G4", c); r.Predicted.ToString("G6", c); f "G6" r.Measured; f "P3" r.RelativeError
                        f "G4" r.SweepCritical; f "G5" r.PatternOnset; f "G4" r.SweepOnset ] ] } ]
        Lines =
          [ "beta_c measured: bisection on the centroid's Hessian; beta_c sweep: last grid beta whose fixed points include the centroid as a minimum;"
            "pattern onset: smallest beta where retrieval from a pattern ends in a single-pattern minimum (bisection; sweep: first grid beta with one)."
            sprintf "plots and data in %s" st.Settings.Out ] }
