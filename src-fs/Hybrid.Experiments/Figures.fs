/// The figures of Pinchetti et al. on the paper's 5-layer MLP (the Table 1 configurations):
/// initializers against T (Fig. 2), T against the data fraction (Fig. 5), and the
/// training cost to reach a relative error of the best accuracy (Fig. 6 right, Table 3);
/// and the conv nets of the ePC paper. Each builds its runs and its tables and figures;
/// the runs themselves are the trials of a sweep (`Table.run`).
namespace Hybrid.Experiments

open System
open System.IO
open System.Threading
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Reporting

/// A grid of Table 1 runs: one row label per (name, T) cell, aggregated over seeds.
module internal Cells =
    let cellLabel (name: string) (steps: int) = sprintf "%s T=%d" name steps

    /// Mean ± std of best accuracies, as a cell.
    let cell (row: Table.Row) =
        let m, s = Table.meanStd row.Best
        if Double.IsNaN m then "-" else sprintf "%s ± %s" (m.ToString("F2", Report.culture)) (s.ToString("F2", Report.culture))

    /// A pivot table: one row per name, one column per T.
    let pivot (title: string) (names: string list) (steps: int list) (rows: Table.Row list) : ReportTable =
        let find n t = rows |> List.tryFind (fun r -> r.Method = cellLabel n t)
        { Title = title
          Header = "" :: [ for t in steps -> sprintf "T=%d" t ]
          Rows = [ for n in names -> n :: [ for t in steps -> match find n t with Some r -> cell r | None -> "-" ] ] }

    /// Mean best accuracy against T, one series per name.
    let accuracyVsSteps (path: string) (title: string) (names: string list) (steps: int list) (rows: Table.Row list) =
        let series =
            [ for n in names ->
                  let pts =
                      [ for t in steps do
                            match rows |> List.tryFind (fun r -> r.Method = cellLabel n t) with
                            | Some r when not r.Best.IsEmpty -> yield float t, List.average r.Best
                            | _ -> () ]
                  Plots.series n (List.map fst pts) (List.map snd pts) ]
        Plots.write (Plots.figure path title "inference steps T" "best test accuracy (%)" series)
        path

    /// The seed-mean test accuracy per epoch of each named run group, on one figure.
    let curves (path: string) (title: string) (groups: (string * TrainResult list) list) =
        let series =
            [ for name, results in groups do
                  let ok = results |> List.filter (fun r -> not r.Epochs.IsEmpty)
                  if not ok.IsEmpty then
                      let epochs = ok |> List.map (fun r -> r.Epochs.Length) |> List.min
                      let mean e = ok |> List.averageBy (fun r -> r.Epochs[e].TestAccuracy)
                      yield Plots.series name [ for e in 1 .. epochs -> float e ] [ for e in 0 .. epochs - 1 -> mean e ] ]
        Plots.write (Plots.figure path title "epoch" "test accuracy (%)" series)
        path

    /// The results of the runs labelled `label`.
    let results (outcome: Table.Outcome) (jobs: (string * TrainConfig) list) (label: string) =
        List.zip (jobs |> List.map fst) outcome.Runs
        |> List.choose (fun (l, r) -> if l = label then r |> Option.map (fun r -> r.Result) else None)

    /// A report of the table with extra tables, JSON fields and plots.
    let extend (outcome: Table.Outcome) (tables: ReportTable list) (fields: (string * JsonNode) list) (plots: string list) : Report =
        let r = Table.report outcome
        let json = r.Json :?> JsonObject
        for k, v in fields do json[k] <- v
        json["plots"] <- JsonArray(plots |> List.map Report.str |> Array.ofList)
        { r with
            Tables = tables @ r.Tables
            Lines = r.Lines @ [ for p in plots -> "plot: " + p ] }

