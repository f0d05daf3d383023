/// The JSON Schemas of every configuration form, by name: what `hybrid config
/// schema NAME` prints, so that editors can complete configuration files.
module Hybrid.Experiments.Schemas

open System.Text.Json.Nodes
open Hybrid

/// (name, title, schema) of every configuration form.
let all: (string * string * (unit -> JsonObject)) list =
    [ "train", "A training run (hybrid train --config)", fun () -> Codec.schemaDocument "Hybrid training run" Config.train
      "generative", "A generative run (configs/reconstruction)", fun () -> Codec.schemaDocument "Hybrid generative run" Generative.codec
      "table1", "hybrid reproduce table1 --config", fun () -> Codec.schemaDocument "Hybrid Table 1" Table1.codec
      "deep-mlp", "hybrid reproduce deep-mlp --config", fun () -> Codec.schemaDocument "Hybrid deep MLP" DeepMlp.codec
      "mupc", "hybrid reproduce mupc --config", fun () -> Codec.schemaDocument "Hybrid muPC" MuPC.codec
      "inits", "hybrid reproduce inits --config", fun () -> Codec.schemaDocument "Hybrid initializers x T" Inits.codec
      "steps", "hybrid reproduce steps --config", fun () -> Codec.schemaDocument "Hybrid T x data fraction" Steps.codec
      "speed", "hybrid reproduce speed --config", fun () -> Codec.schemaDocument "Hybrid speed to a target" Speed.codec
      "conv", "hybrid reproduce conv --config", fun () -> Codec.schemaDocument "Hybrid conv nets under BP, sPC and ePC" Conv.codec
      "reconstruction", "hybrid reproduce reconstruction --config", fun () -> Codec.schemaDocument "Hybrid reconstruction" Reconstruction.codec
      "decay", "hybrid decay --config", fun () -> Codec.schemaDocument "Hybrid signal decay" Decay.codec
      "phase", "hybrid hopfield phase --config", fun () -> Codec.schemaDocument "Hybrid Hopfield phase transition" Phase.codec
      "retrieve", "hybrid hopfield retrieve --config", fun () -> Codec.schemaDocument "Hybrid Hopfield retrieval" Retrieval.codec
      "ham-bench", "hybrid ham bench --config", fun () -> Codec.schemaDocument "Hybrid HAM solver benchmark" HamBench.codec ]

/// The schema of a form by name; the error lists the names.
let get (name: string) : JsonObject =
    match all |> List.tryFind (fun (n, _, _) -> n = name) with
    | Some(_, _, schema) -> schema ()
    | None -> raise (ConfigError(sprintf "unknown configuration form '%s' (known: %s)" name (System.String.Join(", ", all |> List.map (fun (n, _, _) -> n)))))
