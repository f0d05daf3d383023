/// Run folders: the configuration, one JSON line per epoch, and a summary.
/// Files are written so that a crash never leaves a half-written summary or
/// config (temporary file, then rename); the results file is appended and
/// flushed one complete line at a time.
module Hybrid.Runs

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes

/// The C library's mkdir, whose failure on an existing path makes folder creation atomic.
module private Posix =
    [<Runtime.InteropServices.DllImport("libc", SetLastError = true, EntryPoint = "mkdir")>]
    extern int mkdir(string path, uint32 mode)

/// A run folder cannot be used as asked (in use by another process, holding another
/// run's results, damaged, missing). The message names the folder and what to do.
exception RunFolderError of string with
    override this.Message = this.Data0

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
    o["products"] <- r.Products
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
      // Records written before products were counted have none.
      Products = (match o["products"] with null -> 0L | p -> p.GetValue<int64>())
      Updates = o["updates"].GetValue<int64>()
      MeanSteps = readNumber o["meanSteps"]
      Seconds = readNumber o["seconds"] }

/// An evaluation point as a JSON object.
let evalJson (p: EvalPoint) : JsonObject =
    let o = JsonObject()
    o["epoch"] <- p.Epoch
    o["batch"] <- p.Batch
    o["updates"] <- p.Updates
    o["smm"] <- p.Smm
    o["seconds"] <- number p.Seconds
    o["testAccuracy"] <- number p.TestAccuracy
    o

/// An evaluation point read back from `evalJson`'s object.
let evalOfJson (o: JsonNode) : EvalPoint =
    { Epoch = o["epoch"].GetValue<int>()
      Batch = o["batch"].GetValue<int>()
      Updates = o["updates"].GetValue<int64>()
      Smm = o["smm"].GetValue<int64>()
      Seconds = readNumber o["seconds"]
      TestAccuracy = readNumber o["testAccuracy"] }

/// A run's summary as a JSON object (with its evaluation points when it measured
/// accuracy within epochs, `evalEvery` > 0).
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
    o["products"] <- r.Products
    o["seconds"] <- number r.Seconds
    o["algorithm"] <- string r.Config.Algorithm
    if r.Config.EvalEvery > 0 then
        o["evaluations"] <- JsonArray(r.Evaluations |> List.map (fun p -> evalJson p :> JsonNode) |> Array.ofList)
    o

/// The lock file of a run folder: held open with an exclusive OS lock while a process owns the folder.
let lockFile = ".lock"

/// The complete lines of a results file's text: a last line without its newline is
/// a write that was cut short (kill -9, a full disk), not history.
let private completeLines (text: string) =
    let complete = text.Substring(0, text.LastIndexOf '\n' + 1)
    complete, complete.Split('\n') |> Array.filter (fun l -> l.Trim() <> "")

/// Removes what interrupted writes left behind: temporary files of atomic writes
/// (`.NAME.PID.tmp`, and `NAME.PID.tmp` of older versions). Only the folder's owner calls it.
let private removeStale (dir: string) =
    for f in Directory.GetFiles dir do
        let name = Path.GetFileName f
        if name.EndsWith ".tmp" then
            try File.Delete f with :? IOException | :? UnauthorizedAccessException -> ()

/// Whether an error opening a file is a lock that another process holds (EWOULDBLOCK on
/// Linux and macOS, a sharing or lock violation on Windows), rather than another failure.
let internal isHeldLock (e: IOException) =
    let code = e.HResult &&& 0xFFFF
    e.HResult = 11 || e.HResult = 35 || ((e.HResult &&& 0xFFFF0000) = 0x80070000 && (code = 32 || code = 33))

