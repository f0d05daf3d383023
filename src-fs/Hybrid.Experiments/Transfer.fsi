/// Hyperparameter transfer under muPC (Innocenti et al. 2025): a grid of weight learning
/// rate and state step, trained with sPC on residual MLPs (configs/mupc) at a small width
/// and depth and at a larger one, under muPC and under the standard parameterisation, every
/// cell a trial of one sweep (`Hybrid.Sweeps`). The question: is the best cell of the large
/// network the best of the small one, within one grid step?
module Hybrid.Experiments.Transfer

/// What `hybrid theory transfer` runs.
type Settings =
    {
      /// The data, epochs, folder, device and trial storage of every run.
      Runs: RunSettings

      /// Seeds per cell (the grid's accuracy is the mean over them of the best test accuracy).
      Seeds: int

      /// The small network: hidden width and weight layers.
      SmallWidth: int
      SmallDepth: int

      /// The large network.
      LargeWidth: int
      LargeDepth: int

      /// AdamW learning rates of the weights, increasing.
      LearningRates: float list

      /// sPC's state steps, increasing.
      StateSteps: float list

      /// Parameterisations compared.
      Parameterisations: Hybrid.Parameterisation list

      /// Inference steps T (None: the configs', 8).
      Steps: int option
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// 10% of Fashion-MNIST, one epoch, two seeds; width 32 and depth 4 against width 128 and
/// depth 16; learning rates 0.003 ... 0.3 and state steps 0.0125 ... 0.2 (each a factor
/// of about 3 or 2 apart); sp and muPC.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// One parameterisation and size: the mean best test accuracy per cell.
type Grid =
    {
      Parameterisation: Hybrid.Parameterisation
      Width: int
      Depth: int

      /// [learning rate index, state step index]; NaN where a seed diverged or failed (such a
      /// cell is never the best).
      Accuracy: float[,]

      /// The best cell's indices (the first in row order among equals).
      Best: int * int
      BestAccuracy: float

      /// The heatmap.
      Plot: string
    }

/// One parameterisation's answer.
type Verdict =
    {
      Parameterisation: Hybrid.Parameterisation
      Small: Grid
      Large: Grid

      /// Grid steps from the small network's best cell to the large one's (large minus small).
      LearningRateShift: int
      StateStepShift: int

      /// Both shifts at most one grid step.
      Transfers: bool

      /// The large network's accuracy at the small network's best cell, and its loss
      /// against its own best (percentage points).
      LargeAtSmallBest: float
      Regret: float
    }

/// The outcome: the sweep's runs, the grids and the verdicts.
type Study =
    {
      Settings: Settings
      Table: Table.Outcome
      Verdicts: Verdict list
    }

/// The sweep's label of one cell (its trials' method).
val label:
  p: Hybrid.Parameterisation -> width: int -> depth: int -> lr: float -> step: float -> string

/// Runs every cell as trials of one sweep (running the command again continues it; other
/// workers may join, see `Table.run`), then reads the grids and writes one heatmap per
/// parameterisation and size and theory-transfer.json into the sweep's folder.
val run:
  s: Settings ->
    observer: Hybrid.Reporting.Observer ->
    cancel: System.Threading.CancellationToken -> Study

/// The study as a report: the verdicts beside the paper's statement, and every grid.
val report: st: Study -> Hybrid.Reporting.Report
