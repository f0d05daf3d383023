/// Run folders: the configuration, one JSON line per epoch, and a summary.
/// Files are written so that a crash never leaves a half-written summary or
/// config (temporary file, then rename); the results file is appended and
/// flushed one complete line at a time.
module Hybrid.Runs

/// A run folder cannot be used as asked (in use by another process, holding another
/// run's results, damaged, missing). The message names the folder and what to do.
exception RunFolderError of string

val private options: indented: bool -> System.Text.Json.JsonSerializerOptions

val private json: o: System.Text.Json.Nodes.JsonNode -> string

val private number: v: float -> System.Text.Json.Nodes.JsonNode

/// An epoch record as a JSON object.
val epochJson: r: EpochRecord -> System.Text.Json.Nodes.JsonObject

/// A number written by `number`: finite values as JSON numbers, others as their name.
val private readNumber: n: System.Text.Json.Nodes.JsonNode -> float

/// An epoch record read back from `epochJson`'s object.
val epochOfJson: o: System.Text.Json.Nodes.JsonNode -> EpochRecord

/// An evaluation point as a JSON object.
val evalJson: p: EvalPoint -> System.Text.Json.Nodes.JsonObject

/// An evaluation point read back from `evalJson`'s object.
val evalOfJson: o: System.Text.Json.Nodes.JsonNode -> EvalPoint

/// A run's summary as a JSON object (with its evaluation points when it measured
/// accuracy within epochs, `evalEvery` > 0).
val summaryJson: r: TrainResult -> System.Text.Json.Nodes.JsonObject

/// The lock file of a run folder: held open with an exclusive OS lock while a process owns the folder.
val lockFile: string

/// The complete lines of a results file's text: a last line without its newline is
/// a write that was cut short (kill -9, a full disk), not history.
val private completeLines: text: string -> string * string array

/// Removes what interrupted writes left behind: temporary files of atomic writes
/// (`.NAME.PID.tmp`, and `NAME.PID.tmp` of older versions). Only the folder's owner calls it.
val private removeStale: dir: string -> unit

/// Whether an error opening a file is a lock that another process holds (EWOULDBLOCK on
/// Linux and macOS, a sharing or lock violation on Windows), rather than another failure.
val internal isHeldLock: e: System.IO.IOException -> bool

/// Takes the folder's lock. A lock another process holds says the folder is in use; any
/// other failure (a read-only file system, no permission) says what it is.
val private takeLock: dir: string -> System.IO.FileStream

/// Whether another process holds the folder's lock now (false for a folder that does
/// not exist or whose lock is free).
val isLocked: dir: string -> bool

/// The files of a run folder that a run reads and writes.
val runFiles: string list

/// Refuses a run folder in which one of `runFiles` is a symbolic link: a run writes only
/// into its own folder, never through a link to a file elsewhere.
val checkFiles: dir: string -> unit

/// Appends `bytes` at the end of `s` and flushes it with `flush`. A write or flush that
/// fails is undone: the stream is cut back to its length before (a full disk leaves no
/// half line), and the failure is raised.
val internal appendUndoable:
  s: System.IO.Stream -> bytes: byte array -> flush: (System.IO.Stream -> unit) -> unit

/// A run folder, owned by this process while the value lives: its lock file is held with
/// an exclusive OS lock, released when the value is disposed or the process ends (a
/// crash included). `run.json` names the run (a random id, the hash of config.json);
/// checkpoints written for the run carry the id.
[<Sealed>]
type RunFolder =
    interface System.IDisposable

    /// Creates a fresh folder for a run under `root` and writes its config. The folder's
    /// name (the run's name and the time, then -1, -2, ... when taken) is claimed
    /// atomically, so that runs started together get folders of their own.
    static member Create: root: string * cfg: TrainConfig -> RunFolder

    /// Uses exactly `dir` (which must not hold a results file yet).
    static member CreateAt: dir: string * cfg: TrainConfig -> RunFolder

    /// Opens an existing run folder to continue its run: takes its lock and removes
    /// what interrupted writes left. A folder whose files are symbolic links is refused.
    static member Open: dir: string -> RunFolder

    /// Appends one epoch as a complete, flushed JSON line. A write that fails (a full
    /// disk) is undone: the file is cut back to its previous length.
    member Append: r: EpochRecord -> unit

    /// The configuration in config.json.
    member Config: unit -> TrainConfig

    /// Writes the summary (atomically).
    member Finish: r: TrainResult -> unit

    /// Brings the results file to exactly these epochs (a checkpoint's), which must
    /// continue what it holds: lines it holds that differ from them are another run's
    /// history, and are refused (nothing is changed).
    member Reconcile: records: EpochRecord list -> unit

    /// The run's id ("" for folders written before runs had ids).
    member Id: string

    /// The folder.
    member Path: string

/// Reads the epoch records of a run folder's results file.
val readResults: dir: string -> System.Text.Json.Nodes.JsonObject list

/// The outcome of the run in a folder, read back from what the run wrote: config.json,
/// results.jsonl and summary.json (the numbers as the run had them; JSON keeps every
/// double exactly). A run that measured accuracy only at epoch ends has those as its
/// evaluation points. A folder without a summary (a run that never finished) is refused.
val resultOf: dir: string -> TrainResult
