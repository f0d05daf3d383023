namespace Hybrid.Experiments

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Data

/// The checked-in configurations of the experiments (`configs/`).
module Configs =
    /// Folders where checked-in configs are looked for: `HYBRID_CONFIGS`, the
    /// application's folder, then the working directory and its parents.
    let roots () =
        [ match Environment.GetEnvironmentVariable "HYBRID_CONFIGS" with
          | s when not (String.IsNullOrWhiteSpace s) -> yield s
          | _ -> ()
          yield Path.Combine(AppContext.BaseDirectory, "configs")
          let mutable d = DirectoryInfo(Directory.GetCurrentDirectory())
          while not (isNull d) do
              yield Path.Combine(d.FullName, "configs")
              d <- d.Parent ]

    /// Finds a checked-in config file, e.g. `table1/pc-avg.json`.
    let find (relative: string) =
        match roots () |> List.map (fun r -> Path.Combine(r, relative)) |> List.tryFind File.Exists with
        | Some p -> p
        | None -> invalidOp (sprintf "checked-in config %s not found (searched %s)" relative (String.Join(", ", roots ())))

    /// A checked-in run configuration.
    let train (relative: string) = Config.load (find relative) Config.defaults

/// Fields that several experiment configurations share.
module internal Common =
    let dataset get set = Codec.field "dataset" "dataset: registry name or folder:PATH" Codec.string get set
    let data get set = Codec.optional "data" "data root" Codec.string get set
    let fraction get set = Codec.field "fraction" "fraction of the training set, in (0,1]" Codec.float get set
    let epochs get set = Codec.field "epochs" "epochs per run" Codec.int get set
    let seeds get set = Codec.field "seeds" "seeds per method" Codec.int get set
    let out get set = Codec.field "out" "folder for the experiment's folder" Codec.string get set
    let device get set = Codec.field "device" "auto, cpu or cuda" (Codec.choice Choices.device) get set

    let atLeast (what: string) (minimum: int) (v: int) =
        if v < minimum then invalidArg what (sprintf "%s must be at least %d, got %d" what minimum v)

    let checkFraction (f: float) =
        if not (f > 0.0 && f <= 1.0) then invalidArg "fraction" (sprintf "training fraction %g is outside (0,1]" f)

    /// A checked-in run configuration with the experiment's common settings.
    let withData dataset dataRoot fraction epochs seed (cfg: TrainConfig) =
        { cfg with Dataset = dataset; DataRoot = dataRoot; Fraction = fraction; Epochs = epochs; Seed = seed }

    /// The configuration with T inference steps (predictive coding only).
    let withSteps (steps: int option) (cfg: TrainConfig) =
        match steps with
        | Some t -> { cfg with Algorithm = Config.changeAlgorithm { Config.AlgorithmChanges.None with Inference = Some(fun i -> { i with Steps = t }) } cfg.Algorithm }
        | None -> cfg

