/// The equilibrated energy of deep linear networks (Innocenti et al. 2024, Theorem 1): the
/// energy at the inference equilibrium is the rescaled MSE F* = 1/(2n) sum_i r_i^T S^{-1} r_i.
/// For random bias-free linear chains of several depths, the closed form
/// (`Theory.linearEquilibratedEnergy`) against inference run to a tolerance
/// (`Theory.equilibrate`), for the energy and for its weight gradient.
module Hybrid.Experiments.Equilibrated

/// What `hybrid theory energy` studies.
type Settings =
    {
      /// Depths L (weight matrices).
      Depths: int list

      /// Width of the input, of every hidden layer and of the output.
      Width: int

      /// Samples per network.
      Batch: int

      /// Networks (seeds) per depth.
      Seeds: int

      /// Weights N(0, scale^2 / fan_in).
      WeightScale: float

      /// Inference stops when every sample's state gradient has at most this norm.
      Tolerance: float

      /// Inference step budget.
      MaxSteps: int

      /// Folder for the plot, CSV and JSON.
      Out: string
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// Depths 2..10, width 16, batch 32, 3 seeds, scale 1, tolerance 1e-10.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// One depth's outcome, over the seeds.
type DepthResult =
    {
      Depth: int

      /// Mean closed-form F* and mean MSE loss (F* <= L: S >= I).
      Energy: float
      Loss: float

      /// Largest relative difference of the energy, and of its weight gradient, over the seeds.
      EnergyDifference: float
      GradientDifference: float

      /// Largest number of inference steps, and whether every run met the tolerance.
      Steps: int
      Converged: bool
    }

/// The outcome, and the files written.
type Study =
    {
      Settings: Settings
      Depths: DepthResult list
      Plot: string
      Csv: string
    }

/// Runs every depth and seed; writes the plot, theory-energy.csv and theory-energy.json into `Out`.
val study: s: Settings -> observer: Hybrid.Reporting.Observer -> Study

/// The study as a report: its JSON and the table beside the paper's statement.
val report: st: Study -> Hybrid.Reporting.Report
