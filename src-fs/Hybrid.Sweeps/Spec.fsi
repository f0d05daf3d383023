/// Sweep specs as data: a base configuration, methods, axes (grid lists and random
/// ranges), seeds, the metric and its direction, report groups and early stopping.
/// A spec expands into trials, each a complete, validated `TrainConfig`.
module Hybrid.Sweeps.Spec

/// A random range of an axis.
[<RequireQualifiedAccess>]
type Range =
    /// Uniform in [lo, hi].
    | Uniform of lo: float * hi: float

    /// exp of uniform in [log lo, log hi] (lo > 0).
    | LogUniform of lo: float * hi: float

    /// A uniform integer in [lo, hi].
    | IntUniform of lo: int * hi: int

    /// One of the values, uniformly.
    | Choice of values: System.Text.Json.Nodes.JsonNode list

/// An axis: a configuration field (a dotted path such as `optimizer.lr`) and its values.
[<RequireQualifiedAccess>]
type Axis =
    /// Every value, crossed with the other grid axes.
    | Grid of path: string * values: System.Text.Json.Nodes.JsonNode list

    /// One draw per sample.
    | Random of path: string * range: Range
    member Path: string

/// What a trial reports: the best test accuracy over its epochs, or the last one.
[<RequireQualifiedAccess>]
type Metric =
    | BestAccuracy
    | FinalAccuracy
    override ToString: unit -> string

/// Whether larger or smaller metrics are better.
[<RequireQualifiedAccess>]
type Direction =
    | Maximize
    | Minimize
    override ToString: unit -> string

/// Asynchronous successive halving: rungs at `MinEpochs * Reduction^k` epochs (below
/// the run's epochs); a trial whose metric at a rung is outside the best
/// 1/`Reduction` of the trials of its method and group seen at that rung stops.
type Asha =
    {
      MinEpochs: int
      Reduction: int
    }

/// A method: a configuration of its own (on the spec's base) and axes of its own.
type Method =
    {
      Name: string
      Config: System.Text.Json.Nodes.JsonObject
      Axes: Axis list
    }

/// A sweep.
type SweepSpec =
    {
      Name: string

      /// The base configuration (a configuration object; fields it lacks keep their defaults).
      Base: System.Text.Json.Nodes.JsonObject

      /// Fields set for every method, after the method's own configuration.
      Overrides: System.Text.Json.Nodes.JsonObject

      /// Methods compared in the report (one named after the sweep when none are given).
      Methods: Method list

      /// Axes of every method.
      Axes: Axis list

      /// Draws of the random axes (each crossed with the grid); 1 when there are none.
      Samples: int

      /// Seeds the draws of the random axes.
      SampleSeed: int64

      /// Every configuration runs once per seed (the configuration's `seed`).
      Seeds: int64 list
      Metric: Metric
      Direction: Direction

      /// Configuration paths whose values split the report into groups (the method is always a row).
      Groups: string list
      Asha: Asha option

      /// A trial whose worker vanished (its lease expired) this many times is failed.
      MaxAttempts: int

      /// Trials given one by one (method, configuration), in place of methods, axes and
      /// seeds: what the papers' experiments run.
      Trials: (string * System.Text.Json.Nodes.JsonObject) list
    }

/// One run of a sweep.
type Trial =
    {
      Index: int
      Method: string

      /// The group's values, as text (`fraction=0.25`; "" with no groups).
      Group: string

      /// The axis values of the trial without the seed, as text: trials that differ
      /// only in their seed share it.
      Key: string
      Seed: int64
      Config: Hybrid.TrainConfig
    }

val private fail: fmt: Printf.StringFormat<'a,'b> -> 'a

val private get:
  o: System.Text.Json.Nodes.JsonObject ->
    key: string -> System.Text.Json.Nodes.JsonNode option

/// The value at a dotted path of a JSON object (None where absent).
val valueAt:
  o: System.Text.Json.Nodes.JsonNode ->
    path: string -> System.Text.Json.Nodes.JsonNode option

