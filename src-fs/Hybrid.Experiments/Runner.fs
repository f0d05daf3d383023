/// Runs configurations into run folders: each run writes config.json, one
/// results.jsonl line and a checkpoint per epoch, summary.json and its plots, and
/// can be resumed from its folder.
module Hybrid.Experiments.Runner

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Data

/// The checkpoint file of a run folder.
let checkpointPath (folder: string) = Path.Combine(folder, "checkpoint.ck")

/// A finished (or stopped) run and its folder.
type FolderRun = { Result: TrainResult; Folder: string }

/// Runs a session to its end (or until cancelled), appending each epoch to the run
/// folder and saving a checkpoint after each epoch and when stopped; writes the
/// summary and the plots.
let private continueRun (session: TrainingSession) (run: Runs.RunFolder) (observer: Observer) (cancel: CancellationToken) =
    let onEpoch (e: EpochRecord) =
        session.Save(checkpointPath run.Path)
        run.Append e
        observer.Epoch e
    let r = session.Run(observer.Batch, onEpoch, cancel)
    if r.Status = RunStatus.Cancelled then session.Save(checkpointPath run.Path)
    run.Finish r
    if not r.Epochs.IsEmpty then RunPlots.write run.Path [ RunPlots.read run.Path ] |> ignore
    { Result = r; Folder = run.Path }

/// Runs several configurations on one loaded dataset, each into its own run folder
/// under `root`. Every configuration is checked before the first run starts; once
/// cancelled, no further run starts (those are None).
let runMany (cfgs: TrainConfig list) (data: Dataset) (device: Device) (root: string) (observer: Observer) (cancel: CancellationToken) : FolderRun option list =
    for c in cfgs do
        Config.validate c |> ignore
        Batching.validate c.Batching data.Classes c.BatchSize
    cfgs
    |> List.mapi (fun i cfg ->
        if cancel.IsCancellationRequested then None
        else
            observer.Started i cfgs.Length cfg.Name
            let run = Runs.RunFolder.Create(root, cfg)
            use prepared = Training.prepare cfg device data
            use session = TrainingSession.Start(cfg, prepared)
            Some(continueRun session run observer cancel))

/// Runs one configuration (loading its dataset) into a fresh run folder under `root`.
let runOne (cfg: TrainConfig) (root: string) (observer: Observer) (cancel: CancellationToken) : FolderRun =
    Config.validate cfg |> ignore
    let device = Runtime.device cfg.Device
    let data = Dataset.load cfg.DataRoot cfg.Dataset
    match runMany [ cfg ] data device root observer cancel with
    | [ Some r ] -> r
    | _ -> raise (OperationCanceledException "cancelled before the run started")

/// Resumes the run in `folder` from its checkpoint.
let resume (folder: string) (observer: Observer) (cancel: CancellationToken) : FolderRun =
    let ck = checkpointPath folder
    if not (File.Exists ck) then
        invalidOp (sprintf "%s: no checkpoint.ck to resume from (not a run folder, or it stopped before its first checkpoint)" folder)
    use resumed = Train.resume ck
    let run = Runs.RunFolder(folder)
    // The results file holds exactly the checkpoint's epochs (a crash may have left one more line).
    run.Rewrite resumed.Session.Records
    observer.Started 0 1 resumed.Session.Config.Name
    continueRun resumed.Session run observer cancel

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
          Header = [ "epoch"; "test acc %"; "train energy"; "SMM"; "seconds" ]
          Rows =
            [ for e in r.Result.Epochs ->
                  [ string e.Epoch; e.TestAccuracy.ToString("F2", c); e.TrainEnergy.ToString("G4", c); string e.Smm; e.Seconds.ToString("F1", c) ] ] }
    let errors = runs |> List.choose (fun r -> match r.Result.Status with RunStatus.Diverged msg -> Some msg | _ -> None)
    { Report.ofJson json with
        Tables = runs |> List.map table
        Errors = errors
        ExitCode = if errors.IsEmpty then 0 else 3 }
