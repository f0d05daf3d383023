/// The plots of run folders, drawn from their results.jsonl: accuracy and energy
/// per epoch, accuracy against SMMs and seconds, per-layer energies.
module Hybrid.Reporting.RunPlots

open System
open System.IO
open System.Text.Json.Nodes
open Hybrid

/// One run's epoch records as read from its results file.
type RunRecords =
    { Folder: string
      /// The run's name (its config's), else the folder's.
      Name: string
      Epochs: JsonObject list }

    /// A field of every epoch (NaN where it is missing or not a number).
    member this.Get(field: string) : float list =
        this.Epochs
        |> List.map (fun e ->
            match e[field] with
            | :? JsonValue as v ->
                let mutable d = 0.0
                if v.TryGetValue<float>(&d) then d else nan
            | _ -> nan)

/// Reads a run folder's results and name.
let read (folder: string) : RunRecords =
    let records = Runs.readResults folder
    let cfg = Path.Combine(folder, "config.json")
    let name =
        let fromConfig =
            if File.Exists cfg then
                match (try JsonNode.Parse(File.ReadAllText cfg) with _ -> null) with
                | :? JsonObject as o ->
                    match o["name"] with
                    | :? JsonValue as n -> Some(n.GetValue<string>())
                    | _ -> None
                | _ -> None
            else None
        defaultArg fromConfig (Path.GetFileName(Path.TrimEndingDirectorySeparator folder))
    // A results file that no run could have written (edited, or from another program) is
    // refused rather than plotted: epochs numbered 1, 2, ... once each, accuracies in
    // [0, 100], and no infinite energies or times.
    let file = Path.Combine(folder, "results.jsonl")
    let numberAt (e: JsonObject) (field: string) =
        match e[field] with
        | :? JsonValue as v ->
            let mutable d = 0.0
            if v.TryGetValue<float>(&d) then Some d else None
        | _ -> None
    records
    |> List.iteri (fun i e ->
        let line = i + 1
        match numberAt e "epoch" with
        | Some n when n = float line -> ()
        | Some n -> raise (Runs.RunFolderError(sprintf "%s: line %d holds epoch %g, not %d (epochs repeated, missing or out of order); not a results file a run wrote" file line n line))
        | None -> raise (Runs.RunFolderError(sprintf "%s: line %d has no epoch number" file line))
        match numberAt e "testAccuracy" with
        | Some a when Double.IsNaN a || (a >= 0.0 && a <= 100.0) -> ()
        | Some a -> raise (Runs.RunFolderError(sprintf "%s: line %d holds test accuracy %g, outside [0, 100]" file line a))
        | None -> ()
        for field in [ "smm"; "seconds" ] do
            match numberAt e field with
            | Some x when Double.IsInfinity x || x < 0.0 -> raise (Runs.RunFolderError(sprintf "%s: line %d holds %s = %g (it must be finite and >= 0)" file line field x))
            | _ -> ())
    { Folder = folder; Name = name; Epochs = records }

/// Writes the plots of several runs into `outDir`; returns the files.
let write (outDir: string) (runs: RunRecords list) : string list =
    Directory.CreateDirectory outDir |> ignore
    let plot file title x y xField yField logY =
        let path = Path.Combine(outDir, file)
        Plots.write
            { Plots.figure path title x y [ for r in runs -> { Plots.series r.Name (r.Get xField) (r.Get yField) with Markers = true } ] with
                LogY = logY
                Legend = Plots.Legend.LowerRight }
        path
    let fixedPlots =
        [ plot "accuracy.png" "Test accuracy per epoch" "epoch" "test accuracy %" "epoch" "testAccuracy" false
          plot "energy.png" "Mean train energy per epoch" "epoch" "energy per sample" "epoch" "trainEnergy" true
          plot "accuracy-vs-smm.png" "Test accuracy vs sequential matrix multiplications" "SMM" "test accuracy %" "smm" "testAccuracy" false
          plot "accuracy-vs-seconds.png" "Test accuracy vs training seconds" "seconds" "test accuracy %" "seconds" "testAccuracy" false ]
    let layerCount (r: RunRecords) =
        match List.tryLast r.Epochs with
        | Some e ->
            match e["layerEnergies"] with
            | :? JsonArray as a -> a.Count
            | _ -> 0
        | None -> 0
    let layered = runs |> List.filter (fun r -> layerCount r > 0)
    if layered.IsEmpty then fixedPlots
    else
        let path = Path.Combine(outDir, "layer-energies.png")
        let energy (e: JsonObject) l =
            match e["layerEnergies"] with
            | :? JsonArray as a when a.Count > l -> a[l].GetValue<float>()
            | _ -> nan
        let series =
            [ for r in layered do
                  let layers = layerCount r
                  for l in 0 .. layers - 1 ->
                      { Plots.series
                            (sprintf "%s %s" r.Name (if l = layers - 1 then "output" else sprintf "layer %d" (l + 1)))
                            (r.Epochs |> List.map (fun e -> e["epoch"].GetValue<float>()))
                            (r.Epochs |> List.map (fun e -> energy e l)) with
                          Dashed = (l = layers - 1) } ]
        Plots.write { Plots.figure path "Per-layer energy per sample (last batch of each epoch)" "epoch" "energy" series with LogY = true }
        fixedPlots @ [ path ]

/// Several runs on one figure and in one table: plots into `outDir`, and each run's
/// epochs, best and last accuracy, SMMs and seconds.
let compare (folders: string list) (outDir: string) : Report =
    let runs = folders |> List.map read
    let files = write outDir runs
    let c = Report.culture
    let rows =
        [ for r in runs ->
              let acc = r.Get "testAccuracy" |> List.filter Double.IsFinite
              let last field = match List.tryLast (r.Get field) with Some v -> v | None -> nan
              r, (if acc.IsEmpty then nan else List.max acc), (match List.tryLast acc with Some a -> a | None -> nan), last "smm", last "seconds" ]
    let json =
        Report.object
            [ "runs",
              JsonArray(
                  [| for r, best, final, smm, seconds in rows ->
                         Report.object
                             [ "name", Report.str r.Name
                               "folder", Report.str r.Folder
                               "epochs", Report.int r.Epochs.Length
                               "bestAccuracy", Report.num best
                               "finalAccuracy", Report.num final
                               "smm", Report.num smm
                               "seconds", Report.num seconds ]
                         :> JsonNode |])
              "plots", Report.strings files ]
    { Report.ofJson json with
        Tables =
          [ { Title = "Runs"
              Header = [ "run"; "epochs"; "best acc %"; "last acc %"; "SMM"; "seconds"; "folder" ]
              Rows =
                [ for r, best, final, smm, seconds in rows ->
                      [ r.Name; string r.Epochs.Length; best.ToString("F2", c); final.ToString("F2", c); smm.ToString("F0", c); seconds.ToString("F1", c); r.Folder ] ] } ]
        Lines = [ sprintf "plots: %s" (String.Join(", ", files)) ] }
