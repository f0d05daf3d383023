/// The one run pipeline: a configuration into a run folder, which holds config.json,
/// one results.jsonl line, TensorBoard scalars and a checkpoint per epoch, summary.json
/// and its plots, and can be resumed from its checkpoint.
module Hybrid.Reporting.Pipeline

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Data

/// The checkpoint file of a run folder.
let checkpointPath (folder: string) = Path.Combine(folder, "checkpoint.ck")

/// A finished (or stopped) run and its folder.
type FolderRun =
    { Result: TrainResult
      Folder: string
      /// Epochs the run had when it started here: 0 for a fresh run, else the checkpoint's.
      ResumedFrom: int }

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
    { Observer: Observer
      /// The data and network are ready and the folder is taken: the run starts.
      Started: unit -> unit
      /// The run continues from a checkpoint holding these epochs (before any new one).
      Resumed: EpochRecord list -> unit
      /// An epoch is done: its checkpoint is saved and its results line written.
      Epoch: EpochRecord -> unit }

module Hooks =
    /// Only the observer.
    let ofObserver (o: Observer) = { Observer = o; Started = ignore; Resumed = ignore; Epoch = ignore }

/// Checks that a checkpoint belongs to the folder's run: its run id (when both have
/// one) and its configuration must be the folder's.
let private checkBinding (run: Runs.RunFolder) (checkpoint: string) =
    let meta = Checkpoint.meta checkpoint
    let fail why = raise (Checkpoint.CheckpointError(checkpoint, why + "; nothing was changed"))
    match meta["run"] with
    | :? JsonValue as v when run.Id <> "" && v.GetValue<string>() <> run.Id ->
        fail (sprintf "belongs to another run (run %s; this folder's run is %s)" (v.GetValue<string>()) run.Id)
    | _ -> ()
    let saved =
        match meta["config"] with
        | null -> fail "is not a training-session checkpoint (no configuration)"
        | node -> Config.apply node Config.defaults
    let folder = run.Config()
    if saved <> folder then
        fail (sprintf "was written for another configuration than config.json ('%s', %O; config.json: '%s', %O)" saved.Name saved.Architecture folder.Name folder.Architecture)

/// Runs a session to its end (or until cancelled), appending each epoch to the run
/// folder and saving a checkpoint (bound to the run) after each epoch and when
/// stopped; writes the summary and the plots.
let private continueRun (session: TrainingSession) (run: Runs.RunFolder) (hooks: Hooks) (resumedFrom: int) (cancel: CancellationToken) =
    let save () = session.Save(checkpointPath run.Path, run.Id)
    let onEpoch (e: EpochRecord) =
        save ()
        run.Append e
        hooks.Observer.Epoch e
        hooks.Epoch e
    let r = session.Run(hooks.Observer.Batch, onEpoch, cancel)
    if r.Status = RunStatus.Cancelled then save ()
    run.Finish r
    if not r.Epochs.IsEmpty then RunPlots.write run.Path [ RunPlots.read run.Path ] |> ignore
    { Result = r; Folder = run.Path; ResumedFrom = resumedFrom }

/// The one pipeline of a training run: `hybrid train`, every experiment and every
/// sweep trial go through it. It prepares the data and network, takes the run folder
/// (its lock), continues from the folder's checkpoint when it holds one, runs to the end
/// (or until cancelled), and after each epoch saves a checkpoint and writes a results
/// line and TensorBoard scalars; at the end the summary and the plots. The
/// configuration is checked first, so bad input leaves no folder behind.
let run (cfg: TrainConfig) (data: Dataset) (device: Device) (dest: Destination) (hooks: Hooks) (cancel: CancellationToken) : FolderRun =
    Config.validate cfg |> ignore
    Batching.validate cfg.Batching data.Classes cfg.BatchSize
    use prepared = Training.prepare cfg device data
    match dest with
    | Destination.At folder when File.Exists(checkpointPath folder) ->
        let ck = checkpointPath folder
        use run = Runs.RunFolder.Open folder
        checkBinding run ck
        if run.Config() <> cfg then
            raise (Runs.RunFolderError(sprintf "run folder %s holds another configuration's run; nothing was changed" folder))
        use session = TrainingSession.Restore(ck, prepared)
        // The results file then holds exactly the checkpoint's epochs: a crash between a
        // checkpoint and its results line leaves one line to add.
        run.Reconcile session.Records
        hooks.Started()
        hooks.Resumed session.Records
        continueRun session run hooks session.Records.Length cancel
    | _ ->
        use session = TrainingSession.Start(cfg, prepared)
        use run =
            match dest with
            | Destination.Under root -> Runs.RunFolder.Create(root, cfg)
            | Destination.At folder -> Runs.RunFolder.CreateAt(folder, cfg)
        hooks.Started()
        continueRun session run hooks 0 cancel

