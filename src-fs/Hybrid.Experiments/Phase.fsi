/// The inverse-temperature phase transition of modern Hopfield networks
/// (Koulischer et al.): sweep beta, find and classify the fixed points reached
/// from many starts, and measure where the centroid stops being a minimum and
/// where single-pattern minima appear.
module Hybrid.Experiments.Phase

/// The fixed points found at one beta.
type SweepPoint =
    {
      Beta: float

      /// beta * (M^2 - c) / N: the transition is at 1 for equidistant patterns.
      BetaEff: float
      Points: Hybrid.Hopfield.FixedPoint list
    }

    /// Whether the centroid is among the minima.
    member GlobalIsMinimum: bool

    /// Distinct minima.
    member Minima: Hybrid.Hopfield.FixedPoint list

    /// Single-pattern minima.
    member PatternMinima: Hybrid.Hopfield.FixedPoint list

/// The analysis of one pattern set.
type PhaseResult =
    {
      Count: int
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
      SweepOnset: float option
    }

    /// Measured / predicted - 1.
    member RelativeError: float option

/// Starting points: the centroid, each pattern, and random mixtures of the
/// patterns (Dirichlet weights) plus Gaussian noise, `[S; d]`.
val starts:
  p: Hybrid.Hopfield.Patterns ->
    count: int -> seed: int64 -> TorchSharp.torch.Tensor

/// The distinct fixed points reached from `starts` at `beta` (retrieval to 1e-12,
/// at most 50,000 updates, states closer than 1e-5 (1 + M) merged).
val fixedPointsAt:
  p: Hybrid.Hopfield.Patterns ->
    beta: float ->
    starts: TorchSharp.torch.Tensor -> Hybrid.Hopfield.FixedPoint list

/// The measured critical beta of the centroid and the onset of single-pattern
/// minima (from pattern 0), each by bisection in [lo, hi]; None where the bracket
/// does not hold the transition (or the centroid is not a fixed point).
val criticalBetas:
  p: Hybrid.Hopfield.Patterns ->
    lo: float -> hi: float -> float option * float option

/// Sweeps `betas`, analysing the fixed points from `startCount` starts at each.
val analyse:
  p: Hybrid.Hopfield.Patterns ->
    betas: float list -> startCount: int -> seed: int64 -> PhaseResult

/// A geometric grid of `count` betas from `lo` to `hi`.
val grid: lo: float -> hi: float -> count: int -> float list

/// The first `count` training images of a dataset as patterns: centred on their mean
/// and scaled to norm `norm`.
val datasetPatterns:
  dataRoot: string option ->
    name: string -> count: int -> norm: float -> Hybrid.Hopfield.Patterns

/// What `hybrid hopfield phase` analyses.
type Settings =
    {
      /// simplex, orthogonal, random, or a dataset name (its first images, centred and scaled).
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
      DataRoot: string option
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Simplex patterns, N in {3, 5, 10}, M in {1, 2}.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

val private make:
  s: Settings ->
    count: int -> norm: float -> dimension: int -> Hybrid.Hopfield.Patterns

/// One pattern set of a study: N, M, the analysis and its two plots.
type Case =
    {
      Count: int
      Norm: float
      Result: PhaseResult
      BifurcationPlot: string
      MinimaPlot: string
    }

/// The outcome of a study, and the files written.
type Study =
    {
      Settings: Settings
      Cases: Case list

      /// Every fixed point found.
      Csv: string
    }

/// The study as JSON (also written to `Out/phase.json`).
val private json: st: Study -> System.Text.Json.Nodes.JsonObject

/// Sweeps beta for every N and M, writes the bifurcation and minima-count plots,
/// every fixed point (phase.csv) and phase.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON, and the measured against the predicted critical beta.
val report: st: Study -> Hybrid.Reporting.Report