/// Tables of test accuracy over several methods and seeds, each method's runs
/// aggregated: the shape of Table 1 and of the deep-MLP and muPC comparisons.
module Table =
    /// One row of a reproduced table: a method over several seeds.
    type Row =
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

    /// A table to run: labelled runs on one dataset, and the methods to aggregate them by.
    type Spec =
        { /// Prefix of the experiment's folder and its `experiment` field.
          Name: string
          Title: string
          Dataset: string
          DataRoot: string option
          Device: DeviceChoice
          /// Parent of the experiment's folder.
          Out: string
          /// (method label, configuration) per run.
          Runs: (string * TrainConfig) list
          /// (method label, the paper's number) per row.
          Methods: (string * float option) list }

    let private f2 (x: float) = if Double.IsNaN x then "-" else x.ToString("F2", Report.culture)

    let private rowJson (r: Row) =
        let bm, bs = meanStd r.Best
        let fm, fs = meanStd r.Final
        Report.object
            [ "method", Report.str r.Method
              "bestMean", Report.number bm
              "bestStd", Report.number bs
              "finalMean", Report.number fm
              "finalStd", Report.number fs
              "best", JsonArray(r.Best |> List.map Report.num |> Array.ofList)
              "paper", Report.optional r.Paper
              "failed", Report.int r.Failed
              "smmPerRun", Report.num r.Smm
              "secondsPerRun", Report.num r.Seconds ]
        :> JsonNode

    let private rowCells (r: Row) =
        let bm, bs = meanStd r.Best
        let fm, fs = meanStd r.Final
        let paper = match r.Paper with Some p -> f2 p | None -> "-"
        let delta =
            match r.Paper with
            | Some p when not (Double.IsNaN bm) -> (bm - p).ToString("+0.00;-0.00", Report.culture)
            | _ -> "-"
        [ r.Method; sprintf "%s ± %s" (f2 bm) (f2 bs); sprintf "%s ± %s" (f2 fm) (f2 fs); paper; delta
          r.Smm.ToString("F0", Report.culture); r.Seconds.ToString("F0", Report.culture); string r.Failed ]

    /// Runs every configuration (the dataset loaded once) into run folders under
    /// `Out/NAME-TIME` and reports best and last-epoch accuracy per method, next to
    /// the paper's number where given.
    let run (spec: Spec) (observer: Observer) (cancel: CancellationToken) : Report =
        let device = Runtime.device spec.Device
        let cfgs = spec.Runs |> List.map (fun (_, c) -> { c with Device = spec.Device })
        let started = DateTime.UtcNow
        let data = Dataset.load spec.DataRoot spec.Dataset
        let outRoot = Path.Combine(spec.Out, sprintf "%s-%s" spec.Name (started.ToString("yyyyMMdd-HHmmss")))
        let results = Runner.runMany cfgs data device outRoot observer cancel
        let labelled = List.zip (spec.Runs |> List.map fst) results
        let rows =
            [ for label, paper in spec.Methods ->
                  row label paper (labelled |> List.choose (fun (l, r) -> if l = label then r |> Option.map (fun r -> r.Result) else None)) ]
        let wall = (DateTime.UtcNow - started).TotalSeconds
        let ran = results |> List.choose id
        { Json =
            Report.object
                [ "experiment", Report.str spec.Name
                  "title", Report.str spec.Title
                  "rows", JsonArray(rows |> List.map rowJson |> Array.ofList)
                  "wallSeconds", Report.num wall
                  "runs", Report.str outRoot ]
          Tables =
            [ { Title = spec.Title
                Header = [ "method"; "best epoch"; "last epoch"; "paper"; "ours - paper"; "SMM/run"; "s/run"; "failed" ]
                Rows = rows |> List.map rowCells } ]
          Lines = [ sprintf "wall time %ss; run folders under %s" (wall.ToString("F0", Report.culture)) outRoot ]
          Notes =
            [ for r in ran do
                  match r.Result.Status with
                  | RunStatus.Completed -> ()
                  | RunStatus.Diverged msg -> yield sprintf "%s: diverged: %s" r.Result.Config.Name msg
                  | s -> yield sprintf "%s: %O" r.Result.Config.Name s ]
          Errors = []
          ExitCode = if ran.Length = cfgs.Length && rows |> List.forall (fun r -> r.Failed = 0) then 0 else 3 }

