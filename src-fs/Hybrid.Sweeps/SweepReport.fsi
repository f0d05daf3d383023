/// What a sweep shows: creating it from a spec, its status while workers run, the
/// report a paper can quote (the best configuration per group and method with mean
/// and standard deviation over seeds, Welch t-tests between the methods of a group,
/// CSV, JSON and plots of the metric against each axis), and the chosen
/// configurations exported as configuration files.
module Hybrid.Sweeps.SweepReport

val private j:
  ((string * System.Text.Json.Nodes.JsonNode) list ->
     System.Text.Json.Nodes.JsonObject)

val private f2: x: float -> string

val private culture: System.Globalization.CultureInfo

val private table:
  title: string ->
    header: string list ->
    rows: string list list -> Hybrid.Reporting.ReportTable

/// A sweep stored by `create`.
type Created =
    {
      Name: string
      Trials: int
      Created: bool
      Methods: string list
      Storage: string
    }

/// Expands a spec file into trials and stores them (a sweep of the same name and
/// spec already there is left as it is). `name` replaces the spec's name.
val create:
  store: Hybrid.Sweeps.Store.SweepStore ->
    specPath: string -> name: string option -> Created * Hybrid.Reporting.Report

/// Counts of a sweep's trials by status, and an estimate of the time left.
type Progress =
    {
      Sweep: string
      Total: int
      Counts: (string * int) list

      /// Seconds left at the current pace (None before any trial ends).
      Eta: float option
    }

/// A sweep's progress from its trials.
val progress:
  sweep: string -> trials: Hybrid.Sweeps.Store.TrialRow list -> Progress

val private duration: s: float -> string

/// The status of a sweep: counts, running trials (worker, epoch, lease), failures with their errors, ETA.
val status:
  store: Hybrid.Sweeps.Store.SweepStore ->
    sweep: string option -> Hybrid.Reporting.Report

/// A configuration's results over seeds.
type Cell =
    {
      Key: string
      Values: float list
      Seeds: int64 list
      Trials: Hybrid.Sweeps.Store.TrialRow list
      Mean: float
      Std: float
    }

/// The best configuration of a method in a group, and every configuration it was chosen from.
type MethodResult =
    {
      Method: string
      Best: Cell option
      Cells: Cell list
      Completed: int
      Pruned: int
      Failed: int
    }

/// A Welch t-test between the best configurations of two methods of a group.
type Comparison =
    {
      A: string
      B: string
      Test: Hybrid.Sweeps.Stats.Welch option
    }

/// A group of the report.
type GroupResult =
    {
      Group: string
      Methods: MethodResult list
      Comparisons: Comparison list
    }

/// Groups, methods and their best configurations, from a sweep's trials: only
/// completed trials count (pruned ones stopped early, failed ones have no metric).
val analyse:
  spec: Hybrid.Sweeps.Spec.SweepSpec ->
    trials: Hybrid.Sweeps.Store.TrialRow list -> GroupResult list

val private csvCell: s: string -> string

val private csv: header: string list -> rows: string list list -> string

val private opt: x: float option -> string

/// A file-name-safe form of text.
val safeName: s: string -> string

/// Plots of the metric against each axis (one series per method, one point per
/// completed trial); categorical axes are numbered in order of appearance.
val private plots:
  spec: Hybrid.Sweeps.Spec.SweepSpec ->
    trials: Hybrid.Sweeps.Store.TrialRow list -> folder: string -> string list

/// The report of a sweep. With `folder`, also writes report.json, best.csv (one
/// row per group and method), trials.csv (every trial) and plots of the metric
/// against each axis there.
val report:
  store: Hybrid.Sweeps.Store.SweepStore ->
    sweep: string option -> folder: string option -> Hybrid.Reporting.Report

/// Writes the best configuration of each method (and group) as a configuration file
/// that `hybrid train --config` reads (the seed of its first trial); returns the files.
val export:
  store: Hybrid.Sweeps.Store.SweepStore ->
    sweep: string option -> folder: string -> string list