/// A patch object that sets `path` to `value`: `a.b` = v is `{ "a": { "b": v } }`.
val patch:
  path: string ->
    value: System.Text.Json.Nodes.JsonNode -> System.Text.Json.Nodes.JsonObject

/// A JSON number as a float, however the node was made (parsed or created from an int).
val toFloat: v: System.Text.Json.Nodes.JsonNode -> float

/// A value as text for keys and tables: numbers in their shortest form, strings bare.
val text: n: System.Text.Json.Nodes.JsonNode -> string

/// The most trials a spec may expand into (100,000; HYBRID_MAX_TRIALS changes it).
val maxTrials: unit -> int

/// The deepest nesting of a YAML spec (as JSON's: 64 levels).
[<Literal>]
val MaxDepth: int = 64

val private exactInteger: float

/// Checks a sweep name: it names folders, so letters, digits, '-', '_' and '.', not
/// starting with '.', at most 100 characters.
val checkName: name: string -> string

val private number: path: string -> n: System.Text.Json.Nodes.JsonNode -> float

val private pair:
  path: string -> n: System.Text.Json.Nodes.JsonNode -> float * float

val private readAxis:
  path: string -> key: string -> n: System.Text.Json.Nodes.JsonNode -> Axis

val private readAxes:
  path: string -> n: System.Text.Json.Nodes.JsonNode -> Axis list

/// A configuration reference: a checked-in configuration (`table1/pc-avg`), a file
/// (relative to the spec's folder), or an object; the result is a configuration object.
val private configObject:
  folder: string ->
    path: string ->
    n: System.Text.Json.Nodes.JsonNode -> System.Text.Json.Nodes.JsonObject

val private known: string list

/// Merges `over` into `into` (objects field by field; other values replace).
val private merge:
  into: System.Text.Json.Nodes.JsonObject ->
    over: System.Text.Json.Nodes.JsonObject -> unit

/// The number of trials a spec expands into, computed without expanding it.
val count: spec: SweepSpec -> float

/// Reads a spec from its JSON text; configuration names and files are resolved
/// against `folder` (the spec's folder) and the checked-in configurations. Errors
/// are `ConfigError`s naming the field.
val parse: folder: string -> json: string -> SweepSpec

/// YAML text as JSON text: mappings become objects, sequences arrays; plain scalars
/// that read as numbers, booleans or null become those, every other scalar a string.
/// Read event by event: aliases (`*name`) are refused, so that a few bytes cannot
/// expand into gigabytes, and nesting is limited to `MaxDepth` levels, as JSON's.
val yamlToJson: yaml: string -> string

/// Reads a spec file, JSON or YAML (`.yaml`/`.yml`), or a checked-in spec
/// (`sweeps/table1-mlp`); `ConfigError`s name the file.
val load: path: string -> SweepSpec

/// The rungs of successive halving for a run of `epochs` epochs.
val rungs: a: Asha -> epochs: int -> int list

/// One draw of a random range.
val draw: rng: System.Random -> r: Range -> System.Text.Json.Nodes.JsonNode

/// The cartesian product of the grid axes' values, in axis order (the last axis fastest).
val private product:
  axes: (string * System.Text.Json.Nodes.JsonNode list) list ->
    (string * System.Text.Json.Nodes.JsonNode) list list

/// Every trial of a spec, in order: method, grid point, sample, seed (the seed
/// fastest). Each trial's configuration is the default configuration with the base,
/// the method, the spec's `config`, the axis values and the seed read onto it, validated; an error names
/// the method and values of the first trial that is not a valid configuration.
val expand: spec: SweepSpec -> Trial list

/// The trials of a spec that lists them one by one: each configuration on the base and
/// under the spec's `config`, validated; it keeps its name; trials of one method share
/// their key (they differ in their seed, or in what the method's label says).
val private expandTrials: spec: SweepSpec -> Trial list

/// A spec of trials given one by one (method, configuration): no base, no axes.
val ofTrials:
  name: string -> trials: (string * Hybrid.TrainConfig) list -> SweepSpec

/// The spec as JSON (as stored with the sweep; `parse` reads it back with no files needed).
val toJson: spec: SweepSpec -> System.Text.Json.Nodes.JsonObject
