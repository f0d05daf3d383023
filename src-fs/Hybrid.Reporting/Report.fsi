/// What an experiment shows and how it reports progress: a report is one JSON
/// document (for `--json`), tables and lines for people, and an exit code; an
/// observer hears of runs starting, batches, epochs and messages.
namespace Hybrid.Reporting

    /// A table of text cells.
    type ReportTable =
        {
          Title: string
          Header: string list
          Rows: string list list
        }

    /// The outcome of an experiment as shown to a user.
    type Report =
        {
          /// The whole result as one JSON document.
          Json: System.Text.Json.Nodes.JsonNode

          /// Tables for people, in order.
          Tables: ReportTable list

          /// Lines for people, after the tables.
          Lines: string list

          /// Lines shown in every mode (on stderr beside a JSON document).
          Notes: string list

          /// Problems, shown on stderr.
          Errors: string list

          /// 0: every run completed; 3: a run diverged or was cancelled.
          ExitCode: int
        }

    /// Progress callbacks of an experiment.
    type Observer =
        {
          /// A run starts: its index, the number of runs, its name.
          Started: (int -> int -> string -> unit)

          /// A training batch is done.
          Batch: (Hybrid.TrainProgress -> unit)

          /// A training epoch is done.
          Epoch: (Hybrid.EpochRecord -> unit)

          /// A line about what the experiment is doing.
          Message: (string -> unit)
        }
    module Observer =
        /// An observer that ignores everything.
        val silent: Observer

    /// The exit codes of the command line, by what happened; documented in the README.
    module ExitCode =
        /// Everything completed.
        [<Literal>]
        val Success: int = 0

        /// An unexpected failure (a bug, or a fault of the machine).
        [<Literal>]
        val Failure: int = 1

        /// A usage error: the command line itself (an unknown command or option, a value that
        /// cannot be read as its type, a missing value).
        [<Literal>]
        val Usage: int = 2

        /// Bad input: a value out of range, a configuration, file, dataset, checkpoint or run
        /// folder, the file system (named in one line).
        [<Literal>]
        val BadInput: int = 4

        /// A run diverged (its summary says where).
        [<Literal>]
        val Diverged: int = 3

        /// A download failed: no network, an HTTP error, a transfer cut short (run the same
        /// command again to resume it) or a checksum mismatch.
        [<Literal>]
        val Download: int = 5

        /// The sweep storage failed or refused: unreachable, a schema newer than this
        /// version, a sweep name taken by another spec, no such sweep.
        [<Literal>]
        val Storage: int = 6

        /// Interrupted (Ctrl-C, SIGTERM): the runs stopped after their current step, saved and summarised.
        [<Literal>]
        val Interrupted: int = 130
    module Report =
        /// A report of a JSON document alone.
        val ofJson: json: System.Text.Json.Nodes.JsonNode -> Report

        /// Invariant culture for every number shown.
        val culture: System.Globalization.CultureInfo

        /// A JSON number.
        val num: x: float -> System.Text.Json.Nodes.JsonNode

        /// A JSON integer.
        val int: x: int -> System.Text.Json.Nodes.JsonNode

        /// A JSON integer.
        val long: x: int64 -> System.Text.Json.Nodes.JsonNode

        /// A JSON string.
        val str: s: string -> System.Text.Json.Nodes.JsonNode

        /// A JSON boolean.
        val bool: b: bool -> System.Text.Json.Nodes.JsonNode

        /// A JSON number, or null for NaN and missing values.
        val number: x: float -> System.Text.Json.Nodes.JsonNode

        /// A JSON number for Some, null for None.
        val optional: x: float option -> System.Text.Json.Nodes.JsonNode

        /// A JSON array of strings.
        val strings: xs: string seq -> System.Text.Json.Nodes.JsonArray

        /// A JSON object from key/value pairs, in order.
        val object:
          pairs: (string * System.Text.Json.Nodes.JsonNode) list ->
            System.Text.Json.Nodes.JsonObject

        /// Writes a JSON document to a file, indented.
        val writeJson:
          path: string -> node: System.Text.Json.Nodes.JsonNode -> unit
