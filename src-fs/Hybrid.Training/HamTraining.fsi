/// Training a hierarchical associative memory's readout (SPEC.md 3): each batch is
/// solved to its fixed point and differentiated implicitly.
module Hybrid.HamTraining

/// Convergence of the training solves: implicit gradients assume an exact fixed point.
val trainTolerance: float

/// The iteration cap of a solve.
val maxIterations: int

/// Convergence and cap of the adjoint iteration of the implicit gradients.
val private adjointTolerance: float

/// Convergence and cap of the adjoint iteration of the implicit gradients.
val adjointIterations: int

/// One training epoch result.
type EpochResult =
    {
      Epoch: int
      TrainLoss: float
      TestAccuracy: float

      /// Mean solver iterations per training sample.
      MeanIterations: float

      /// Training samples whose fixed point did not converge.
      NotConverged: int

      /// Batches whose adjoint iteration did not converge.
      AdjointNotConverged: int
      Seconds: float
    }

/// Trains the readout (MSE of the top layer against one-hot targets) with Adam,
/// solving each batch with `solver` to `tolerance` and differentiating implicitly.
/// Implicit gradients assume an exact fixed point: a loose tolerance (1e-4) can
/// send deeper networks astray within an epoch; 1e-6 is safe.
val train:
  net: Ham.Network ->
    solver: Ham.Solver ->
    train: Data.TensorSplit ->
    test: Data.TensorSplit ->
    epochs: int ->
    batchSize: int ->
    lr: float ->
    tolerance: float ->
    maxIterations: int ->
    seed: int64 -> onEpoch: (EpochResult -> unit) -> EpochResult list
