/// The checked-in configurations of the experiments and sweeps (`configs/`), embedded in
/// this assembly as `configs/DIR/NAME.json`. A folder named by `HYBRID_CONFIGS` (same
/// layout) comes first, so that variants can be run without rebuilding.
module Hybrid.Reporting.Configs

type private Marker =
    class end

val private assembly: System.Reflection.Assembly

/// The embedded configurations, as relative names (`table1/bp.json`).
val embedded: unit -> string array

/// The `HYBRID_CONFIGS` folder, if set.
val private overrideRoot: unit -> string option

/// A checked-in configuration's text, e.g. `table1/pc-avg.json`, and where it came from
/// (the file under `HYBRID_CONFIGS`, or `embedded:configs/...`).
val text: relative: string -> string * string

/// Reads a checked-in configuration with `parse`; errors name where it came from.
val read: parse: (string -> 'T) -> relative: string -> 'T

/// A checked-in run configuration.
val train: relative: string -> Hybrid.TrainConfig

/// A checked-in generative configuration.
val generative: relative: string -> Hybrid.Generative.GenConfig
