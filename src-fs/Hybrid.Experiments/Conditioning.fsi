/// The conditioning of the inference landscape against depth (Innocenti et al. 2025, muPC):
/// the extreme eigenvalues and condition number of the activity Hessian of residual MLPs
/// (SPEC.md 1.5) under the standard, neural-tangent and muPC parameterisations, for sPC's
/// energy F(h) and ePC's E(e), at the forward-pass states with the output clamped to the
/// label, on Fashion-MNIST test images, at initialisation and after a short sPC training.
module Hybrid.Experiments.Conditioning

/// What `hybrid theory conditioning` studies.
type Settings =
    {
      /// Numbers of weight layers L.
      Depths: int list

      /// Widths N of the hidden layers.
      Widths: int list

      /// The parameterisations compared.
      Parameterisations: Hybrid.Parameterisation list

      /// The activation of the residual blocks.
      Activation: Hybrid.Activation

      /// Test images whose activity Hessians are measured (the median is reported).
      Samples: int

      /// sPC weight updates of the short training (0: initialisation only).
      TrainSteps: int

      /// Samples per training batch.
      BatchSize: int

      /// AdamW learning rate of the short training.
      LearningRate: float

      /// Fraction of the training set the short training draws its batches from.
      Fraction: float

      /// Dataset (fashion-mnist, mnist10k, ...).
      Dataset: string

      /// Dataset root folder (None: $HYBRID_DATA, then the standard folders).
      DataRoot: string option

      /// Seed of the networks and of the batches.
      Seed: int64

      /// Folder for the plot, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 4, 8, 16, 32; widths 16 and 64; sp and muPC; ReLU; 4 test images; 50 sPC updates of
/// batch 64 (AdamW 0.1, the configs/mupc training) on 10% of Fashion-MNIST.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// Median extreme eigenvalues and condition number of one activity Hessian over the samples.
type Spectrum =
    {
      Smallest: float
      Largest: float
      Condition: float
    }

/// One network's spectra, before and after training.
type Cell =
    {
      Parameterisation: Hybrid.Parameterisation
      Width: int
      Depth: int

      /// sPC (states) and ePC (errors) at initialisation.
      SpcInit: Spectrum
      EpcInit: Spectrum

      /// The same after the short training (None: no training, or it diverged).
      SpcTrained: Spectrum option
      EpcTrained: Spectrum option

      /// Test accuracy (percent) at initialisation and after training (None: not trained or diverged).
      InitAccuracy: float
      TrainedAccuracy: float option

      /// Why the training stopped early, if it did.
      Diverged: string option
    }

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings
      Cells: Cell list
      Plot: string
      Csv: string
      WallSeconds: float
    }

/// The activity-Hessian spectrum (median over the batch's samples) of `net` at the forward
/// pass of `x` with the output clamped to `y`.
val spectrum: net: Hybrid.Network -> reparam: Hybrid.Reparam -> x: Hybrid.Tensor -> y: Hybrid.Tensor -> Spectrum

/// Runs every parameterisation, width and depth; writes the plot, theory-conditioning.csv and
/// theory-conditioning.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON and the table beside the paper's statement.
val report: st: Study -> Hybrid.Reporting.Report