/// Pinchetti et al., Fig. 2: every initializer at several T on the 5-layer MLP. The
/// paper's claim: forward initialisation is best at low T, and all meet at T = 100.
module Inits =
    /// The initializers: name, Table 1 config and, where it differs from the config's,
    /// the initializer (random N(0,1), zero, keep: the states of the last batch).
    let known =
        [ "forward", "pc-fw", None
          "random", "pc-fw", Some "random(0,1)"
          "zero", "pc-fw", Some "zero"
          "keep", "pc-fw", Some "keep"
          "avg", "pc-avg", None
          "mem", "pc-mem", None ]

    let private find (name: string) =
        match known |> List.tryFind (fun (n, _, _) -> n = name.Trim().ToLowerInvariant()) with
        | Some k -> k
        | None -> invalidArg "inits" (sprintf "unknown initializer '%s' (known: %s)" name (String.Join(", ", known |> List.map (fun (n, _, _) -> n))))

    /// What `reproduce inits` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          Inits: string list
          Steps: int list }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            if this.Inits.IsEmpty then invalidArg "inits" "inits needs at least one initializer"
            for i in this.Inits do find i |> ignore
            if this.Steps.IsEmpty then invalidArg "steps" "steps needs at least one value of T"
            for t in this.Steps do Common.atLeast "steps" 1 t

    /// The paper's grid: random, zero, keep and forward at T in {5, 10, 25, 50, 100}, 3 seeds,
    /// 16 epochs on all of Fashion-MNIST.
    let defaults =
        { Runs = Common.runs "fashion-mnist" 16; Seeds = 3; Inits = [ "random"; "zero"; "keep"; "forward" ]; Steps = [ 5; 10; 25; 50; 100 ] }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "inits" "Initializers: forward, random, zero, keep, avg, mem" (Codec.items Codec.string) (fun s -> s.Inits) (fun v s -> { s with Inits = v })
                Codec.field "steps" "Values of T" (Codec.items Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// The configuration of one cell.
    let config (runs: RunSettings) (init: string) (steps: int) (seed: int64) =
        let name, file, text = find init
        let cfg = Configs.train (Path.Combine(Table1.configFolder runs.Dataset, file + ".json")) |> Common.withRuns runs seed |> Common.withSteps (Some steps)
        let cfg =
            match text, cfg.Algorithm with
            | Some t, Algorithm.PredictiveCoding pc -> { cfg with Algorithm = Algorithm.PredictiveCoding { pc with Init = InitText.parse t } }
            | _ -> cfg
        { cfg with Name = sprintf "inits-%s-T%d-s%d" name steps seed }

    /// The outcome: the table of every cell and where its plots are.
    type Outcome = { Settings: Settings; Table: Table.Outcome; Jobs: (string * TrainConfig) list }

    /// Runs the grid.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Outcome =
        s.Validate()
        let r = s.Runs
        let inits = s.Inits |> List.map (fun i -> let n, _, _ = find i in n)
        let jobs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for i in inits do
                      for t in s.Steps -> Cells.cellLabel i t, config r i t (int64 seed) ]
        let table =
            Table.run
                { Name = sprintf "inits-%s-f%s" r.Dataset (r.Fraction.ToString(Report.culture))
                  Title = sprintf "Initializers x T (Pinchetti et al., Fig. 2): %s, fraction %g, %d seed(s), %d epoch(s); best test accuracy %%" r.Dataset r.Fraction s.Seeds r.Epochs
                  Settings = r
                  Jobs = jobs
                  Methods = [ for i in inits do for t in s.Steps -> Cells.cellLabel i t, None ] }
                observer
                cancel
        { Settings = s; Table = table; Jobs = jobs }

    /// The report: accuracy per initializer and T, accuracy against T, and the learning
    /// curves of every initializer at each T.
    let report (o: Outcome) : Report =
        let s = o.Settings
        let inits = s.Inits |> List.map (fun i -> let n, _, _ = find i in n)
        let rows = o.Table.Rows
        let plots =
            [ yield Cells.accuracyVsSteps (Path.Combine(o.Table.Folder, "accuracy-vs-T.png")) "Best test accuracy against T" inits s.Steps rows
              for t in s.Steps ->
                  Cells.curves (Path.Combine(o.Table.Folder, sprintf "curves-T%d.png" t)) (sprintf "Test accuracy per epoch, T = %d (mean over seeds)" t)
                      [ for i in inits -> i, Cells.results o.Table o.Jobs (Cells.cellLabel i t) ] ]
        let best = [ for t in s.Steps -> t, inits |> List.maxBy (fun i -> match rows |> List.tryFind (fun r -> r.Method = Cells.cellLabel i t) with Some r when not r.Best.IsEmpty -> List.average r.Best | _ -> -1.0) ]
        Cells.extend o.Table
            [ Cells.pivot "Best test accuracy (%), mean ± std over seeds: initializer x T" inits s.Steps rows ]
            [ "bestInitPerT", Report.object [ for t, i in best -> sprintf "T=%d" t, Report.str i ] ]
            plots

