/// The inverse-temperature phase transition of modern Hopfield networks
/// (Koulischer et al.): sweep beta, find and classify the fixed points reached
/// from many starts, and measure where the centroid stops being a minimum and
/// where single-pattern minima appear.
module Hybrid.Experiments.Phase

open System
open TorchSharp
open Hybrid
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

/// Sweeps `betas`, analysing the fixed points from `startCount` starts at each.
let analyse (p: Patterns) (betas: float list) (startCount: int) (seed: int64) : PhaseResult =
    if betas.IsEmpty then invalidArg "betas" "no beta values to sweep"
    betas |> List.iter (fun b -> if not (b > 0.0) then invalidArg "beta" (sprintf "beta must be positive, got %g" b))
    let m = p.MaxNorm
    let c = Patterns.innerProduct p
    let predicted = float p.Count / (m * m - c)
    use s = starts p startCount seed
    let dedupe = 1e-5 * (1.0 + m)
    let sweep =
        [ for b in List.sort betas ->
              { Beta = b
                BetaEff = b * (m * m - c) / float p.Count
                Points = fixedPoints p b s 1e-12 50000 dedupe } ]
    let lo = List.min betas
    let hi = List.max betas
    let measured = try Some(measuredCriticalBeta p lo hi 1e-7) with :? ArgumentException | :? InvalidOperationException -> None
    let onset = try Some(patternOnsetBeta p 0 lo hi 1e-6) with :? ArgumentException -> None
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
