/// The trust-region view of PC (Innocenti et al. 2023, "Understanding predictive coding as
/// an adaptive trust-region method"): PC's learning interpolates between BP's loss gradient
/// direction and a trust-region (TR) direction that uses second-order information. On small
/// bias-free chains trained by PC (plain SGD on dF*/dθ at inference equilibria, regression
/// data), at points along training: the angle of PC's weight update to BP's -dL/dθ and to
/// the TR step on the loss with the Fisher curvature (for a Gaussian output, the
/// Gauss-Newton matrix J^T J / n) and with the exact Hessian, the radius being the PC step's
/// length.
module Hybrid.Experiments.TrustRegion

/// What `hybrid theory trust-region` studies.
type Settings =
    {
      /// Depths L (weight matrices).
      Depths: int list

      /// Width of the input, hidden layers and output.
      Width: int

      /// Hidden activations: identity, tanh.
      Activations: string list

      /// Regression samples.
      Batch: int

      /// Weights N(0, scale^2 / fan_in).
      WeightScale: float

      /// PC's SGD learning rate.
      LearningRate: float

      /// PC updates.
      Updates: int

      /// Points of training at which the angles are measured (evenly spaced, the first at initialisation).
      Records: int

      /// Inference stops when every sample's state gradient has at most this norm.
      Tolerance: float

      /// Seed of the data and the weights.
      Seed: int64

      /// Folder for the plots, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 2, 3, 4 of width 6, identity and tanh, 32 samples, scale 0.5, 200 updates at 0.2, 5 records.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// The angles (degrees) and lengths at one point of training.
type Record =
    {
      Update: int

      /// PC's update -η dF*/dθ against BP's -dL/dθ.
      PcBp: float

      /// PC's update against the TR step with the Fisher (Gauss-Newton) curvature, and BP's against it.
      PcFisher: float
      BpFisher: float

      /// The same with the loss's exact Hessian.
      PcHessian: float
      BpHessian: float

      /// PC's update and BP's against the natural-gradient step -C⁺ g (the Fisher step with
      /// no trust region, its damping at 1e-12).
      PcNatural: float
      BpNatural: float

      /// ||dF*/dθ|| / ||dL/dθ||.
      LengthRatio: float

      /// The MSE loss and F*.
      Loss: float
      Energy: float
    }

/// One activation and depth.
type Case =
    {
      Activation: string
      Depth: int
      Parameters: int
      Records: Record list
    }

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings
      Cases: Case list
      Plots: string list
      Csv: string
    }

/// Runs every activation and depth; writes one plot per activation, theory-trust-region.csv
/// and theory-trust-region.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: the angles beside the paper's statement.
val report: st: Study -> Hybrid.Reporting.Report