/// Pinchetti et al., Table 1: BP, PC-fw and PC-avg (and PC-mem on request) on the
/// paper's 5-layer MLP, with the checked-in configurations `configs/table1/*.json`.
module Table1 =
    /// Test accuracies of Pinchetti et al., Table 1 (BP, PC-fw, PC-avg), by dataset and fraction.
    let paper: Map<string * float, float * float * float> =
        Map.ofList
            [ ("mnist", 1.0), (98.32, 98.26, 98.73)
              ("fashion-mnist", 1.0), (89.55, 88.50, 89.80)
              ("fashion-mnist", 0.5), (88.09, 87.81, 88.88)
              ("fashion-mnist", 0.25), (86.58, 86.55, 87.64)
              ("kmnist", 1.0), (92.38, 92.13, 93.37)
              ("cifar10", 1.0), (75.82, 66.72, 75.41) ]

    /// The methods with their config file names, and PC-mem (the memory initializer in
    /// place of the stream average; the paper reports it only in words).
    let methods = [ "BP", "bp"; "PC-fw", "pc-fw"; "PC-avg", "pc-avg"; "PC-mem", "pc-mem" ]

    /// A method given by its config name (any case): its label and config name.
    let method (name: string) =
        match methods |> List.tryFind (fun (_, f) -> f = name.Trim().ToLowerInvariant()) with
        | Some m -> m
        | None -> invalidArg "methods" (sprintf "unknown Table 1 method '%s' (known: %s)" name (String.Join(", ", methods |> List.map snd)))

    /// The label of a method given by its config name.
    let label (name: string) = fst (method name)

    /// The paper's number for a method (by config name), where the paper reports one for this dataset and fraction.
    let paperNumber (dataset: string) (fraction: float) (name: string) =
        match paper |> Map.tryFind (dataset, fraction), snd (method name) with
        | Some(bp, _, _), "bp" -> Some bp
        | Some(_, fw, _), "pc-fw" -> Some fw
        | Some(_, _, avg), "pc-avg" -> Some avg
        | _ -> None

    /// What `reproduce table1` runs.
    type Settings =
        { Dataset: string
          DataRoot: string option
          Fraction: float
          Seeds: int
          Epochs: int
          /// Config names (configs/table1/NAME.json).
          Methods: string list
          Out: string
          Device: DeviceChoice }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            Common.checkFraction this.Fraction
            Common.atLeast "seeds" 1 this.Seeds
            Common.atLeast "epochs" 1 this.Epochs
            if this.Methods.IsEmpty then invalidArg "methods" "methods needs at least one method (bp, pc-fw, pc-avg, pc-mem)"
            for m in this.Methods do method m |> ignore

    /// The paper's three columns on Fashion-MNIST, 3 seeds, 16 epochs.
    let defaults =
        { Dataset = "fashion-mnist"; DataRoot = None; Fraction = 1.0; Seeds = 3; Epochs = 16; Methods = [ "bp"; "pc-fw"; "pc-avg" ]; Out = "runs"; Device = DeviceChoice.Auto }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record
            [ Common.dataset (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
              Common.data (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
              Common.fraction (fun s -> s.Fraction) (fun v s -> { s with Fraction = v })
              Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
              Common.epochs (fun s -> s.Epochs) (fun v s -> { s with Epochs = v })
              Codec.field "methods" "bp, pc-fw, pc-avg, pc-mem (configs/table1/NAME.json)" (Codec.items Codec.string) (fun s -> s.Methods) (fun v s -> { s with Methods = v })
              Common.out (fun s -> s.Out) (fun v s -> { s with Out = v })
              Common.device (fun s -> s.Device) (fun v s -> { s with Device = v }) ]
        |> Codec.check (fun s -> s.Validate())

    /// The configurations of `methods` (config names) for a dataset, fraction, epoch count and seed.
    let configs (methods: string list) (dataset: string) (dataRoot: string option) (fraction: float) (epochs: int) (seed: int64) : (string * TrainConfig) list =
        [ for m in methods ->
              let label, file = method m
              let cfg = Configs.train (Path.Combine("table1", file + ".json")) |> Common.withData dataset dataRoot fraction epochs seed
              label, { cfg with Name = sprintf "%s-%s-f%g-s%d" file dataset fraction seed } ]

    /// Runs the table.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Report =
        s.Validate()
        Table.run
            { Name = sprintf "table1-%s-f%s" s.Dataset (s.Fraction.ToString(Report.culture))
              Title = sprintf "Table 1: %s, fraction %g, %d seed(s), %d epoch(s); test accuracy %%, mean ± std over seeds" s.Dataset s.Fraction s.Seeds s.Epochs
              Dataset = s.Dataset
              DataRoot = s.DataRoot
              Device = s.Device
              Out = s.Out
              Runs = [ for seed in 0 .. s.Seeds - 1 do yield! configs s.Methods s.Dataset s.DataRoot s.Fraction s.Epochs (int64 seed) ]
              Methods = [ for m in s.Methods -> label m, paperNumber s.Dataset s.Fraction m ] }
            observer
            cancel

/// A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight
/// optimiser (configs/deep-mlp).
module DeepMlp =
    /// What `reproduce deep-mlp` runs.
    type Settings =
        { Dataset: string
          DataRoot: string option
          Fraction: float
          Seeds: int
          Epochs: int
          /// Inference steps of sPC and ePC (None: the configs').
          Steps: int option
          Out: string
          Device: DeviceChoice }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            Common.checkFraction this.Fraction
            Common.atLeast "seeds" 1 this.Seeds
            Common.atLeast "epochs" 1 this.Epochs
            this.Steps |> Option.iter (Common.atLeast "steps" 1)

    /// Fashion-MNIST, one seed, 5 epochs.
    let defaults = { Dataset = "fashion-mnist"; DataRoot = None; Fraction = 1.0; Seeds = 1; Epochs = 5; Steps = None; Out = "runs"; Device = DeviceChoice.Auto }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record
            [ Common.dataset (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
              Common.data (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
              Common.fraction (fun s -> s.Fraction) (fun v s -> { s with Fraction = v })
              Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
              Common.epochs (fun s -> s.Epochs) (fun v s -> { s with Epochs = v })
              Codec.field "steps" "inference steps of sPC and ePC (null: the configs')" (Codec.option Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v })
              Common.out (fun s -> s.Out) (fun v s -> { s with Out = v })
              Common.device (fun s -> s.Device) (fun v s -> { s with Device = v }) ]
        |> Codec.check (fun s -> s.Validate())

    let private methods = [ "BP", "bp"; "sPC", "spc"; "ePC", "epc" ]

    /// Runs the comparison.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Report =
        s.Validate()
        let runs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for label, file in methods ->
                      let cfg = Configs.train (sprintf "deep-mlp/%s.json" file) |> Common.withData s.Dataset s.DataRoot s.Fraction s.Epochs (int64 seed)
                      let cfg = if file = "bp" then cfg else Common.withSteps s.Steps cfg
                      label, { cfg with Name = sprintf "deep-mlp-%s-s%d" file seed } ]
        Table.run
            { Name = sprintf "deep-mlp-%s" s.Dataset
              Title = sprintf "20-layer MLP (width 128) on %s: %d epoch(s), %d seed(s); test accuracy %%" s.Dataset s.Epochs s.Seeds
              Dataset = s.Dataset
              DataRoot = s.DataRoot
              Device = s.Device
              Out = s.Out
              Runs = runs
              Methods = methods |> List.map (fun (l, _) -> l, None) }
            observer
            cancel

/// Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC
/// and under the standard parameterisation (configs/mupc).
module MuPC =
    /// What `reproduce mupc` runs.
    type Settings =
        { Dataset: string
          DataRoot: string option
          Fraction: float
          Epochs: int
          /// Numbers of weight layers.
          Depths: int list
          /// Inference steps (None: the configs').
          Steps: int option
          Out: string
          Device: DeviceChoice }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            Common.checkFraction this.Fraction
            Common.atLeast "epochs" 1 this.Epochs
            if this.Depths.IsEmpty then invalidArg "depths" "depths needs at least one depth"
            for d in this.Depths do Common.atLeast "depths" 3 d
            this.Steps |> Option.iter (Common.atLeast "steps" 1)

    /// Depths 8, 32 and 128, one epoch.
    let defaults = { Dataset = "fashion-mnist"; DataRoot = None; Fraction = 1.0; Epochs = 1; Depths = [ 8; 32; 128 ]; Steps = None; Out = "runs"; Device = DeviceChoice.Auto }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record
            [ Common.dataset (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
              Common.data (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
              Common.fraction (fun s -> s.Fraction) (fun v s -> { s with Fraction = v })
              Common.epochs (fun s -> s.Epochs) (fun v s -> { s with Epochs = v })
              Codec.field "depths" "numbers of weight layers" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
              Codec.field "steps" "inference steps (null: the configs')" (Codec.option Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v })
              Common.out (fun s -> s.Out) (fun v s -> { s with Out = v })
              Common.device (fun s -> s.Device) (fun v s -> { s with Device = v }) ]
        |> Codec.check (fun s -> s.Validate())

    /// Runs the comparison.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Report =
        s.Validate()
        let labels = [ for d in s.Depths do yield sprintf "muPC L=%d" d, "mupc", d; yield sprintf "SP L=%d" d, "sp", d ]
        let runs =
            [ for label, file, depth in labels ->
                  let cfg = Configs.train (sprintf "mupc/%s.json" file) |> Common.withData s.Dataset s.DataRoot s.Fraction s.Epochs 0L
                  let model = Config.changeModel { Config.ModelChanges.None with Layers = Some depth } (cfg.Architecture, cfg.Loss, cfg.WeightInit)
                  let arch, _, _ = model
                  label, Common.withSteps s.Steps { cfg with Name = sprintf "%s-L%d" file depth; Architecture = arch } ]
        Table.run
            { Name = sprintf "mupc-%s" s.Dataset
              Title = sprintf "Residual MLPs (width 128, ReLU) with sPC on %s, %d epoch(s): muPC vs standard parameterisation; test accuracy %%" s.Dataset s.Epochs
              Dataset = s.Dataset
              DataRoot = s.DataRoot
              Device = s.Device
              Out = s.Out
              Runs = runs
              Methods = labels |> List.map (fun (l, _, _) -> l, None) }
            observer
            cancel
