/// Sweep workers: plain processes that claim one trial at a time, run it into a run
/// folder, report each epoch and the final metric back, and stop trials that
/// successive halving rules out. Any scheduler can start them (Slurm job arrays,
/// Kubernetes indexed jobs, a shell loop).
module Hybrid.Sweeps.Worker

open System
open System.IO
open System.Threading
open Hybrid
open Hybrid.Data
open Hybrid.Reporting
open Hybrid.Sweeps.Store

/// Asynchronous successive halving's decision at a rung.
module Asha =
    /// Whether a trial with `value` at a rung goes on, given the values of every trial
    /// of its bucket seen at that rung (its own included): it must be among the best
    /// max(1, n / reduction) of them (ties go on).
    let keep (direction: Spec.Direction) (reduction: int) (value: float) (values: float list) : bool =
        let values = if List.contains value values then values else value :: values
        let k = max 1 (values.Length / reduction)
        let ordered =
            match direction with
            | Spec.Direction.Maximize -> List.sortDescending values
            | Spec.Direction.Minimize -> List.sort values
        let threshold = ordered[k - 1]
        match direction with
        | Spec.Direction.Maximize -> value >= threshold
        | Spec.Direction.Minimize -> value <= threshold

/// How a worker runs.
type WorkerOptions =
    { /// The sweep to work on (None: the storage's only sweep).
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
      Name: string option }

/// Default options: lease 60 s, poll every 2 s, run folders under runs/sweeps.
let defaults =
    { Sweep = None; Out = Path.Combine("runs", "sweeps"); LeaseSeconds = 60.0; PollSeconds = 2.0; MaxTrials = 0; Name = None }

/// How one trial ended for this worker.
type TrialOutcome =
    { Index: int
      /// completed, pruned, diverged, failed; or lost (another worker holds it now) or released (interrupted).
      Status: string
      Metric: float option
      Epochs: int
      Seconds: float
      Error: string option
      Folder: string }

/// What a worker reports while it works.
type WorkerObserver =
    { /// A trial was claimed: the claim, and the sweep's number of trials.
      Claimed: Claim -> int -> unit
      Batch: TrainProgress -> unit
      Epoch: Claim -> EpochRecord -> unit
      Finished: Claim -> TrialOutcome -> unit
      /// Waiting for trials that run elsewhere.
      Waiting: int -> unit }

module WorkerObserver =
    /// Ignores everything.
    let silent = { Claimed = (fun _ _ -> ()); Batch = ignore; Epoch = (fun _ _ -> ()); Finished = (fun _ _ -> ()); Waiting = ignore }

/// What a worker did.
type WorkerSummary =
    { Worker: string
      Sweep: string
      Trials: TrialOutcome list
      Interrupted: bool
      /// Why the worker stopped before the sweep was done: its own environment failed
      /// (output not writable, dataset missing, disk full); the trial it held is pending again.
      Stopped: string option }

/// A trial's dataset could not be loaded on this machine.
type DataUnavailable(message: string, inner: exn) =
    inherit Exception(message, inner)

/// Whether a failure belongs to the worker's machine rather than to the trial: the file
/// system (an output folder not writable, a full disk, a run folder in the way) or the
/// data (a dataset missing or damaged on this machine). Such a trial is given back, not failed.
let environmental (e: exn) : bool =
    match e with
    | :? DataUnavailable -> true
    | :? IOException | :? UnauthorizedAccessException -> true
    | DataError _ | Runs.RunFolderError _ -> true
    | _ -> false

/// Writes and removes a probe file under `out`/`sweep`: a worker whose output cannot be
/// written stops before it claims a trial. The error names the folder.
let checkWritable (out: string) (sweep: string) : unit =
    let dir = Path.GetFullPath(Path.Combine(out, sweep))
    let probe = Path.Combine(dir, sprintf ".probe.%d.tmp" Environment.ProcessId)
    try
        Directory.CreateDirectory dir |> ignore
        File.WriteAllBytes(probe, Array.zeroCreate 4096)
        File.Delete probe
    with :? IOException | :? UnauthorizedAccessException as e ->
        (try File.Delete probe with _ -> ())
        raise (IOException(sprintf "the worker's output folder %s cannot be written (%s); no trial was claimed" dir e.Message, e))

