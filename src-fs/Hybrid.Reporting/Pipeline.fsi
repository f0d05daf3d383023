/// The one run pipeline: a configuration into a run folder, which holds config.json,
/// one results.jsonl line, TensorBoard scalars and a checkpoint per epoch, summary.json
/// and its plots, and can be resumed from its checkpoint.
module Hybrid.Reporting.Pipeline

/// The checkpoint file of a run folder.
val checkpointPath: folder: string -> string

/// A finished (or stopped) run and its folder.
type FolderRun =
    {
      Result: Hybrid.TrainResult
      Folder: string

      /// Epochs the run had when it started here: 0 for a fresh run, else the checkpoint's.
      ResumedFrom: int
    }

/// Where a run goes.
[<RequireQualifiedAccess>]
type Destination =
    /// A fresh folder under this root, named from the run and the time.
    | Under of root: string

    /// Exactly this folder: created when it holds no run yet, continued from its
    /// checkpoint when it holds one of the same configuration.
    | At of folder: string

/// What the caller hears besides the observer.
type Hooks =
    {
      Observer: Hybrid.Reporting.Observer

      /// The data and network are ready and the folder is taken: the run starts.
      Started: (unit -> unit)

      /// The run continues from a checkpoint holding these epochs (before any new one).
      Resumed: (Hybrid.EpochRecord list -> unit)

      /// An epoch is done: its checkpoint is saved and its results line written.
      Epoch: (Hybrid.EpochRecord -> unit)
    }

module Hooks =
    /// Only the observer.
    val ofObserver: o: Hybrid.Reporting.Observer -> Hooks

/// Checks that a checkpoint belongs to the folder's run: its run id (when both have
/// one) and its configuration must be the folder's.
val private checkBinding:
  run: Hybrid.Runs.RunFolder -> checkpoint: string -> unit

/// Runs a session to its end (or until cancelled), appending each epoch to the run
/// folder and saving a checkpoint (bound to the run) after each epoch and when
/// stopped; writes the summary and the plots.
val private continueRun:
  session: Hybrid.TrainingSession ->
    run: Hybrid.Runs.RunFolder ->
    hooks: Hooks ->
    resumedFrom: int -> cancel: System.Threading.CancellationToken -> FolderRun

/// The one pipeline of a training run: `hybrid train`, every experiment and every
/// sweep trial go through it. It prepares the data and network, takes the run folder
/// (its lock), continues from the folder's checkpoint when it holds one, runs to the end
/// (or until cancelled), and after each epoch saves a checkpoint and writes a results
/// line and TensorBoard scalars; at the end the summary and the plots. The
/// configuration is checked first, so bad input leaves no folder behind.
val run:
  cfg: Hybrid.TrainConfig ->
    data: Hybrid.Data.Dataset ->
    device: Hybrid.Device ->
    dest: Destination ->
    hooks: Hooks -> cancel: System.Threading.CancellationToken -> FolderRun

/// Runs one configuration (loading its dataset) into a fresh run folder under `root`.
val runOne:
  cfg: Hybrid.TrainConfig ->
    root: string ->
    observer: Hybrid.Reporting.Observer ->
    cancel: System.Threading.CancellationToken -> FolderRun

/// Resumes the run in `folder` from its checkpoint (its dataset is loaded again). The
/// folder is locked for the run; the checkpoint must be this run's; the results file
/// must agree with it.
val resume:
  folder: string ->
    observer: Hybrid.Reporting.Observer ->
    cancel: System.Threading.CancellationToken -> FolderRun

/// The report of runs: a table per run, or their summaries as JSON (one object for one run).
val report: runs: FolderRun list -> Hybrid.Reporting.Report