/// Pinchetti et al., Fig. 5: accuracy against small T for 25%, 50% and 100% of the data,
/// PC-fw against PC-avg. The paper's claim: PC-avg keeps its accuracy at low T where
/// PC-fw does not.
module Steps =
    /// What `reproduce steps` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          /// Table 1 methods (config names): pc-fw, pc-avg, pc-mem.
          Methods: string list
          Fractions: float list
          Steps: int list }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            if this.Methods.IsEmpty then invalidArg "methods" "methods needs at least one method"
            for m in this.Methods do
                if snd (Table1.method m) = "bp" then invalidArg "methods" "bp has no inference steps; use pc-fw, pc-avg or pc-mem"
            if this.Fractions.IsEmpty then invalidArg "fractions" "fractions needs at least one fraction"
            for f in this.Fractions do
                if not (f > 0.0 && f <= 1.0) then invalidArg "fractions" (sprintf "training fraction %g is outside (0,1]" f)
            if this.Steps.IsEmpty then invalidArg "steps" "steps needs at least one value of T"
            for t in this.Steps do Common.atLeast "steps" 1 t

    /// The paper's figure: PC-fw and PC-avg at T in {2..7} on 25%, 50% and 100% of
    /// Fashion-MNIST, 16 epochs, one seed.
    let defaults =
        { Runs = Common.runs "fashion-mnist" 16; Seeds = 1; Methods = [ "pc-fw"; "pc-avg" ]; Fractions = [ 0.25; 0.5; 1.0 ]; Steps = [ 2; 3; 4; 5; 6; 7 ] }

    /// The JSON form of the settings (the runs' own fraction is not used: `fractions` is).
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "methods" "Methods (configs/table1/NAME.json): pc-fw, pc-avg, pc-mem" (Codec.items Codec.string) (fun s -> s.Methods) (fun v s -> { s with Methods = v })
                Codec.field "fractions" "Fractions of the training set (fraction is not used)" (Codec.items Codec.float) (fun s -> s.Fractions) (fun v s -> { s with Fractions = v })
                Codec.field "steps" "Values of T" (Codec.items Codec.int) (fun s -> s.Steps) (fun v s -> { s with Steps = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// A row name: method and fraction.
    let rowName (label: string) (fraction: float) = sprintf "%s %g%%" label (fraction * 100.0)

    /// The outcome: the table of every cell.
    type Outcome = { Settings: Settings; Table: Table.Outcome; Jobs: (string * TrainConfig) list }

    /// Runs the grid.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Outcome =
        s.Validate()
        let r = s.Runs
        let names = [ for f in s.Fractions do for m in s.Methods -> rowName (Table1.label m) f, m, f ]
        let jobs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for name, m, f in names do
                      for t in s.Steps ->
                          let runs = { r with Fraction = f }
                          let cfg = Configs.train (Path.Combine(Table1.configFolder runs.Dataset, snd (Table1.method m) + ".json")) |> Common.withRuns runs (int64 seed) |> Common.withSteps (Some t)
                          Cells.cellLabel name t, { cfg with Name = sprintf "steps-%s-f%g-T%d-s%d" (snd (Table1.method m)) f t seed } ]
        let table =
            Table.run
                { Name = sprintf "steps-%s" r.Dataset
                  Title = sprintf "T against the data fraction (Pinchetti et al., Fig. 5): %s, %d seed(s), %d epoch(s); best test accuracy %%" r.Dataset s.Seeds r.Epochs
                  Settings = r
                  Jobs = jobs
                  Methods = [ for name, _, _ in names do for t in s.Steps -> Cells.cellLabel name t, None ] }
                observer
                cancel
        { Settings = s; Table = table; Jobs = jobs }

    /// The report: accuracy per method, fraction and T, and accuracy against T.
    let report (o: Outcome) : Report =
        let s = o.Settings
        let names = [ for f in s.Fractions do for m in s.Methods -> rowName (Table1.label m) f ]
        let plot = Cells.accuracyVsSteps (Path.Combine(o.Table.Folder, "accuracy-vs-T.png")) "Best test accuracy against T" names s.Steps o.Table.Rows
        Cells.extend o.Table [ Cells.pivot "Best test accuracy (%), mean ± std over seeds: method and fraction x T" names s.Steps o.Table.Rows ] [] [ plot ]

/// Pinchetti et al., Fig. 6 (right) and Table 3: the SMMs, updates and seconds each
/// method needs to first reach a test accuracy within a relative error of the best
/// accuracy any run reached. Test accuracy is measured every `EvalEvery` updates.
module Speed =
    /// The training time of Pinchetti et al., Table 3 (seconds on a GPU, 100% of the data):
    /// PC-fw and PC-avg, by dataset.
    let paperSeconds = Map.ofList [ "mnist", (4.71, 1.38); "kmnist", (2.82, 0.66); "fashion-mnist", (4.42, 2.19) ]

    /// What `reproduce speed` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          /// Table 1 methods (config names).
          Methods: string list
          /// Test accuracy is measured every this many updates.
          EvalEvery: int
          /// Relative errors in percent of the best accuracy.
          Errors: float list }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            if this.Methods.IsEmpty then invalidArg "methods" "methods needs at least one method"
            for m in this.Methods do Table1.method m |> ignore
            Common.atLeast "evalEvery" 1 this.EvalEvery
            if this.Errors.IsEmpty then invalidArg "errors" "errors needs at least one relative error"
            for e in this.Errors do
                if not (e > 0.0 && e < 100.0) then invalidArg "errors" (sprintf "a relative error is a percentage in (0,100), got %g" e)

    /// BP, PC-fw and PC-avg on all of Fashion-MNIST for 16 epochs, one seed, accuracy
    /// every 10 updates, relative errors 0.5, 1, 2 and 5%.
    let defaults =
        { Runs = Common.runs "fashion-mnist" 16; Seeds = 1; Methods = [ "bp"; "pc-fw"; "pc-avg" ]; EvalEvery = 10; Errors = [ 0.5; 1.0; 2.0; 5.0 ] }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "methods" "Methods (configs/table1/NAME.json): bp, pc-fw, pc-avg, pc-mem" (Codec.items Codec.string) (fun s -> s.Methods) (fun v s -> { s with Methods = v })
                Codec.field "evalEvery" "Measure test accuracy every this many updates" Codec.int (fun s -> s.EvalEvery) (fun v s -> { s with EvalEvery = v })
                Codec.field "errors" "Relative errors, in percent of the best accuracy" (Codec.items Codec.float) (fun s -> s.Errors) (fun v s -> { s with Errors = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// The first point of a curve (in training order) at or above `target`.
    let firstReaching (target: float) (curve: EvalPoint list) : EvalPoint option =
        curve |> List.tryFind (fun p -> p.TestAccuracy >= target)

    /// The cost of one method to reach one relative error: means over the runs that
    /// reached the target.
    type Reading =
        { Method: string
          /// Relative error in percent.
          Error: float
          /// The accuracy to reach: reference x (1 - error/100).
          Target: float
          /// Runs that reached it, of all runs.
          Reached: int
          Runs: int
          Smm: float option
          Updates: float option
          Seconds: float option }

    /// Readings for every method (its runs' curves) and relative error, against the
    /// reference accuracy.
    let read (reference: float) (errors: float list) (curves: (string * EvalPoint list list) list) : Reading list =
        [ for m, runs in curves do
              for e in errors ->
                  let target = reference * (1.0 - e / 100.0)
                  let hits = runs |> List.choose (firstReaching target)
                  let mean (f: EvalPoint -> float) = if hits.IsEmpty then None else Some(hits |> List.averageBy f)
                  { Method = m; Error = e; Target = target; Reached = hits.Length; Runs = runs.Length
                    Smm = mean (fun p -> float p.Smm); Updates = mean (fun p -> float p.Updates); Seconds = mean (fun p -> p.Seconds) } ]

    /// The outcome: the accuracy table, every run's curve and the readings.
    type Outcome =
        { Settings: Settings
          Table: Table.Outcome
          /// Per method: each run's evaluation points.
          Curves: (string * EvalPoint list list) list
          /// The best accuracy any run reached (at any evaluation point).
          Reference: float
          Readings: Reading list }

    /// Runs every method and reads the cost to each relative error.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Outcome =
        s.Validate()
        let r = s.Runs
        let jobs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for label, cfg in Table1.configs s.Methods r (int64 seed) -> label, { cfg with EvalEvery = s.EvalEvery; Name = "speed-" + cfg.Name } ]
        let labels = s.Methods |> List.map Table1.label
        let table =
            Table.run
                { Name = sprintf "speed-%s-f%s" r.Dataset (r.Fraction.ToString(Report.culture))
                  Title = sprintf "Speed (Pinchetti et al., Fig. 6 right, Table 3): %s, fraction %g, %d seed(s), %d epoch(s); test accuracy %%" r.Dataset r.Fraction s.Seeds r.Epochs
                  Settings = r
                  Jobs = jobs
                  Methods = [ for m in s.Methods -> Table1.label m, Table1.paperNumber r.Dataset r.Fraction m ] }
                observer
                cancel
        let curves =
            [ for l in labels -> l, Cells.results table jobs l |> List.filter (fun res -> res.Status = RunStatus.Completed) |> List.map (fun res -> res.Evaluations) ]
        let all = curves |> List.collect snd |> List.concat
        let reference = if all.IsEmpty then nan else all |> List.map (fun p -> p.TestAccuracy) |> List.max
        { Settings = s; Table = table; Curves = curves; Reference = reference
          Readings = if all.IsEmpty then [] else read reference s.Errors curves }

    let private opt (digits: string) (x: float option) = match x with Some v -> v.ToString(digits, Report.culture) | None -> "-"

    /// The report: the cost to each relative error per method, the accuracy table, and
    /// accuracy against SMMs and against seconds.
    let report (o: Outcome) : Report =
        let s = o.Settings
        let plot (file: string) (x: EvalPoint -> float) (xLabel: string) =
            let path = Path.Combine(o.Table.Folder, file)
            let series =
                [ for m, runs in o.Curves do
                      for i, pts in List.indexed runs ->
                          Plots.series (if runs.Length = 1 then m else sprintf "%s seed %d" m i) (pts |> List.map x) (pts |> List.map (fun p -> p.TestAccuracy)) ]
            Plots.write (Plots.figure path (sprintf "Test accuracy against %s" xLabel) xLabel "test accuracy (%)" series)
            path
        let plots =
            if o.Curves |> List.forall (fun (_, runs) -> runs.IsEmpty) then []
            else [ plot "accuracy-vs-smm.png" (fun p -> float p.Smm) "SMMs"; plot "accuracy-vs-seconds.png" (fun p -> p.Seconds) "training seconds" ]
        let paper = paperSeconds |> Map.tryFind s.Runs.Dataset |> Option.filter (fun _ -> s.Runs.Fraction = 1.0)
        let table =
            { Title = sprintf "Cost to first reach (1 - e) x %s%% (the best accuracy of any run), mean over the runs that reached it" (o.Reference.ToString("F2", Report.culture))
              Header = [ "method"; "e (%)"; "target (%)"; "reached"; "SMMs"; "updates"; "seconds" ]
              Rows =
                [ for r in o.Readings ->
                      [ r.Method; r.Error.ToString("G", Report.culture); r.Target.ToString("F2", Report.culture); sprintf "%d/%d" r.Reached r.Runs
                        opt "F0" r.Smm; opt "F0" r.Updates; opt "F2" r.Seconds ] ] }
        let readingJson (r: Reading) =
            Report.object
                [ "method", Report.str r.Method
                  "error", Report.num r.Error
                  "target", Report.num r.Target
                  "reached", Report.int r.Reached
                  "runs", Report.int r.Runs
                  "smm", Report.optional r.Smm
                  "updates", Report.optional r.Updates
                  "seconds", Report.optional r.Seconds ]
            :> JsonNode
        let rep =
            Cells.extend o.Table [ table ]
                [ "reference", Report.number o.Reference
                  "evalEvery", Report.int s.EvalEvery
                  "readings", JsonArray(o.Readings |> List.map readingJson |> Array.ofList)
                  "paperSeconds",
                  (match paper with
                   | Some(fw, avg) -> Report.object [ "PC-fw", Report.num fw; "PC-avg", Report.num avg ]
                   | None -> null) ]
                plots
        match paper with
        | Some(fw, avg) ->
            { rep with
                Lines = rep.Lines @ [ sprintf "paper, Table 3 (GPU, time to the best shared accuracy): PC-fw %gs, PC-avg %gs; ratio %.2f" fw avg (fw / avg) ] }
        | None -> rep

/// Conv nets under BP, sPC and ePC (the ePC paper's CIFAR-10 table): VGG-5, VGG-7 and
/// ResNet-18 with the paper's setup (configs/conv: batch 256, GELU, cross-entropy; ePC
/// T = 5 with error step 1e-3, sPC T = 8). The paper's claim: ePC keeps up with BP as
/// the nets deepen, and sPC falls behind. `Divisor` narrows every layer (1: the paper's
/// widths), so that the comparison fits a small machine.
module Conv =
    /// The ePC paper's test accuracies on CIFAR-10 (cross-entropy): BP, sPC, ePC per model.
    let paper = Map.ofList [ "vgg5", (87.95, 84.66, 88.27); "vgg7", (89.60, 77.98, 88.84); "resnet18", (91.85, 43.19, 91.73) ]

    let private models = [ "vgg5", "VGG-5"; "vgg7", "VGG-7"; "resnet18", "ResNet-18" ]
    let private methods = [ "bp", "BP"; "spc", "sPC"; "epc", "ePC" ]

    let private label (known: (string * string) list) (what: string) (name: string) =
        match known |> List.tryFind (fun (k, _) -> k = name.Trim().ToLowerInvariant()) with
        | Some(_, l) -> l
        | None -> invalidArg what (sprintf "unknown %s '%s' (known: %s)" (what.TrimEnd 's') name (String.Join(", ", known |> List.map fst)))

    /// What `reproduce conv` runs.
    type Settings =
        { Runs: RunSettings
          Seeds: int
          /// vgg5, vgg7, resnet18.
          Models: string list
          /// bp, spc, epc (configs/conv/NAME.json).
          Methods: string list
          /// Every layer's channels are divided by this (1: the paper's widths).
          Divisor: int }

        /// Checks the settings; the message names the field.
        member this.Validate() =
            this.Runs.Validate()
            Common.atLeast "seeds" 1 this.Seeds
            if this.Models.IsEmpty then invalidArg "models" "models needs at least one model"
            for m in this.Models do label models "models" m |> ignore
            if this.Methods.IsEmpty then invalidArg "methods" "methods needs at least one method"
            for m in this.Methods do label methods "methods" m |> ignore
            Common.atLeast "divisor" 1 this.Divisor
            if 64 % this.Divisor <> 0 then invalidArg "divisor" (sprintf "divisor must divide 64 (the narrowest layer), got %d" this.Divisor)

    /// The paper's table: the three models under BP, sPC and ePC on CIFAR-10 at full
    /// width, one seed, 10 epochs.
    let defaults = { Runs = Common.runs "cifar10" 10; Seeds = 1; Models = List.map fst models; Methods = List.map fst methods; Divisor = 1 }

    /// The JSON form of the settings.
    let codec: Codec<Settings> =
        Codec.record (
            Common.tableFields (fun s -> s.Runs) (fun v s -> { s with Runs = v })
            @ [ Common.seeds (fun s -> s.Seeds) (fun v s -> { s with Seeds = v })
                Codec.field "models" "Models: vgg5, vgg7, resnet18" (Codec.items Codec.string) (fun s -> s.Models) (fun v s -> { s with Models = v })
                Codec.field "methods" "Methods (configs/conv/NAME.json): bp, spc, epc" (Codec.items Codec.string) (fun s -> s.Methods) (fun v s -> { s with Methods = v })
                Codec.field "divisor" "Divide every layer's channels by this (1: the paper's widths; it must divide 64)" Codec.int (fun s -> s.Divisor) (fun v s -> { s with Divisor = v }) ])
        |> Codec.check (fun s -> s.Validate())

    /// A model's architecture, narrowed by `divisor`.
    let architecture (model: string) (divisor: int) (act: Activation) =
        let narrow (a: Architecture) =
            match a with
            | Architecture.ConvNet(cs, ds, a) -> Architecture.ConvNet(cs |> List.map (fun c -> { c with Channels = c.Channels / divisor }), ds, a)
            | a -> a
        match model.Trim().ToLowerInvariant() with
        | "vgg5" -> narrow (Architecture.Vgg5 act)
        | "vgg7" -> narrow (Architecture.Vgg7 act)
        | _ -> Architecture.ResNet18(64 / divisor, act)

    /// A row label: model and method.
    let rowLabel (model: string) (methodName: string) = sprintf "%s %s" (label models "models" model) (label methods "methods" methodName)

    /// The outcome: the table of every run.
    type Outcome = { Settings: Settings; Table: Table.Outcome }

    /// Runs every model under every method.
    let run (s: Settings) (observer: Observer) (cancel: CancellationToken) : Outcome =
        s.Validate()
        let r = s.Runs
        let jobs =
            [ for seed in 0 .. s.Seeds - 1 do
                  for model in s.Models do
                      for m in s.Methods ->
                          let cfg = Configs.train (sprintf "conv/%s.json" (m.Trim().ToLowerInvariant())) |> Common.withRuns r (int64 seed)
                          let act = match cfg.Architecture with Architecture.ConvNet(_, _, a) | Architecture.ResNet18(_, a) -> a | _ -> Activation.Gelu
                          rowLabel model m,
                          { cfg with
                              Architecture = architecture model s.Divisor act
                              Name = sprintf "conv-%s-%s-d%d-s%d" (model.Trim().ToLowerInvariant()) (m.Trim().ToLowerInvariant()) s.Divisor seed } ]
        let paperFor (model: string) (m: string) =
            if r.Dataset = "cifar10" && s.Divisor = 1 then
                paper |> Map.tryFind (model.Trim().ToLowerInvariant())
                |> Option.map (fun (bp, spc, epc) -> match m.Trim().ToLowerInvariant() with "bp" -> bp | "spc" -> spc | _ -> epc)
            else None
        let table =
            Table.run
                { Name = sprintf "conv-%s-d%d" r.Dataset s.Divisor
                  Title = sprintf "Conv nets under BP, sPC and ePC: %s, fraction %g, channels / %d, %d seed(s), %d epoch(s); test accuracy %%" r.Dataset r.Fraction s.Divisor s.Seeds r.Epochs
                  Settings = r
                  Jobs = jobs
                  Methods = [ for model in s.Models do for m in s.Methods -> rowLabel model m, paperFor model m ] }
                observer
                cancel
        { Settings = s; Table = table }

    /// The report: best accuracy per model and method, each PC method's gap to BP beside
    /// the paper's (CIFAR-10), and the table of every run.
    let report (o: Outcome) : Report =
        let s = o.Settings
        let best model m =
            o.Table.Rows |> List.tryFind (fun r -> r.Method = rowLabel model m) |> Option.bind (fun r -> if r.Best.IsEmpty then None else Some(List.average r.Best))
        let f (x: float option) = match x with Some v -> v.ToString("F2", Report.culture) | None -> "-"
        let gap model m = match best model m, best model "bp" with Some a, Some b -> Some(a - b) | _ -> None
        let paperGap (model: string) (m: string) =
            paper |> Map.tryFind (model.Trim().ToLowerInvariant())
            |> Option.map (fun (bp, spc, epc) -> (if m = "spc" then spc else epc) - bp)
        let has m = s.Methods |> List.exists (fun x -> x.Trim().ToLowerInvariant() = m)
        let pcs = [ "spc"; "epc" ] |> List.filter has
        let signed (x: float option) = match x with Some v -> v.ToString("+0.00;-0.00", Report.culture) | None -> "-"
        let table =
            { Title = "Best test accuracy (%) per model, mean over seeds; PC minus BP, ours and the paper's (CIFAR-10, full width)"
              Header =
                "model" :: [ for m in s.Methods -> label methods "methods" m ]
                @ [ for m in pcs do
                        yield sprintf "%s - BP" (label methods "methods" m)
                        yield sprintf "paper %s - BP" (label methods "methods" m) ]
              Rows =
                [ for model in s.Models ->
                      label models "models" model :: [ for m in s.Methods -> f (best model m) ]
                      @ [ for m in pcs do
                              yield signed (gap model m)
                              yield signed (paperGap model m) ] ] }
        let gaps =
            Report.object
                [ for model in s.Models ->
                      model.Trim().ToLowerInvariant(),
                      Report.object [ for m in pcs -> m + "MinusBp", (match gap model m with Some v -> Report.num v | None -> null) ] :> JsonNode ]
        Cells.extend o.Table [ table ] [ "divisor", Report.int s.Divisor; "gaps", gaps ] []