/// The sweep a worker or report works on: the one named, or the storage's only one.
let pickSweep (store: SweepStore) (name: string option) : SweepRow =
    let all = store.Sweeps()
    match name with
    | Some n ->
        match all |> List.tryFind (fun s -> s.Name = n) with
        | Some s -> s
        | None ->
            let known = if all.IsEmpty then "none" else String.Join(", ", all |> List.map (fun s -> s.Name))
            raise (StoreError(sprintf "no sweep %s in %s (sweeps there: %s)" n store.Where known))
    | None ->
        match all with
        | [ s ] -> s
        | [] -> raise (StoreError(sprintf "no sweep in %s: create one first (hybrid sweep create SPEC --storage ...)" store.Where))
        | _ -> raise (StoreError(sprintf "%s holds several sweeps (%s): name one with --sweep" store.Where (String.Join(", ", all |> List.map (fun s -> s.Name)))))

/// The spec stored with a sweep.
let specOf (row: SweepRow) = Spec.parse "" row.Spec

/// The metric of a run so far.
let metricSoFar (metric: Spec.Metric) (records: EpochRecord list) : float option =
    match records with
    | [] -> None
    | _ ->
        match metric with
        | Spec.Metric.BestAccuracy -> Some(records |> List.map (fun r -> r.TestAccuracy) |> List.max)
        | Spec.Metric.FinalAccuracy -> Some (List.last records).TestAccuracy

/// The run folder of a trial: OUT/SWEEP/trial-NNNN, shared by its attempts so that an
/// attempt continues from the checkpoint the one before left. While another process
/// holds that folder (a worker whose lease ran out but which still runs), the attempt
/// starts afresh in its own folder, trial-NNNN-aA.
let trialFolder (out: string) (claim: Claim) =
    let shared = Path.GetFullPath(Path.Combine(out, claim.Sweep, sprintf "trial-%04d" claim.Index))
    if Runs.isLocked shared then Path.GetFullPath(Path.Combine(out, claim.Sweep, sprintf "trial-%04d-a%d" claim.Index claim.Attempt))
    else shared

