/// The effective landscape and vanishing gradients (Innocenti's thesis): for deep
/// feedforward networks, the per-layer norms of the gradient PC learns on, dF*/dW_l at the
/// inference equilibrium, against BP's dL/dW_l of the MSE loss, at initialisation and
/// along training by PC (plain SGD on dF*/dθ), on a subset of a dataset (one-hot targets).
module Hybrid.Experiments.EffectiveGradients

/// What `hybrid theory gradients` studies.
type Settings =
    {
      /// Dataset (registry name or folder:PATH), inputs standardised, one-hot targets.
      Dataset: string

      /// Dataset root folder.
      DataRoot: string option

      /// Training samples used (the first ones of the training split), one full batch.
      Samples: int

      /// Hidden activations: tanh, sigmoid or identity.
      Activations: string list

      /// Depths L (weight matrices).
      Depths: int list

      /// Width of the hidden layers.
      Width: int

      /// Weights N(0, scale^2 / fan_in).
      WeightScale: float

      /// SGD updates by PC (and by BP, for the loss it reaches).
      Updates: int

      /// SGD learning rate.
      LearningRate: float

      /// Points of training at which both gradients are recorded (evenly spaced, the first at initialisation).
      Records: int

      /// Inference stops when every sample's state gradient has at most this norm.
      Tolerance: float

      /// Inference step budget.
      MaxSteps: int

      /// Seed of the weights.
      Seed: int64

      /// Folder for the plots, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// fashion-mnist, 256 samples, tanh and sigmoid, depths 5, 10, 20, width 32, scale 1,
/// 30 updates at rate 0.1, 4 records, tolerance 1e-5.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// Both gradients at one point of training.
type Record =
    {
      Update: int

      /// ||dL/dW_l|| (BP) and ||dF*/dW_l|| (PC), index l-1: layer l.
      Bp: float array
      Pc: float array

      /// The MSE loss L and F* at this point (F* <= L).
      Loss: float
      Energy: float

      /// Inference steps and whether the tolerance was met.
      Steps: int
      Converged: bool
    }

/// One activation and depth.
type Case =
    {
      Activation: string
      Depth: int
      Records: Record list

      /// The loss after the same number of SGD updates on dL/dθ (BP).
      BpLoss: float
    }

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings
      Cases: Case list
      Plots: string list
      Csv: string
    }

/// First-layer over last-layer gradient norm (the vanishing factor; 1 = none).
val ratio: norms: float array -> float

/// Runs every activation and depth; writes one plot per activation, theory-gradients.csv
/// and theory-gradients.json into `Out`. A missing dataset is an error.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON and the table beside the thesis' statement.
val report: st: Study -> Hybrid.Reporting.Report
