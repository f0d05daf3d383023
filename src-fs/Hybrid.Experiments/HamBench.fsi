/// The HAM solver benchmark (SPEC.md 3): the four solver variants on a test set.
module Hybrid.Experiments.HamBench

/// Times a solver on a batch: seconds, and the solution.
val timed:
  net: Hybrid.Ham.Network ->
    solver: Hybrid.Ham.Solver ->
    start: TorchSharp.torch.Tensor array ->
    tolerance: float -> maxIterations: int -> Hybrid.Ham.Solution * float

/// One solver's measured behaviour on a batch.
type BenchRow =
    {
      Solver: Hybrid.Ham.Solver

      /// Mean iterations per sample to the criterion (the cap for those that did not converge).
      MeanIterations: float

      /// Median seconds over the timed repeats (after one warm-up solve).
      Seconds: float
      NotConverged: int

      /// Accuracy of the top layer's argmax (percent).
      Accuracy: float
    }

/// The four variants of SPEC.md 3: synchronous Picard, even/odd, DEQ-Anderson and
/// even/odd + Anderson (Anderson memory 4, Tikhonov 1e-4).
val variants: Hybrid.Ham.Solver list

/// Solves the test inputs with each solver and reports iterations, time, failures and accuracy.
val benchmark:
  net: Hybrid.Ham.Network ->
    solvers: Hybrid.Ham.Solver list ->
    x: TorchSharp.torch.Tensor ->
    labels: TorchSharp.torch.Tensor ->
    tolerance: float -> maxIterations: int -> repeats: int -> BenchRow list

/// What `hybrid ham bench` measures.
type Settings =
    {
      /// Dataset (inputs in [0,1]).
      Dataset: string
      DataRoot: string option

      /// Layer sizes of each network.
      Layers: int list list

      /// Training epochs before the measurement.
      Epochs: int
      BatchSize: int

      /// Adam learning rate.
      LearningRate: float

      /// Solver used in training.
      TrainSolver: Hybrid.Ham.Solver

      /// Convergence of the measured solves: ||x_{k+1} - x_k|| / ||x_{k+1}|| below this.
      Tolerance: float

      /// Convergence of the training solves (implicit gradients need accurate fixed points).
      TrainTolerance: float

      /// Iteration cap.
      MaxIterations: int

      /// Timed repeats per variant (median).
      Repeats: int
      Seed: int64
      Device: Hybrid.DeviceChoice
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// A 3- and a 5-layer HAM on mnist10k, trained for 2 epochs with even/odd + Anderson.
val defaults: Settings

/// Networks written as `784,512,10;784,512,256,128,10` (or a JSON array of arrays).
val private layersCodec: Hybrid.Codec<int list list>

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// The outcome of a benchmark: per network (named by its layer sizes), the rows of the four variants.
type Study =
    {
      Settings: Settings
      Networks: (string * BenchRow list) list

      /// Test samples solved.
      TestCount: int
    }

/// Trains each network's readout, then solves the test set with the four variants.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The benchmark as a report: a JSON array of networks, and a table per network.
val report: st: Study -> Hybrid.Reporting.Report