/// Runs one claimed trial through the run pipeline into its folder: a checkpoint every
/// epoch, and an attempt after a lost worker continues from the last one (the epochs it
/// holds are recorded again for this attempt). The lease is renewed in the background;
/// if it is lost (the storage gave the trial to another worker) the run stops and
/// nothing more is written to the storage.
let private runTrial (store: SweepStore) (spec: Spec.SweepSpec) (opts: WorkerOptions) (datasets: Collections.Generic.Dictionary<string, Dataset>)
                     (claim: Claim) (observer: WorkerObserver) (cancel: CancellationToken) : TrialOutcome =
    let folder = trialFolder opts.Out claim
    let started = Diagnostics.Stopwatch.StartNew()
    use stop = CancellationTokenSource.CreateLinkedTokenSource cancel
    let mutable lost = false
    let mutable pruned = false
    // The lease's heartbeat runs on a timer thread. It stops for good before the trial's
    // end is written (`stopBeating`), and it never throws: an exception on a timer thread
    // would end the process (a storage outage is retried at the next beat; the lease
    // covers it).
    let gate = obj ()
    let mutable ended = false
    let beat _ =
        lock gate (fun () ->
            if not ended then
                try
                    if not (store.Heartbeat(claim, opts.LeaseSeconds)) then
                        lost <- true
                        stop.Cancel()
                with _ -> ())
    let timer = new Timer(TimerCallback beat, null, TimeSpan.FromSeconds(opts.LeaseSeconds / 3.0), TimeSpan.FromSeconds(opts.LeaseSeconds / 3.0))
    let stopBeating () =
        lock gate (fun () -> ended <- true)
        timer.Dispose()
    use _ = { new IDisposable with member _.Dispose() = stopBeating () }
    let outcome status metric epochs error =
        { Index = claim.Index; Status = status; Metric = metric; Epochs = epochs; Seconds = started.Elapsed.TotalSeconds; Error = error; Folder = folder }
    let records = ResizeArray<EpochRecord>()
    try
        let cfg = Config.parse claim.Config Config.defaults
        let key = sprintf "%s|%s" (defaultArg cfg.DataRoot "") cfg.Dataset
        let data =
            match datasets.TryGetValue key with
            | true, d -> d
            | _ ->
                // Data this machine lacks or cannot read is the machine's problem, not the trial's.
                let d =
                    try Dataset.load cfg.DataRoot cfg.Dataset
                    with e when not (e :? OperationCanceledException) -> raise (DataUnavailable(Codec.message e, e))
                datasets[key] <- d
                d
        let rungs = match spec.Asha with Some a -> Spec.rungs a cfg.Epochs | None -> []
        // Records an epoch in the storage; false when the lease is lost.
        let record (r: EpochRecord) =
            records.Add r
            let m = (metricSoFar spec.Metric (List.ofSeq records)).Value
            if store.Epoch(claim, r.Epoch, r.TestAccuracy, r.TrainEnergy, r.Seconds, m) then Some m
            else
                lost <- true
                stop.Cancel()
                None
        let resumed (earlier: EpochRecord list) =
            if not earlier.IsEmpty then
                store.Note(claim, "resumed", sprintf "from epoch %d" earlier.Length)
                for r in earlier do record r |> ignore
        let onEpoch (r: EpochRecord) =
            observer.Epoch claim r
            match record r with
            | Some m when List.contains r.Epoch rungs ->
                let values = store.RungValues(claim.Sweep, claim.Bucket, r.Epoch) |> List.map snd
                if not (Asha.keep spec.Direction spec.Asha.Value.Reduction m values) then
                    pruned <- true
                    stop.Cancel()
            | _ -> ()
        let hooks: Pipeline.Hooks = { Observer = { Observer.silent with Batch = observer.Batch }; Started = ignore; Resumed = resumed; Epoch = onEpoch }
        let run = Pipeline.run cfg data (Runtime.device cfg.Device) (Pipeline.Destination.At folder) hooks stop.Token
        stopBeating ()
        let result = run.Result
        let metric = metricSoFar spec.Metric result.Epochs
        let n = result.Epochs.Length
        let finish status error =
            if store.Finish(claim, status, metric, n, started.Elapsed.TotalSeconds, error, Some folder) then outcome status metric n error
            else outcome "lost" metric n (Some "the lease was lost: another worker holds the trial now")
        if lost then outcome "lost" metric n (Some "the lease was lost: another worker holds the trial now")
        else
            match result.Status with
            | RunStatus.Completed -> finish Status.Completed None
            | RunStatus.Diverged msg -> finish Status.Diverged (Some msg)
            | RunStatus.Cancelled when pruned -> finish Status.Pruned (Some(sprintf "stopped by successive halving at epoch %d" n))
            | RunStatus.Cancelled ->
                store.Release claim |> ignore
                outcome "released" metric n (Some "interrupted; the trial is pending again")
    with
    | StoreError _ -> reraise ()
    | e when environmental e ->
        // The worker's environment, not the trial: given back (its attempts are not used
        // up), and the worker stops.
        stopBeating ()
        let message = match e with :? DataUnavailable -> e.Message | _ -> sprintf "%s: %s" (e.GetType().Name) (Codec.message e)
        if not lost then
            store.Note(claim, "environment", message)
            store.Release claim |> ignore
        outcome "released" (metricSoFar spec.Metric (List.ofSeq records)) records.Count (Some message)
    | e when not (e :? OperationCanceledException) ->
        // The trial's own failure (its config, its data, the run folder, the run): recorded, not retried.
        stopBeating ()
        let message = sprintf "%s: %s" (e.GetType().Name) e.Message
        let n = records.Count
        let metric = metricSoFar spec.Metric (List.ofSeq records)
        if store.Finish(claim, Status.Failed, metric, n, started.Elapsed.TotalSeconds, Some message, Some folder) then outcome Status.Failed metric n (Some message)
        else outcome "lost" metric n (Some message)

