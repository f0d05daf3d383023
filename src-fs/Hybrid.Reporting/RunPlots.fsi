/// The plots of run folders, drawn from their results.jsonl: accuracy and energy
/// per epoch, accuracy against SMMs and seconds, per-layer energies.
module Hybrid.Reporting.RunPlots

/// One run's epoch records as read from its results file.
type RunRecords =
    {
      Folder: string

      /// The run's name (its config's), else the folder's.
      Name: string
      Epochs: System.Text.Json.Nodes.JsonObject list
    }

    /// A field of every epoch (NaN where it is missing or not a number).
    member Get: field: string -> float list

/// Reads a run folder's results and name.
val read: folder: string -> RunRecords

/// Writes the plots of several runs into `outDir`; returns the files.
val write: outDir: string -> runs: RunRecords list -> string list

/// Several runs on one figure and in one table: plots into `outDir`, and each run's
/// epochs, best and last accuracy, SMMs and seconds.
val compare: folders: string list -> outDir: string -> Hybrid.Reporting.Report
