module Hybrid.Hopfield

/// Stored patterns, one per row (`[N; d]`), in float64 on the CPU unless given otherwise.
type Patterns =
    { X: TorchSharp.torch.Tensor }
    
    /// N, the number of patterns.
    member Count: int
    
    /// d, their dimension.
    member Dimension: int
    
    /// M = max_i ||x_i||.
    member MaxNorm: float

module Patterns =
    
    /// Wraps a `[N; d]` tensor of patterns (copied to float64 on the CPU).
    val ofTensor: x: TorchSharp.torch.Tensor -> Patterns
    
    /// Rows of equal length: a list of vectors of the same dimension.
    val ofRows: rows: float array list -> Patterns
    
    /// N equidistant patterns of norm M: a regular simplex centred at the origin,
    /// x_i . x_j = -M^2/(N-1) for i <> j, embedded in `dimension` >= N dimensions by a
    /// random rotation drawn from `seed`.
    val simplex:
      count: int -> norm: float -> dimension: int -> seed: int64 -> Patterns
    
    /// N orthogonal patterns of norm M in `dimension` >= N dimensions.
    val orthogonal:
      count: int -> norm: float -> dimension: int -> seed: int64 -> Patterns
    
    /// N Gaussian patterns N(0, 1/d) per entry (norm about 1), scaled by `norm`.
    val random:
      count: int -> norm: float -> dimension: int -> seed: int64 -> Patterns
    
    /// The centroid (mean pattern), `[1; d]`.
    val centroid: p: Patterns -> TorchSharp.torch.Tensor
    
    /// The largest off-diagonal inner product c (equal for equidistant patterns).
    val innerProduct: p: Patterns -> float

/// E(xi) = -1/beta logsumexp(beta X xi) + 1/2 xi.xi + 1/beta log N + 1/2 M^2, per state (`[B]`).
val energy:
  p: Patterns ->
    beta: float -> xi: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// The retrieval weights softmax(beta X xi), `[B; N]`.
val weights:
  p: Patterns ->
    beta: float -> xi: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// One CCCP step: xi <- X^T softmax(beta X xi). The energy never increases.
val update:
  p: Patterns ->
    beta: float -> xi: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// The result of retrieval.
type Retrieval =
    {
      
      /// Final states, `[B; d]`.
      States: TorchSharp.torch.Tensor
      
      /// Iterations each state took (the cap when it did not converge).
      Iterations: int array
      
      /// Whether each state met the tolerance before the cap.
      Converged: bool array
    }

/// Iterates the update until every state moves less than `tolerance` (max-norm) or
/// `maxIterations` are done; a state that has not converged is reported as such.
val retrieve:
  p: Patterns ->
    beta: float ->
    xi: TorchSharp.torch.Tensor ->
    tolerance: float -> maxIterations: int -> Retrieval

/// The Hessian of E at a single state xi (`[d]` or `[1; d]`): I - beta X^T (diag p - p p^T) X.
val hessian:
  p: Patterns ->
    beta: float -> xi: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// The smallest eigenvalue of the Hessian at xi: positive at a strict local minimum.
val minCurvature:
  p: Patterns -> beta: float -> xi: TorchSharp.torch.Tensor -> float

/// What kind of fixed point a state is.
[<RequireQualifiedAccess>]
type FixedPointKind =
    
    /// The centroid of all patterns (uniform weights).
    | Global
    
    /// A mixture concentrated on a subset of the patterns.
    | Metastable of size: int
    
    /// One stored pattern.
    | Pattern of index: int
    
    override ToString: unit -> string

/// A distinct fixed point found at some beta.
type FixedPoint =
    {
      State: float array
      Kind: FixedPointKind
      
      /// Whether it is a strict local minimum (Hessian positive definite).
      IsMinimum: bool
      
      /// The largest retrieval weight.
      MaxWeight: float
      
      /// How many starts converged to it.
      Basin: int
    }

/// Classifies a fixed point by its retrieval weights: its support is the patterns
/// whose weight exceeds half the largest one. Support 1 is a single pattern;
/// support N with every weight within 1% of 1/N is the global average; anything
/// else is a metastable mixture of the supported patterns.
val classify:
  p: Patterns ->
    beta: float -> xi: TorchSharp.torch.Tensor -> FixedPointKind * float

/// Finds the distinct fixed points reached from `starts` (`[S; d]`), dedupes them
/// (max-norm distance below `dedupe`), and checks which are minima.
val fixedPoints:
  p: Patterns ->
    beta: float ->
    starts: TorchSharp.torch.Tensor ->
    tolerance: float -> maxIterations: int -> dedupe: float -> FixedPoint list

/// beta_c = N / (M^2 - c) for equidistant patterns (SPEC.md 2).
val predictedCriticalBeta: p: Patterns -> float

/// beta_eff = beta (M^2 - c) / N: the dynamics of equidistant patterns depend on beta
/// only through it, with the transition at beta_eff = 1 (SPEC.md 2).
val effectiveBeta: p: Patterns -> beta: float -> float

/// The largest beta at which the centroid is still a minimum, by bisection on the
/// Hessian's smallest eigenvalue at the centroid (a fixed point for every beta when
/// the patterns are equidistant; checked). Searches (lo, hi] to relative `tolerance`.
val measuredCriticalBeta:
  p: Patterns -> lo: float -> hi: float -> tolerance: float -> float

/// The smallest beta at which retrieval started at pattern `index` ends at a
/// stable single-pattern minimum (bisection to relative `tolerance` over [lo, hi]).
val patternOnsetBeta:
  p: Patterns ->
    index: int -> lo: float -> hi: float -> tolerance: float -> float
