/// Strict saddles of the equilibrated energy (Innocenti et al., NeurIPS 2024, "Only strict
/// saddles in the energy landscape of predictive coding networks?"): at the origin (every
/// weight zero) of a deep linear network, the MSE loss has a zero Hessian for L >= 3 (a
/// non-strict saddle), while the energy at the inference equilibrium F* has negative
/// eigenvalues (a strict saddle), with lambda_min(F*) = -lambda_max(Y^T Y / n); at L = 2
/// both are strict (the loss's lambda_min = -sigma_max(Y^T X / n)).
module Hybrid.Experiments.Saddles

/// What `hybrid theory saddles` studies.
type Settings =
    {
      /// Depths L (weight matrices).
      Depths: int list

      /// Width of the input, of every hidden layer and of the output.
      Width: int

      /// Samples of the regression data.
      Batch: int

      /// Seed of the regression data.
      Seed: int

      /// Inference at the origin stops when every sample's state gradient has at most this norm.
      Tolerance: float

      /// Folder for the plot, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 1..6, width 8, batch 64, seed 0, tolerance 1e-10.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// The spectrum of one Hessian at the origin.
type Spectrum =
    {
      Smallest: float
      Largest: float

      /// Eigenvalues below -tolerance, and above +tolerance (tolerance 1e-9 max(1, |lambda|max)).
      Negative: int
      Positive: int

      /// The second-order Taylor model's prediction of the smallest eigenvalue and of the
      /// number of negative eigenvalues.
      PredictedSmallest: float
      PredictedNegative: int

      /// ||H - H_model||_F / max(||H||_F, ||H_model||_F) (0 when both vanish).
      ModelDifference: float

      /// The norm of the gradient at the origin (0: a critical point).
      GradientNorm: float

      /// All eigenvalues, ascending.
      Eigenvalues: float array
    }

/// One depth's outcome.
type DepthResult =
    {
      Depth: int
      Loss: Spectrum

      /// F* in closed form (`Theory.linearEquilibratedHessian`).
      Energy: Spectrum

      /// ||H_closed - H_inference||_F / ||H_closed||_F for F*'s Hessian by inference
      /// (`Theory.equilibratedHessian`) at the origin; NaN at L = 1 (no hidden state to infer).
      InferenceDifference: float

      /// Whether the depth shows the papers' statement (L = 1: no saddle, F* = loss, convex;
      /// L = 2: both strict saddles; L >= 3: loss Hessian zero, F* strict), the predictions met.
      ClaimHolds: bool
    }

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings
      Depths: DepthResult list

      /// lambda_max(Y^T Y / n), sigma_max(Y^T X / n), and lambda_min / lambda_max of X^T X / n.
      OutputCovarianceMax: float
      CrossCovarianceMax: float
      InputCovarianceMin: float
      InputCovarianceMax: float
      Plot: string
      Csv: string
    }

/// Computes every depth's Hessians at the origin; writes the plot, theory-saddles.csv and
/// theory-saddles.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON and the table beside the papers' statement.
val report: st: Study -> Hybrid.Reporting.Report
