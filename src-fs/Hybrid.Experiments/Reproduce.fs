/// Paper reproductions: the checked-in configurations, the paper's numbers, and
/// the aggregation of several seeds into a table.
module Hybrid.Reproduce

open System
open System.IO

/// Test accuracies of Pinchetti et al., Table 1 (BP, PC-fw, PC-avg), by dataset and fraction.
let paperTable1: Map<string * float, float * float * float> =
    Map.ofList
        [ ("mnist", 1.0), (98.32, 98.26, 98.73)
          ("fashion-mnist", 1.0), (89.55, 88.50, 89.80)
          ("fashion-mnist", 0.5), (88.09, 87.81, 88.88)
          ("fashion-mnist", 0.25), (86.58, 86.55, 87.64)
          ("kmnist", 1.0), (92.38, 92.13, 93.37)
          ("cifar10", 1.0), (75.82, 66.72, 75.41) ]

/// The methods of Table 1 with their config file names, and PC-mem (the memory
/// initializer in place of the stream average; the paper reports it only in words:
/// no significant difference from PC-avg).
let table1Methods = [ "BP", "bp"; "PC-fw", "pc-fw"; "PC-avg", "pc-avg"; "PC-mem", "pc-mem" ]

/// The methods `reproduce table1` runs unless told otherwise: the paper's three columns.
let table1Default = [ "bp"; "pc-fw"; "pc-avg" ]

/// A Table 1 method given by its config name (any case): its label and config name.
/// The error lists the known ones.
let table1Method (name: string) =
    match table1Methods |> List.tryFind (fun (_, f) -> f = name.Trim().ToLowerInvariant()) with
    | Some m -> m
    | None -> invalidArg "methods" (sprintf "unknown Table 1 method '%s' (known: %s)" name (String.Join(", ", table1Methods |> List.map snd)))

/// The label of a Table 1 method given by its config name.
let table1Label (name: string) = fst (table1Method name)

/// The paper's number for a method (by config name), if the paper reports one for this dataset and fraction.
let paperNumber (dataset: string) (fraction: float) (name: string) =
    match paperTable1 |> Map.tryFind (dataset, fraction), snd (table1Method name) with
    | Some(bp, _, _), "bp" -> Some bp
    | Some(_, fw, _), "pc-fw" -> Some fw
    | Some(_, _, avg), "pc-avg" -> Some avg
    | _ -> None

/// Folders where checked-in configs are looked for: `HYBRID_CONFIGS`, the
/// application's folder, then the working directory and its parents.
let configRoots () =
    [ match Environment.GetEnvironmentVariable "HYBRID_CONFIGS" with
      | s when not (String.IsNullOrWhiteSpace s) -> yield s
      | _ -> ()
      yield Path.Combine(AppContext.BaseDirectory, "configs")
      let mutable d = DirectoryInfo(Directory.GetCurrentDirectory())
      while not (isNull d) do
          yield Path.Combine(d.FullName, "configs")
          d <- d.Parent ]

/// Finds a checked-in config file, e.g. `table1/pc-avg.json`.
let findConfig (relative: string) =
    match configRoots () |> List.map (fun r -> Path.Combine(r, relative)) |> List.tryFind File.Exists with
    | Some p -> p
    | None -> invalidOp (sprintf "checked-in config %s not found (searched %s)" relative (String.Join(", ", configRoots ())))

/// The Table 1 configurations of `methods` (config names) for a dataset, fraction,
/// epoch count and seed.
let table1Configs (methods: string list) (dataset: string) (dataRoot: string option) (fraction: float) (epochs: int) (seed: int64) : (string * TrainConfig) list =
    [ for m in methods ->
          let label, file = table1Method m
          let cfg = Config.load (findConfig (Path.Combine("table1", file + ".json"))) Config.defaults
          label,
          { cfg with
              Name = sprintf "%s-%s-f%g-s%d" file dataset fraction seed
              Dataset = dataset
              DataRoot = dataRoot
              Fraction = fraction
              Epochs = epochs
              Seed = seed } ]

/// One row of a reproduced table: a method over several seeds.
type TableRow =
    { Method: string
      /// Best test accuracy over epochs, one per completed seed (the paper's protocol).
      Best: float list
      /// Test accuracy after the last epoch, one per completed seed.
      Final: float list
      /// Runs that diverged or were cancelled.
      Failed: int
      /// The paper's number, where it reports one.
      Paper: float option
      /// Mean training seconds per run.
      Seconds: float
      /// Mean SMMs per run.
      Smm: float }

/// Mean and sample standard deviation (0 for a single value).
let meanStd (xs: float list) =
    match xs with
    | [] -> nan, nan
    | [ x ] -> x, 0.0
    | _ ->
        let m = List.average xs
        m, sqrt (List.sumBy (fun x -> (x - m) ** 2.0) xs / float (xs.Length - 1))

/// Aggregates the results of one method.
let row (methodName: string) (paper: float option) (results: TrainResult list) =
    let ok = results |> List.filter (fun r -> r.Status = RunStatus.Completed)
    { Method = methodName
      Best = ok |> List.choose (fun r -> r.BestAccuracy)
      Final = ok |> List.choose (fun r -> r.FinalAccuracy)
      Failed = results.Length - ok.Length
      Paper = paper
      Seconds = if results.IsEmpty then 0.0 else results |> List.averageBy (fun r -> r.Seconds)
      Smm = if results.IsEmpty then 0.0 else results |> List.averageBy (fun r -> float r.Smm) }
