/// Run folders: the configuration, one JSON line per epoch, and a summary.
/// Files are written so that a crash never leaves a half-written summary or
/// config (temporary file, then rename); the results file is appended and
/// flushed one complete line at a time.
module Hybrid.Runs

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

let private options indented =
    JsonSerializerOptions(WriteIndented = indented, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping)

let private json (o: JsonNode) = o.ToJsonString(options false)

let private number (v: float) : JsonNode = if Double.IsFinite v then JsonValue.Create v else JsonValue.Create(string v)

/// An epoch record as a JSON object.
let epochJson (r: EpochRecord) : JsonObject =
    let o = JsonObject()
    o["epoch"] <- r.Epoch
    o["testAccuracy"] <- number r.TestAccuracy
    o["trainEnergy"] <- number r.TrainEnergy
    o["layerEnergies"] <- JsonArray(r.LayerEnergies |> Array.map number)
    o["smm"] <- r.Smm
    o["updates"] <- r.Updates
    o["meanSteps"] <- number r.MeanSteps
    o["seconds"] <- number r.Seconds
    o

/// A number written by `number`: finite values as JSON numbers, others as their name.
let private readNumber (n: JsonNode) : float =
    match n.GetValueKind() with
    | JsonValueKind.String -> Double.Parse(n.GetValue<string>(), Globalization.CultureInfo.InvariantCulture)
    | _ -> n.GetValue<float>()

/// An epoch record read back from `epochJson`'s object.
let epochOfJson (o: JsonNode) : EpochRecord =
    { Epoch = o["epoch"].GetValue<int>()
      TestAccuracy = readNumber o["testAccuracy"]
      TrainEnergy = readNumber o["trainEnergy"]
      LayerEnergies = o["layerEnergies"].AsArray() |> Seq.map readNumber |> Array.ofSeq
      Smm = o["smm"].GetValue<int64>()
      Updates = o["updates"].GetValue<int64>()
      MeanSteps = readNumber o["meanSteps"]
      Seconds = readNumber o["seconds"] }

/// A run's summary as a JSON object.
let summaryJson (r: TrainResult) : JsonObject =
    let o = JsonObject()
    o["name"] <- r.Config.Name
    o["status"] <- string r.Status
    match r.Status with
    | RunStatus.Diverged msg -> o["error"] <- msg
    | _ -> ()
    o["epochs"] <- r.Epochs.Length
    o["bestAccuracy"] <- (match r.BestAccuracy with Some a -> number a | None -> null)
    o["finalAccuracy"] <- (match r.FinalAccuracy with Some a -> number a | None -> null)
    o["smm"] <- r.Smm
    o["seconds"] <- number r.Seconds
    o["algorithm"] <- string r.Config.Algorithm
    o

/// A run folder being written.
type RunFolder(path: string) =
    let results = Path.Combine(path, "results.jsonl")

    /// The folder.
    member _.Path = path

    /// Creates the folder (refusing one that already holds results) and writes the config.
    static member Create(root: string, cfg: TrainConfig) =
        let stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")
        let safe = String(cfg.Name.ToCharArray() |> Array.map (fun c -> if Char.IsLetterOrDigit c || c = '-' || c = '_' || c = '.' then c else '-'))
        let mutable dir = Path.Combine(root, sprintf "%s-%s" safe stamp)
        let mutable i = 1
        while Directory.Exists dir do
            dir <- Path.Combine(root, sprintf "%s-%s-%d" safe stamp i)
            i <- i + 1
        RunFolder.CreateAt(dir, cfg)

    /// Uses exactly `dir` (which must not hold a results file yet).
    static member CreateAt(dir: string, cfg: TrainConfig) =
        if File.Exists(Path.Combine(dir, "results.jsonl")) then
            invalidOp (sprintf "run folder %s already holds results; choose another folder (nothing was overwritten)" dir)
        Directory.CreateDirectory dir |> ignore
        AtomicFile.writeText (Path.Combine(dir, "config.json")) (Config.toText cfg)
        RunFolder(dir)

    /// Appends one epoch as a complete, flushed JSON line.
    member _.Append(r: EpochRecord) =
        use s = new FileStream(results, FileMode.Append, FileAccess.Write, FileShare.Read)
        use w = new StreamWriter(s)
        w.Write(json (epochJson r) + "\n")
        w.Flush()
        s.Flush(true)

    /// Replaces the results file with exactly these epochs (atomically).
    member _.Rewrite(records: EpochRecord list) =
        AtomicFile.writeText results (String.Join("", records |> List.map (fun r -> json (epochJson r) + "\n")))

    /// Writes the summary (atomically).
    member _.Finish(r: TrainResult) =
        AtomicFile.writeText (Path.Combine(path, "summary.json")) ((summaryJson r).ToJsonString(options true))

/// Reads the epoch records of a run folder's results file.
let readResults (dir: string) : JsonObject list =
    let f = Path.Combine(dir, "results.jsonl")
    if not (File.Exists f) then invalidOp (sprintf "%s: no results.jsonl (not a run folder?)" dir)
    [ for i, line in File.ReadAllLines f |> Array.indexed do
          if line.Trim() <> "" then
              match (try JsonNode.Parse line with :? JsonException -> null) with
              | :? JsonObject as o -> yield o
              | _ -> invalidOp (sprintf "%s: line %d is not a JSON object" f (i + 1)) ]
