/// Training a hierarchical associative memory's readout (SPEC.md 3): each batch is
/// solved to its fixed point and differentiated implicitly.
module Hybrid.HamTraining

open System.Diagnostics
open TorchSharp
open Hybrid
open Hybrid.Ham
open Hybrid.Data

/// Convergence of the training solves: implicit gradients assume an exact fixed point.
let trainTolerance = 1e-6

/// The iteration cap of a solve.
let maxIterations = 300

/// Convergence and cap of the adjoint iteration of the implicit gradients.
let private adjointTolerance, adjointIterations = 1e-6, 100

/// One training epoch result.
type EpochResult =
    { Epoch: int
      TrainLoss: float
      TestAccuracy: float
      /// Mean solver iterations per training sample.
      MeanIterations: float
      /// Training samples whose fixed point did not converge.
      NotConverged: int
      /// Batches whose adjoint iteration did not converge.
      AdjointNotConverged: int
      Seconds: float }

/// Trains the readout (MSE of the top layer against one-hot targets) with Adam,
/// solving each batch with `solver` to `tolerance` and differentiating implicitly.
/// Implicit gradients assume an exact fixed point: a loose tolerance (1e-4) can
/// send deeper networks astray within an epoch; 1e-6 is safe.
let train (net: Network) (solver: Solver) (train: TensorSplit) (test: TensorSplit) (epochs: int) (batchSize: int) (lr: float) (tolerance: float) (maxIterations: int) (seed: int64) (onEpoch: EpochResult -> unit) =
    Network.validate net
    if epochs < 1 then invalidArg "epochs" (sprintf "epochs must be at least 1, got %d" epochs)
    let classes = net.Sizes[net.Top]
    if train.Classes > classes then invalidArg "sizes" (sprintf "the top layer has %d units but the data has %d classes" classes train.Classes)
    if int train.X.shape[1] <> net.Sizes[0] then
        invalidArg "sizes" (sprintf "the input layer has %d units but the data has %d features" net.Sizes[0] (int train.X.shape[1]))
    use opt = new Optimizer(OptimizerSpec.AdamW(lr, 0.0), net.Parameters)
    let sw = Stopwatch()
    [ for epoch in 1 .. epochs ->
          let batches = Batching.epoch Batching.Random train.Classes batchSize seed epoch train.Labels
          let mutable lossSum = 0.0
          let mutable iterSum = 0L
          let mutable notConverged = 0
          let mutable adjointBad = 0
          sw.Start()
          for idx in batches do
              use _ = torch.NewDisposeScope()
              let index = torch.tensor(idx, device = train.X.device)
              let x = train.X.index_select(0L, index)
              let y = torch.nn.functional.one_hot(train.Y.index_select(0L, index), int64 classes).to_type(x.dtype)
              let s = solve net solver (initial net x) tolerance maxIterations
              iterSum <- iterSum + (s.Iterations |> Array.sumBy int64)
              notConverged <- notConverged + (s.Converged |> Array.filter not |> Array.length)
              let l, ok = implicitGradients net s.States y adjointTolerance adjointIterations
              for t in s.States do t.Dispose()
              if not ok then adjointBad <- adjointBad + 1
              lossSum <- lossSum + l
              opt.Step()
          sw.Stop()
          let acc =
              use _ = torch.NewDisposeScope()
              let s = solve net solver (initial net test.X) tolerance maxIterations
              accuracy s.States[net.Top] test.Y
          let r =
              { Epoch = epoch
                TrainLoss = lossSum / float batches.Length
                TestAccuracy = acc
                MeanIterations = float iterSum / float train.Count
                NotConverged = notConverged
                AdjointNotConverged = adjointBad
                Seconds = sw.Elapsed.TotalSeconds }
          Runtime.releaseMemory ()
          onEpoch r
          r ]

