/// Escaping the saddle at the origin (Innocenti et al., NeurIPS 2024, "Only strict saddles in
/// the energy landscape of predictive coding networks?"): from a small initialisation near
/// the origin, gradient descent on the equilibrated energy F* (PC: inference to a tolerance,
/// then dF*/dθ) leaves the loss plateau in far fewer updates than gradient descent on the
/// MSE loss (BP) with the same optimiser (plain full-batch SGD on the weights, biases zero)
/// and the same learning rates; for deep linear networks on regression data and for a tanh
/// MLP on a Fashion-MNIST subset.
module Hybrid.Experiments.Escape

/// What `hybrid theory escape` studies.
type Settings =
    {
      /// Depths L (weight matrices) of the linear chains.
      Depths: int list

      /// Width of the linear chains' input, hidden layers and output.
      Width: int

      /// Samples of the regression data.
      Batch: int

      /// Learning rates of the linear cases (plain SGD, the same for BP and PC).
      LearningRates: float list

      /// Update budget of the linear cases.
      MaxUpdates: int

      /// Weight layers of the tanh MLP (784 inputs, 10 outputs).
      MlpLayers: int

      /// Hidden width of the MLP.
      MlpWidth: int

      /// Fashion-MNIST training samples of the MLP case (0: no MLP case).
      MlpSamples: int

      /// Learning rates of the MLP case.
      MlpLearningRates: float list

      /// Update budget of the MLP case.
      MlpMaxUpdates: int

      /// Networks (initialisation seeds) per case.
      Seeds: int

      /// Weights N(0, scale^2 / fan_in).
      WeightScale: float

      /// The loss has left its plateau at the first update where it is below this fraction
      /// of its value at initialisation.
      Threshold: float

      /// PC's inference: the first step size, and it stops when every sample's state
      /// gradient has at most `Tolerance` (or after `MaxInferenceSteps`).
      InferenceStep: float
      Tolerance: float
      MaxInferenceSteps: int

      /// Dataset root folder (None: the usual search).
      DataRoot: string option

      /// Folder for the plot, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 2..5 of width 8 on 64 regression samples, learning rates 0.1, 0.2, 0.4, 1000
/// updates; a 3-layer tanh MLP of width 64 on 1000 Fashion-MNIST samples, learning rates
/// 0.25, 0.5, 400 updates; 3 seeds, scale 1e-3, threshold 0.9, inference tolerance 1e-6.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// One training run.
type Run =
    {
      /// The update at which the loss left its plateau (None: not within the budget).
      Escape: int option

      /// The loss became non-finite or grew a millionfold before leaving the plateau.
      Diverged: bool

      /// The training MSE at initialisation and after each update.
      Losses: float array
    }

/// One case, method and learning rate, over the seeds.
type Cell =
    {
      Case: string
      Method: string
      LearningRate: float
      Budget: int
      Runs: Run list
    }

    /// The mean and standard deviation of the escape update when every seed escaped.
    member Summary: (float * float) option

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings

      /// Case names in order (the linear depths, then the MLP).
      Cases: string list
      Cells: Cell list
      Plot: string
      Csv: string
    }

/// Trains every case, method, learning rate and seed; writes the plot, theory-escape.csv and
/// theory-escape.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The smallest mean escape update over the learning rates where every seed escaped.
val best: st: Study -> case: string -> methodName: string -> float option

/// The study as a report: its JSON and the table beside the papers' statement.
val report: st: Study -> Hybrid.Reporting.Report
