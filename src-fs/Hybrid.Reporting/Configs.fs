/// The checked-in configurations of the experiments and sweeps (`configs/`), embedded in
/// this assembly as `configs/DIR/NAME.json`. A folder named by `HYBRID_CONFIGS` (same
/// layout) comes first, so that variants can be run without rebuilding.
module Hybrid.Reporting.Configs

open System
open System.IO
open Hybrid

type private Marker = class end

let private assembly = typeof<Marker>.Assembly

/// The embedded configurations, as relative names (`table1/bp.json`).
let embedded () =
    assembly.GetManifestResourceNames()
    |> Array.filter (fun n -> n.StartsWith "configs/")
    |> Array.map (fun n -> n.Substring "configs/".Length)
    |> Array.sort

/// The `HYBRID_CONFIGS` folder, if set.
let private overrideRoot () =
    match Environment.GetEnvironmentVariable "HYBRID_CONFIGS" with
    | s when not (String.IsNullOrWhiteSpace s) -> Some s
    | _ -> None

/// A checked-in configuration's text, e.g. `table1/pc-avg.json`, and where it came from
/// (the file under `HYBRID_CONFIGS`, or `embedded:configs/...`).
let text (relative: string) =
    let relative = relative.Replace('\\', '/')
    let fromFolder =
        overrideRoot ()
        |> Option.map (fun r -> Path.Combine(r, relative))
        |> Option.filter File.Exists
    match fromFolder with
    | Some path ->
        path, Codec.readText "config file" path
    | None ->
        use stream = assembly.GetManifestResourceStream("configs/" + relative)
        if isNull stream then
            let searched =
                match overrideRoot () with
                | Some r -> sprintf "%s, then the embedded configurations" r
                | None -> "the embedded configurations (set HYBRID_CONFIGS to a folder of your own)"
            raise (ConfigError(sprintf "checked-in config %s not found (searched %s)" relative searched))
        use reader = new StreamReader(stream)
        "embedded:configs/" + relative, reader.ReadToEnd()

/// Reads a checked-in configuration with `parse`; errors name where it came from.
let read (parse: string -> 'T) (relative: string) : 'T =
    let source, json = text relative
    try parse json with ConfigError msg -> raise (ConfigError(sprintf "%s: %s" source msg))

/// A checked-in run configuration.
let train (relative: string) = read (fun j -> Config.parse j Config.defaults) relative

/// A checked-in generative configuration.
let generative (relative: string) = read (fun j -> Generative.parse j Generative.defaults) relative