/// Works on a sweep until none of its trials is open (or `MaxTrials` are done, or
/// `cancel` fires: the running trial is then given back). Trials that run elsewhere
/// are waited for, since their workers may vanish and leave them to be claimed again.
let rec work (store: SweepStore) (opts: WorkerOptions) (observer: WorkerObserver) (cancel: CancellationToken) : WorkerSummary =
    workOn [] store opts observer cancel

/// `work` with datasets already loaded (registry name, data root, the dataset): a caller
/// that has read them spares the worker the second read.
and workOn (loaded: (string * string option * Dataset) list) (store: SweepStore) (opts: WorkerOptions) (observer: WorkerObserver) (cancel: CancellationToken) : WorkerSummary =
    if not (opts.LeaseSeconds >= 1.0) then invalidArg "lease" (sprintf "the lease must be at least 1 second (got %g)" opts.LeaseSeconds)
    if not (opts.PollSeconds > 0.0) then invalidArg "poll" (sprintf "the poll interval must be positive (got %g)" opts.PollSeconds)
    if opts.MaxTrials < 0 then invalidArg "maxTrials" "must be 0 (no limit) or positive"
    if not store.Exists then raise (StoreError(sprintf "sweep storage %s does not exist: create a sweep there first (hybrid sweep create SPEC --storage ...)" store.Where))
    store.Migrate()
    let row = pickSweep store opts.Sweep
    let spec = specOf row
    let name =
        match opts.Name with
        | Some n -> n
        | None -> sprintf "%s:%d:%s" Environment.MachineName Environment.ProcessId (Guid.NewGuid().ToString("N").Substring(0, 6))
    let datasets = Collections.Generic.Dictionary<string, Dataset>()
    for name, root, d in loaded do datasets[sprintf "%s|%s" (defaultArg root "") name] <- d
    let done' = ResizeArray<TrialOutcome>()
    // Outages the storage rode out go into the sweep's log, for `sweep status`.
    let logOutages () =
        for o in store.TakeOutages() do
            try store.LogOutage(row.Name, name, o) with StoreError _ -> ()
    let mutable stopped =
        try
            checkWritable opts.Out row.Name
            None
        with :? IOException as e -> Some e.Message
    let mutable go = stopped.IsNone
    while go && not cancel.IsCancellationRequested && (opts.MaxTrials = 0 || done'.Count < opts.MaxTrials) do
        match store.Claim(row.Name, name, opts.LeaseSeconds, spec.MaxAttempts) with
        | Some claim ->
            logOutages ()
            observer.Claimed claim row.Trials
            let o = runTrial store spec opts datasets claim observer cancel
            done'.Add o
            observer.Finished claim o
            logOutages ()
            if o.Status = "released" && not cancel.IsCancellationRequested then
                stopped <- Some(sprintf "the worker's environment failed on trial %d (%s); the trial is pending again for another worker" o.Index (defaultArg o.Error ""))
                go <- false
        | None ->
            logOutages ()
            match store.Open row.Name with
            | 0 -> go <- false
            | running ->
                observer.Waiting running
                cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds opts.PollSeconds) |> ignore
    { Worker = name; Sweep = row.Name; Trials = List.ofSeq done'; Interrupted = cancel.IsCancellationRequested; Stopped = stopped }