/// Runs one configuration (loading its dataset) into a fresh run folder under `root`.
let runOne (cfg: TrainConfig) (root: string) (observer: Observer) (cancel: CancellationToken) : FolderRun =
    Config.validate cfg |> ignore
    let device = Runtime.device cfg.Device
    let data = Dataset.load cfg.DataRoot cfg.Dataset
    if cancel.IsCancellationRequested then raise (OperationCanceledException "cancelled before the run started")
    run cfg data device (Destination.Under root) { Hooks.ofObserver observer with Started = fun () -> observer.Started 0 1 cfg.Name } cancel

/// Resumes the run in `folder` from its checkpoint (its dataset is loaded again). The
/// folder is locked for the run; the checkpoint must be this run's; the results file
/// must agree with it.
let resume (folder: string) (observer: Observer) (cancel: CancellationToken) : FolderRun =
    if not (Directory.Exists folder) then raise (Runs.RunFolderError(sprintf "run folder %s not found" folder))
    Runs.checkFiles folder
    let ck = checkpointPath folder
    if not (File.Exists ck) then
        raise (Runs.RunFolderError(sprintf "%s: no checkpoint.ck to resume from (not a run folder, or it stopped before its first checkpoint)" folder))
    let cfg = Train.savedConfig ck
    let device = Runtime.device cfg.Device
    let data = Dataset.load cfg.DataRoot cfg.Dataset
    run cfg data device (Destination.At folder) { Hooks.ofObserver observer with Started = fun () -> observer.Started 0 1 cfg.Name } cancel

/// The report of runs: a table per run, or their summaries as JSON (one object for one run).
let report (runs: FolderRun list) : Report =
    let summary (r: FolderRun) =
        let s = Runs.summaryJson r.Result
        s["folder"] <- r.Folder
        s["records"] <- JsonArray(r.Result.Epochs |> List.map (fun e -> Runs.epochJson e :> JsonNode) |> Array.ofList)
        s :> JsonNode
    let json =
        match runs with
        | [ one ] -> summary one
        | many -> JsonArray(many |> List.map summary |> Array.ofList) :> JsonNode
    let c = Report.culture
    let table (r: FolderRun) =
        { Title = sprintf "%s: %O (%s)" r.Result.Config.Name r.Result.Status r.Folder
          Header = [ "epoch"; "test acc %"; "train energy"; "SMM"; "products"; "seconds" ]
          Rows =
            [ for e in r.Result.Epochs ->
                  [ string e.Epoch; e.TestAccuracy.ToString("F2", c); e.TrainEnergy.ToString("G4", c); string e.Smm; string e.Products; e.Seconds.ToString("F1", c) ] ] }
    let errors = runs |> List.choose (fun r -> match r.Result.Status with RunStatus.Diverged msg -> Some msg | _ -> None)
    let interrupted = runs |> List.exists (fun r -> r.Result.Status = RunStatus.Cancelled)
    { Report.ofJson json with
        Tables = runs |> List.map table
        Notes = [ for r in runs do if r.Result.Status = RunStatus.Cancelled then yield sprintf "%s: interrupted; continue it with hybrid train --resume %s" r.Result.Config.Name r.Folder ]
        Errors = errors
        ExitCode = if not errors.IsEmpty then ExitCode.Diverged elif interrupted then ExitCode.Interrupted else ExitCode.Success }
