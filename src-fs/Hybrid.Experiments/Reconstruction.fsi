/// Pinchetti et al., Fig. 7: a generative PCN (latent 64, three layers of 256)
/// trained with several initializers (configs/reconstruction/NAME.json) for
/// T_train = T_eval in a list of values; the best test reconstruction error per
/// initializer and T, the loss-vs-T plot and image grids for the smallest T. With
/// `EvalSteps`, every trained model is also evaluated at each T_eval after every
/// epoch: the T_train x T_eval grid of best errors and its heatmaps (Fig. 7 left).
module Hybrid.Experiments.Reconstruction

/// What `reproduce reconstruction` runs.
type Settings =
    {
      Runs: Hybrid.Experiments.RunSettings
      Seeds: int

      /// T_train = T_eval values.
      Steps: int list

      /// Initializers (configs/reconstruction/NAME.json).
      Inits: string list

      /// T_eval values of the T_train x T_eval grid (empty: T_eval = T_train only).
      EvalSteps: int list
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// The paper's grid: random, zero, keep and memory at T in {3, 5, 10, 20}, 3 seeds, 16 epochs.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// One run of the grid.
type private Job =
    {
      Init: string
      Steps: int
      Seed: int
      Config: Hybrid.Generative.GenConfig
    }

/// The runs: every initializer x T x seed, from the initializer's checked-in config.
val private jobs: s: Settings -> Job list

val private epochLine: e: Hybrid.Generative.GenEpoch -> string

/// The first `count` images of a split as rows of pixels.
val private firstImages:
  split: Hybrid.Data.RawSplit -> count: int -> float32 array list

/// The outcome of the grid: the best reconstruction error per initializer and T
/// (mean over the seeds that completed; NaN where none did), and the files written.
type Outcome =
    {
      Settings: Settings

      /// (initializer, T, mean best test MSE per pixel).
      Cells: (string * int * float) list

      /// Memory at the smallest T against zero initialisation at the largest (their
      /// MSEs), when both ran: can a memory save inference steps?
      MemoryVsZero: (float * float) option

      /// (initializer, T_train, T_eval, mean best test MSE per pixel) with `EvalSteps`.
      Grid: (string * int * int * float) list

      /// One heatmap per initializer of the T_train x T_eval grid.
      Heatmaps: string list
      Plot: string
      Grids: string list
      Folder: string
      WallSeconds: float

      /// Runs that diverged (their names and messages).
      Diverged: (string * string) list

      /// Whether the grid was interrupted before every run completed.
      Interrupted: bool
    }

    /// The cell of an initializer and T.
    member Cell: init: string * steps: int -> float

/// The outcome as JSON (also written to the folder's summary.json).
val private json: o: Outcome -> System.Text.Json.Nodes.JsonObject

/// Runs the grid into `Out/reconstruction-DATASET-TIME` (one results file per run)
/// and writes the plot, the image grid and summary.json.
val run:
  s: Settings ->
    observer: Hybrid.Reporting.Observer ->
    cancel: System.Threading.CancellationToken -> Outcome

/// The outcome as a report: the table of initializers against T, and the memory's reading.
val report: o: Outcome -> Hybrid.Reporting.Report