/// Takes the folder's lock. A lock another process holds says the folder is in use; any
/// other failure (a read-only file system, no permission) says what it is.
let private takeLock (dir: string) =
    try new FileStream(Path.Combine(dir, lockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)
    with
    | :? IOException as e when isHeldLock e ->
        raise (RunFolderError(sprintf "run folder %s is in use by another process (it holds %s); wait for it to finish, or stop it" dir lockFile))
    | :? IOException
    | :? UnauthorizedAccessException as e ->
        raise (RunFolderError(sprintf "run folder %s cannot be locked for this run (%s): %s" dir lockFile (e.Message.Split('\n')[0])))

/// Whether another process holds the folder's lock now (false for a folder that does
/// not exist or whose lock is free).
let isLocked (dir: string) =
    if not (File.Exists(Path.Combine(dir, lockFile))) then false
    else
        try
            use _ = new FileStream(Path.Combine(dir, lockFile), FileMode.Open, FileAccess.ReadWrite, FileShare.None)
            false
        with :? IOException as e -> isHeldLock e

/// The files of a run folder that a run reads and writes.
let runFiles = [ "results.jsonl"; "checkpoint.ck"; "config.json"; "summary.json"; "run.json"; lockFile ]

/// Refuses a run folder in which one of `runFiles` is a symbolic link: a run writes only
/// into its own folder, never through a link to a file elsewhere.
let checkFiles (dir: string) =
    for name in runFiles do
        match FileInfo(Path.Combine(dir, name)).LinkTarget with
        | null -> ()
        | target ->
            raise (RunFolderError(sprintf "run folder %s: %s is a symbolic link (to %s); a run folder's files must be its own, not links; nothing was changed" dir name target))

/// Creates `dir` only if nothing exists at that path yet (atomically: of two processes
/// creating it, one gets false); its parent must exist.
let private createNew (dir: string) =
    if OperatingSystem.IsWindows() then
        if Directory.Exists dir || File.Exists dir then false
        else
            Directory.CreateDirectory dir |> ignore
            true
    else
        match Posix.mkdir (dir, 0o777u) with
        | 0 -> true
        | _ ->
            let errno = Runtime.InteropServices.Marshal.GetLastPInvokeError()
            // EEXIST
            if errno = 17 then false
            else raise (IOException(sprintf "cannot create the run folder %s (%s)" dir (Runtime.InteropServices.Marshal.GetPInvokeErrorMessage errno)))

/// Appends `bytes` at the end of `s` and flushes it with `flush`. A write or flush that
/// fails is undone: the stream is cut back to its length before (a full disk leaves no
/// half line), and the failure is raised.
let internal appendUndoable (s: Stream) (bytes: byte[]) (flush: Stream -> unit) =
    let before = s.Seek(0L, SeekOrigin.End)
    try
        s.Write(bytes, 0, bytes.Length)
        flush s
    with _ ->
        s.SetLength before
        reraise ()

/// A run folder, owned by this process while the value lives: its lock file is held with
/// an exclusive OS lock, released when the value is disposed or the process ends (a
/// crash included). `run.json` names the run (a random id, the hash of config.json);
/// checkpoints written for the run carry the id.
[<Sealed>]
type RunFolder private (path: string, id: string, lock: FileStream, tensorBoard: bool) =
    let results = Path.Combine(path, "results.jsonl")
    // TensorBoard's event file of this process's part of the run, opened at the first epoch
    // (none when the configuration turns TensorBoard off).
    let events = lazy (if tensorBoard then Some(TensorBoard.create path) else None)

    /// The folder.
    member _.Path = path
    /// The run's id ("" for folders written before runs had ids).
    member _.Id = id

    /// Creates a fresh folder for a run under `root` and writes its config.
    static member Create(root: string, cfg: TrainConfig) =
        let stamp = DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")
        let safe = String(cfg.Name.ToCharArray() |> Array.map (fun c -> if Char.IsLetterOrDigit c || c = '-' || c = '_' || c = '.' then c else '-'))
        Directory.CreateDirectory root |> ignore
        // The first free name, taken atomically: runs started in the same second get
        // their own folders.
        let rec claim i =
            let dir = Path.Combine(root, if i = 0 then sprintf "%s-%s" safe stamp else sprintf "%s-%s-%d" safe stamp i)
            if createNew dir then dir else claim (i + 1)
        RunFolder.CreateAt(claim 0, cfg)

    /// Uses exactly `dir` (which must not hold a results file yet).
    static member CreateAt(dir: string, cfg: TrainConfig) =
        if Directory.Exists dir then checkFiles dir
        if File.Exists(Path.Combine(dir, "results.jsonl")) then
            raise (RunFolderError(sprintf "run folder %s already holds results; choose another folder (nothing was overwritten)" dir))
        Directory.CreateDirectory dir |> ignore
        let lock = takeLock dir
        try
            checkFiles dir
            removeStale dir
            let text = Config.toText cfg
            let id = Guid.NewGuid().ToString("N")
            let run = JsonObject()
            run["id"] <- id
            run["configSha256"] <- Convert.ToHexString(Security.Cryptography.SHA256.HashData(Text.Encoding.UTF8.GetBytes text)).ToLowerInvariant()
            AtomicFile.writeText (Path.Combine(dir, "config.json")) text
            AtomicFile.writeText (Path.Combine(dir, "run.json")) (run.ToJsonString(options true))
            new RunFolder(dir, id, lock, cfg.TensorBoard)
        with _ ->
            lock.Dispose()
            reraise ()

    /// Opens an existing run folder to continue its run: takes its lock and removes
    /// what interrupted writes left.
    static member Open(dir: string) =
        if not (Directory.Exists dir) then raise (RunFolderError(sprintf "run folder %s not found" dir))
        checkFiles dir
        let lock = takeLock dir
        try
            checkFiles dir
            removeStale dir
            let runFile = Path.Combine(dir, "run.json")
            let id =
                if not (File.Exists runFile) then ""
                else
                    match (try JsonNode.Parse(File.ReadAllText runFile) with :? JsonException -> null) with
                    | :? JsonObject as o when (o["id"] :? JsonValue) -> o["id"].GetValue<string>()
                    | _ -> raise (RunFolderError(sprintf "%s is not a run file (corrupt?); nothing was changed" runFile))
            let tensorBoard = try (Config.load (Path.Combine(dir, "config.json")) Config.defaults).TensorBoard with _ -> true
            new RunFolder(dir, id, lock, tensorBoard)
        with _ ->
            lock.Dispose()
            reraise ()

    /// The configuration in config.json.
    member _.Config() : TrainConfig =
        Config.load (Path.Combine(path, "config.json")) Config.defaults

    /// Appends one epoch as a complete, flushed JSON line. A write that fails (a full
    /// disk) is undone: the file is cut back to its previous length.
    member _.Append(r: EpochRecord) =
        // Unbuffered, so that a failed write leaves nothing pending to flush, and not in
        // append mode, so that the stream can be cut back.
        use s = new FileStream(results, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 0)
        let bytes = Text.Encoding.UTF8.GetBytes(json (epochJson r) + "\n")
        appendUndoable s bytes (fun s -> (s :?> FileStream).Flush(true))
        events.Value |> Option.iter (fun e -> e.Scalars(int64 r.Epoch, TensorBoard.epochScalars r))

    /// Brings the results file to exactly these epochs (a checkpoint's), which must
    /// continue what it holds: lines it holds that differ from them are another run's
    /// history, and are refused (nothing is changed).
    member _.Reconcile(records: EpochRecord list) =
        let lines = records |> List.map (fun r -> json (epochJson r))
        let text = if File.Exists results then File.ReadAllText results else ""
        // The checkpoint's records replace a line that was cut short.
        let complete, existing = completeLines text
        let existing = List.ofArray existing
        let conflict =
            existing.Length > lines.Length
            || List.exists2 (fun (a: string) (b: string) -> a <> b) existing (List.truncate existing.Length lines)
        if conflict then
            raise (RunFolderError(sprintf "%s holds epochs that its checkpoint does not (the checkpoint is older than the results, or from another run); nothing was changed" results))
        if existing.Length < lines.Length || complete.Length <> text.Length then
            AtomicFile.writeText results (String.Join("", lines |> List.map (fun l -> l + "\n")))

    /// Writes the summary (atomically).
    member _.Finish(r: TrainResult) =
        AtomicFile.writeText (Path.Combine(path, "summary.json")) ((summaryJson r).ToJsonString(options true))
        // Every measured test accuracy (epoch ends and every evalEvery updates), at step = weight updates.
        for p in r.Evaluations do
            events.Value |> Option.iter (fun e -> e.Scalars(p.Updates, [ "eval/testAccuracy", p.TestAccuracy ]))

    interface IDisposable with
        member _.Dispose() =
            if events.IsValueCreated then events.Value |> Option.iter (fun e -> (e :> IDisposable).Dispose())
            lock.Dispose()

/// Reads the epoch records of a run folder's results file.
let readResults (dir: string) : JsonObject list =
    let f = Path.Combine(dir, "results.jsonl")
    if not (File.Exists f) then raise (RunFolderError(sprintf "%s: no results.jsonl (not a run folder?)" dir))
    [ for i, line in snd (completeLines (File.ReadAllText f)) |> Array.indexed do
          match (try JsonNode.Parse line with :? JsonException -> null) with
          | :? JsonObject as o -> yield o
          | _ -> raise (RunFolderError(sprintf "%s: line %d is not a JSON object" f (i + 1))) ]

/// The outcome of the run in a folder, read back from what the run wrote: config.json,
/// results.jsonl and summary.json (the numbers as the run had them; JSON keeps every
/// double exactly). A run that measured accuracy only at epoch ends has those as its
/// evaluation points. A folder without a summary (a run that never finished) is refused.
let resultOf (dir: string) : TrainResult =
    let summaryFile = Path.Combine(dir, "summary.json")
    if not (File.Exists summaryFile) then raise (RunFolderError(sprintf "%s: no summary.json (the run has not finished)" dir))
    let summary =
        match (try JsonNode.Parse(File.ReadAllText summaryFile) with :? JsonException -> null) with
        | :? JsonObject as o -> o
        | _ -> raise (RunFolderError(sprintf "%s is not a run summary (corrupt?)" summaryFile))
    let cfg = Config.load (Path.Combine(dir, "config.json")) Config.defaults
    let epochs = if File.Exists(Path.Combine(dir, "results.jsonl")) then readResults dir |> List.map epochOfJson else []
    let status =
        match summary["status"].GetValue<string>() with
        | "completed" -> RunStatus.Completed
        | "diverged" -> RunStatus.Diverged(match summary["error"] with null -> "" | e -> e.GetValue<string>())
        | "cancelled" -> RunStatus.Cancelled
        | s -> raise (RunFolderError(sprintf "%s: unknown status '%s'" summaryFile s))
    let evaluations =
        match summary["evaluations"] with
        | :? JsonArray as a -> [ for p in a -> evalOfJson p ]
        | _ ->
            // The epoch ends: an epoch's batches are the updates since the one before.
            let before = 0L :: (epochs |> List.map (fun e -> e.Updates))
            [ for r, b in List.zip epochs (List.truncate epochs.Length before) ->
                  { Epoch = r.Epoch; Batch = int (r.Updates - b); Updates = r.Updates; Smm = r.Smm; Seconds = r.Seconds; TestAccuracy = r.TestAccuracy } ]
    let best, final = Training.bestAndFinal epochs
    { Config = cfg
      Status = status
      Epochs = epochs
      BestAccuracy = best
      FinalAccuracy = final
      Evaluations = evaluations
      Smm = summary["smm"].GetValue<int64>()
      Products = summary["products"].GetValue<int64>()
      Seconds = readNumber summary["seconds"] }
