/// What an experiment shows and how it reports progress: a report is one JSON
/// document (for `--json`), tables and lines for people, and an exit code; an
/// observer hears of runs starting, batches, epochs and messages.
namespace Hybrid.Reporting

open System.Globalization
open System.Text.Json.Nodes
open Hybrid

/// A table of text cells.
type ReportTable =
    { Title: string
      Header: string list
      Rows: string list list }

/// The outcome of an experiment as shown to a user.
type Report =
    { /// The whole result as one JSON document.
      Json: JsonNode
      /// Tables for people, in order.
      Tables: ReportTable list
      /// Lines for people, after the tables.
      Lines: string list
      /// Lines shown in every mode (on stderr beside a JSON document).
      Notes: string list
      /// Problems, shown on stderr.
      Errors: string list
      /// 0: every run completed; 3: a run diverged or was cancelled.
      ExitCode: int }

/// Progress callbacks of an experiment.
type Observer =
    { /// A run starts: its index, the number of runs, its name.
      Started: int -> int -> string -> unit
      /// A training batch is done.
      Batch: TrainProgress -> unit
      /// A training epoch is done.
      Epoch: EpochRecord -> unit
      /// A line about what the experiment is doing.
      Message: string -> unit }

module Observer =
    /// An observer that ignores everything.
    let silent: Observer = { Started = (fun _ _ _ -> ()); Batch = ignore; Epoch = ignore; Message = ignore }

/// The exit codes of the command line, by what happened; documented in the README.
module ExitCode =
    /// Everything completed.
    [<Literal>]
    let Success = 0
    /// An unexpected failure (a bug, or a fault of the machine).
    [<Literal>]
    let Failure = 1
    /// A usage error: the command line itself (an unknown command or option, a value that
    /// cannot be read as its type, a missing value).
    [<Literal>]
    let Usage = 2
    /// Bad input: a value out of range, a configuration, file, dataset, checkpoint or run
    /// folder, the file system (named in one line).
    [<Literal>]
    let BadInput = 4
    /// A run diverged (its summary says where).
    [<Literal>]
    let Diverged = 3
    /// A download failed: no network, an HTTP error, a transfer cut short (run the same
    /// command again to resume it) or a checksum mismatch.
    [<Literal>]
    let Download = 5
    /// The sweep storage failed or refused: unreachable, a schema newer than this
    /// version, a sweep name taken by another spec, no such sweep.
    [<Literal>]
    let Storage = 6
    /// Interrupted (Ctrl-C, SIGTERM): the runs stopped after their current step, saved and summarised.
    [<Literal>]
    let Interrupted = 130

module Report =
    /// A report of a JSON document alone.
    let ofJson (json: JsonNode) = { Json = json; Tables = []; Lines = []; Notes = []; Errors = []; ExitCode = 0 }

    /// Invariant culture for every number shown.
    let culture = CultureInfo.InvariantCulture

    /// A JSON number.
    let num (x: float) : JsonNode = JsonValue.Create x

    /// A JSON integer.
    let int (x: int) : JsonNode = JsonValue.Create x

    /// A JSON integer.
    let long (x: int64) : JsonNode = JsonValue.Create x

    /// A JSON string.
    let str (s: string) : JsonNode = JsonValue.Create s

    /// A JSON boolean.
    let bool (b: bool) : JsonNode = JsonValue.Create b

    /// A JSON number, or null for NaN and missing values.
    let number (x: float) : JsonNode = if System.Double.IsNaN x then null else JsonValue.Create x

    /// A JSON number for Some, null for None.
    let optional (x: float option) : JsonNode = match x with Some v -> JsonValue.Create v | None -> null

    /// A JSON array of strings.
    let strings (xs: string seq) = JsonArray(xs |> Seq.map (fun s -> JsonValue.Create s :> JsonNode) |> Array.ofSeq)

    /// A JSON object from key/value pairs, in order.
    let object (pairs: (string * JsonNode) list) =
        let o = JsonObject()
        for k, v in pairs do o[k] <- v
        o

    /// Writes a JSON document to a file, indented.
    let writeJson (path: string) (node: JsonNode) = AtomicFile.writeText path (Codec.writeText node)
