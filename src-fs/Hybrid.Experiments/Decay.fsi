/// Signal decay in sPC versus ePC (SPEC.md 1.4): on deep chains, how many
/// inference steps each reparameterisation needs to reach the exact linear
/// equilibrium, each at its own best stable step size, and how the per-layer
/// updates evolve step by step.
module Hybrid.Experiments.Decay

/// How the chain's weights are drawn.
[<RequireQualifiedAccess>]
type ChainWeights =
    /// PyTorch's default U(-1/sqrt(n), 1/sqrt(n)) with biases: each layer shrinks the signal (gain about 1/sqrt 3).
    | Default

    /// Random orthogonal matrices without biases: gain 1, the signal keeps its size through the chain.
    | Orthogonal
    override ToString: unit -> string

/// The chain weights by name.
val chainWeights: Hybrid.Choice<ChainWeights>

/// A chain to study: `Depth` blocks of width `Width`, all with `Activation`.
type Chain =
    {
      Depth: int
      Width: int
      Activation: Hybrid.Activation
      Precision: Hybrid.Precision
      Weights: ChainWeights
    }
    override ToString: unit -> string

/// One tried step size.
type Attempt =
    {
      StepSize: float

      /// Steps to reach the tolerance (None: not reached within the budget).
      Steps: int option

      /// Whether the energy blew up.
      Diverged: bool
    }

/// The search's outcome for one reparameterisation.
type MethodResult =
    {
      Reparam: Hybrid.Reparam

      /// The fastest attempt that reached the tolerance, if any did.
      Best: Attempt option

      /// Every attempt, in the order tried.
      Attempts: Attempt list

      /// Per step, ||h_l^(t) - h_l^(t-1)|| for each hidden layer, at the chosen step size.
      UpdateNorms: float array array

      /// Per step, the relative distance to the exact equilibrium (linear chains only).
      Distances: float array
    }

/// sPC and ePC on one chain.
type CaseResult =
    {
      Chain: Chain
      Spc: MethodResult
      Epc: MethodResult
    }

    /// sPC steps / ePC steps, when both reached the tolerance.
    member Ratio: float option

/// The step sizes searched: 2 down to 2^-8 by factors of sqrt 2.
val stepGrid: float list

/// The chain's network, its input and target (float64 draws cast to the chain's precision).
val private build:
  chain: Chain ->
    batch: int ->
    seed: int64 ->
    Hybrid.Network * Hybrid.Network * TorchSharp.torch.Tensor *
    TorchSharp.torch.Tensor

/// Runs inference from the forward pass and returns the steps to reach `tolerance`
/// relative distance to `exact` (None: not within `maxSteps`), or a divergence.
val private attempt:
  net: Hybrid.Network ->
    x: TorchSharp.torch.Tensor ->
    y: TorchSharp.torch.Tensor ->
    exact: TorchSharp.torch.Tensor array ->
    reparam: Hybrid.Reparam ->
    stepSize: float -> maxSteps: int -> tolerance: float -> Attempt

/// Records per-layer update norms and distances for `steps` steps at `stepSize`.
val private trace:
  net: Hybrid.Network ->
    x: TorchSharp.torch.Tensor ->
    y: TorchSharp.torch.Tensor ->
    exact: TorchSharp.torch.Tensor array option ->
    reparam: Hybrid.Reparam ->
    stepSize: float -> steps: int -> float array array * float array

/// Searches each reparameterisation's step sizes (largest first; an attempt is cut
/// off once it needs more steps than the best so far) and traces the best one.
/// Nonlinear chains have no exact equilibrium: they are traced at the step size
/// found for the linear chain of the same depth and precision (`stepHint`).
val run:
  chain: Chain ->
    batch: int ->
    maxSteps: int ->
    tolerance: float ->
    traceSteps: int ->
    seed: int64 -> stepHint: (Hybrid.Reparam -> float) option -> CaseResult

/// What `hybrid decay` studies.
type Settings =
    {
      /// Chain depths L (blocks).
      Depths: int list
      Width: int

      /// Samples per chain.
      Batch: int

      /// Inference step budget per attempt.
      MaxSteps: int

      /// Relative distance to the exact equilibrium counted as reached.
      Tolerance: float

      /// Steps recorded for the update-magnitude plots.
      TraceSteps: int
      Seed: int64
      Weights: ChainWeights

      /// Folder for the plots, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 5, 10, 20 of width 32, PyTorch's default weights.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

val private steps: m: MethodResult -> int option

val private stepsText: m: MethodResult -> budget: int -> string

val private describe: m: MethodResult -> string

/// Per-layer update norms of a few layers (first, quartiles, last) as plot lines.
val private seriesFor:
  m: MethodResult -> dashed: bool -> Hybrid.Reporting.Plots.Series list

/// The outcome of a study: every chain's result, and the files written.
type Study =
    {
      Settings: Settings

      /// Per depth: the linear chain in float64, the tanh chain, then both in float32.
      Cases: CaseResult list

      /// The per-layer update plots, one per case.
      Plots: string list

      /// Every attempted step size.
      Csv: string
    }

/// The study as JSON (also written to `Out/decay.json`): settings, and per linear
/// chain the best step sizes, steps and their ratio.
val private json: st: Study -> System.Text.Json.Nodes.JsonObject

/// Runs every depth in float64 and float32: the linear chain (step sizes searched),
/// then the tanh chain at the linear chain's step sizes; writes the per-layer update
/// plots, every attempt (decay.csv) and decay.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON, and the table of steps to the equilibrium.
val report: st: Study -> Hybrid.Reporting.Report
