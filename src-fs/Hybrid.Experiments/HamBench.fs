/// The HAM solver benchmark (SPEC.md 3): the four solver variants on a test set.
module Hybrid.Experiments.HamBench

open System.Diagnostics
open TorchSharp
open Hybrid
open Hybrid.Ham

/// Times a solver on a batch: seconds, and the solution.
let timed (net: Network) (solver: Solver) (start: torch.Tensor[]) (tolerance: float) (maxIterations: int) =
    let sw = Stopwatch.StartNew()
    let s = solve net solver start tolerance maxIterations
    sw.Stop()
    s, sw.Elapsed.TotalSeconds

/// One solver's measured behaviour on a batch.
type BenchRow =
    { Solver: Solver
      /// Mean iterations per sample to the criterion (the cap for those that did not converge).
      MeanIterations: float
      /// Median seconds over the timed repeats (after one warm-up solve).
      Seconds: float
      NotConverged: int
      /// Accuracy of the top layer's argmax (percent).
      Accuracy: float }

/// The four variants of SPEC.md 3: synchronous Picard, even/odd, DEQ-Anderson and
/// even/odd + Anderson (Anderson memory 4, Tikhonov 1e-4).
let variants = [ Solver.Picard; Solver.EvenOdd; Solver.Anderson(4, 1e-4); Solver.EvenOddAnderson(4, 1e-4) ]

/// Solves the test inputs with each solver and reports iterations, time, failures and accuracy.
let benchmark (net: Network) (solvers: Solver list) (x: torch.Tensor) (labels: torch.Tensor) (tolerance: float) (maxIterations: int) (repeats: int) : BenchRow list =
    if repeats < 1 then invalidArg "repeats" (sprintf "repeats must be at least 1, got %d" repeats)
    [ for solver in solvers ->
          use _ = torch.NewDisposeScope()
          let warm = solve net solver (initial net x) tolerance maxIterations
          let times =
              [| for _ in 1 .. repeats ->
                     let s, secs = timed net solver (initial net x) tolerance maxIterations
                     for t in s.States do t.Dispose()
                     secs |] |> Array.sort
          let row =
              { Solver = solver
                MeanIterations = warm.Iterations |> Array.averageBy float
                Seconds = times[times.Length / 2]
                NotConverged = warm.Converged |> Array.filter not |> Array.length
                Accuracy = accuracy warm.States[net.Top] labels }
          for t in warm.States do t.Dispose()
          row ]
