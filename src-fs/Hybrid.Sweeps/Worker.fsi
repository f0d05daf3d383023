/// Sweep workers: plain processes that claim one trial at a time, run it into a run
/// folder, report each epoch and the final metric back, and stop trials that
/// successive halving rules out. Any scheduler can start them (Slurm job arrays,
/// Kubernetes indexed jobs, a shell loop).
module Hybrid.Sweeps.Worker

/// Asynchronous successive halving's decision at a rung.
module Asha =
    /// Whether a trial with `value` at a rung goes on, given the values of every trial
    /// of its bucket seen at that rung (its own included): it must be among the best
    /// max(1, n / reduction) of them (ties go on).
    val keep:
      direction: Hybrid.Sweeps.Spec.Direction ->
        reduction: int -> value: float -> values: float list -> bool

/// How a worker runs.
type WorkerOptions =
    {
      /// The sweep to work on (None: the storage's only sweep).
      Sweep: string option

      /// Run folders go to OUT/SWEEP/trial-NNNN-aA.
      Out: string

      /// A claim's lease; the worker renews it every third of it.
      LeaseSeconds: float

      /// How long to wait before asking again when every open trial is running elsewhere.
      PollSeconds: float

      /// Stop after this many trials (0: until the sweep is done).
      MaxTrials: int

      /// The worker's name in the storage (None: HOST:PID:random).
      Name: string option
    }

/// Default options: lease 60 s, poll every 2 s, run folders under runs/sweeps.
val defaults: WorkerOptions

/// How one trial ended for this worker.
type TrialOutcome =
    {
      Index: int

      /// completed, pruned, diverged, failed; or lost (another worker holds it now) or released (interrupted).
      Status: string
      Metric: float option
      Epochs: int
      Seconds: float
      Error: string option
      Folder: string
    }

/// What a worker reports while it works.
type WorkerObserver =
    {
      /// A trial was claimed: the claim, and the sweep's number of trials.
      Claimed: (Hybrid.Sweeps.Store.Claim -> int -> unit)
      Batch: (Hybrid.TrainProgress -> unit)
      Epoch: (Hybrid.Sweeps.Store.Claim -> Hybrid.EpochRecord -> unit)
      Finished: (Hybrid.Sweeps.Store.Claim -> TrialOutcome -> unit)

      /// Waiting for trials that run elsewhere.
      Waiting: (int -> unit)
    }

module WorkerObserver =
    /// Ignores everything.
    val silent: WorkerObserver

/// What a worker did.
type WorkerSummary =
    {
      Worker: string
      Sweep: string
      Trials: TrialOutcome list
      Interrupted: bool
      /// Why the worker stopped before the sweep was done: its own environment failed
      /// (output not writable, dataset missing, disk full); the trial it held is pending again.
      Stopped: string option
    }

/// A trial's dataset could not be loaded on this machine.
type DataUnavailable =
    inherit System.Exception
    new: message: string * inner: exn -> DataUnavailable

/// Whether a failure belongs to the worker's machine rather than to the trial: the file
/// system (an output folder not writable, a full disk, a run folder in the way) or the
/// data (a dataset missing or damaged on this machine). Such a trial is given back, not failed.
val environmental: e: exn -> bool

/// Writes and removes a probe file under `out`/`sweep`: a worker whose output cannot be
/// written stops before it claims a trial. The error names the folder.
val checkWritable: out: string -> sweep: string -> unit

/// The sweep a worker or report works on: the one named, or the storage's only one.
val pickSweep:
  store: Hybrid.Sweeps.Store.SweepStore ->
    name: string option -> Hybrid.Sweeps.Store.SweepRow

/// The spec stored with a sweep.
val specOf: row: Hybrid.Sweeps.Store.SweepRow -> Hybrid.Sweeps.Spec.SweepSpec

/// The metric of a run so far.
val metricSoFar:
  metric: Hybrid.Sweeps.Spec.Metric ->
    records: Hybrid.EpochRecord list -> float option

/// The run folder of a trial: OUT/SWEEP/trial-NNNN, shared by its attempts so that an
/// attempt continues from the checkpoint the one before left. While another process
/// holds that folder (a worker whose lease ran out but which still runs), the attempt
/// starts afresh in its own folder, trial-NNNN-aA.
val trialFolder: out: string -> claim: Hybrid.Sweeps.Store.Claim -> string

/// Runs one claimed trial through the run pipeline into its folder: a checkpoint every
/// epoch, and an attempt after a lost worker continues from the last one (the epochs it
/// holds are recorded again for this attempt). The lease is renewed in the background;
/// if it is lost (the storage gave the trial to another worker) the run stops and
/// nothing more is written to the storage.
val private runTrial:
  store: Hybrid.Sweeps.Store.SweepStore ->
    spec: Hybrid.Sweeps.Spec.SweepSpec ->
    opts: WorkerOptions ->
    datasets: System.Collections.Generic.Dictionary<string,Hybrid.Data.Dataset> ->
    claim: Hybrid.Sweeps.Store.Claim ->
    observer: WorkerObserver ->
    cancel: System.Threading.CancellationToken -> TrialOutcome

/// Works on a sweep until none of its trials is open (or `MaxTrials` are done, or
/// `cancel` fires: the running trial is then given back). Trials that run elsewhere
/// are waited for, since their workers may vanish and leave them to be claimed again.
val work:
  store: Hybrid.Sweeps.Store.SweepStore ->
    opts: WorkerOptions ->
    observer: WorkerObserver ->
    cancel: System.Threading.CancellationToken -> WorkerSummary

/// `work` with datasets already loaded (registry name, data root, the dataset): a caller
/// that has read them spares the worker the second read.
val workOn:
  loaded: (string * string option * Hybrid.Data.Dataset) list ->
    store: Hybrid.Sweeps.Store.SweepStore ->
    opts: WorkerOptions ->
    observer: WorkerObserver ->
    cancel: System.Threading.CancellationToken -> WorkerSummary
