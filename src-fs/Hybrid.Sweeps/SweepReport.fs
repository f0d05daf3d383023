/// What a sweep shows: creating it from a spec, its status while workers run, the
/// report a paper can quote (the best configuration per group and method with mean
/// and standard deviation over seeds, Welch t-tests between the methods of a group,
/// CSV, JSON and plots of the metric against each axis), and the chosen
/// configurations exported as configuration files.
module Hybrid.Sweeps.SweepReport

open System
open System.IO
open System.Text
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Reporting
open Hybrid.Sweeps.Store

let private j = Report.object
let private f2 (x: float) = x.ToString("0.00", Report.culture)
let private culture = Report.culture
let private table title header rows : ReportTable = { Title = title; Header = header; Rows = rows }

/// A sweep stored by `create`.
type Created = { Name: string; Trials: int; Created: bool; Methods: string list; Storage: string }

/// Expands a spec file into trials and stores them (a sweep of the same name and
/// spec already there is left as it is). `name` replaces the spec's name.
let create (store: SweepStore) (specPath: string) (name: string option) : Created * Report =
    let spec = Spec.load specPath
    let spec =
        match name with
        | Some n ->
            Spec.parse "" (Codec.writeText (let o = Spec.toJson spec in o["name"] <- n; o))
        | None -> spec
    let trials = Spec.expand spec
    let text = Codec.writeText (Spec.toJson spec)
    let created = store.Create(spec.Name, text, trials)
    let c = { Name = spec.Name; Trials = trials.Length; Created = created; Methods = spec.Methods |> List.map (fun m -> m.Name); Storage = store.Where }
    let line =
        if created then sprintf "sweep %s: %d trials in %s (methods: %s)" c.Name c.Trials c.Storage (String.Join(", ", c.Methods))
        else sprintf "sweep %s already in %s with this spec (%d trials); nothing was changed" c.Name c.Storage c.Trials
    let json = j [ "sweep", Report.str c.Name; "trials", Report.int c.Trials; "created", Report.bool created; "storage", Report.str c.Storage; "methods", Report.strings c.Methods ]
    c, { Report.ofJson json with Lines = [ line ] }

// ---- status ----

/// Counts of a sweep's trials by status, and an estimate of the time left.
type Progress =
    { Sweep: string
      Total: int
      Counts: (string * int) list
      /// Seconds left at the current pace (None before any trial ends).
      Eta: float option }

/// A sweep's progress from its trials.
let progress (sweep: string) (trials: TrialRow list) : Progress =
    let count s = trials |> List.filter (fun t -> t.Status = s) |> List.length
    let ended = trials |> List.filter (fun t -> t.Seconds.IsSome && t.Status <> Status.Running)
    let running = count Status.Running
    let eta =
        if ended.IsEmpty then None
        else
            let mean = ended |> List.averageBy (fun t -> t.Seconds.Value)
            let left = float (count Status.Pending) + 0.5 * float running
            Some(mean * left / float (max 1 running))
    { Sweep = sweep; Total = trials.Length; Counts = [ for s in Status.all -> s, count s ]; Eta = eta }

let private duration (s: float) =
    let t = TimeSpan.FromSeconds(max 0.0 s)
    if t.TotalHours >= 1.0 then sprintf "%dh%02dm" (int t.TotalHours) t.Minutes
    elif t.TotalMinutes >= 1.0 then sprintf "%dm%02ds" t.Minutes t.Seconds
    else sprintf "%.0fs" t.TotalSeconds

/// The status of a sweep: counts, running trials (worker, epoch, lease), failures with their errors, ETA.
let status (store: SweepStore) (sweep: string option) : Report =
    let row = Worker.pickSweep store sweep
    let trials = store.Trials row.Name
    let now = store.Now()
    let p = progress row.Name trials
    let running = trials |> List.filter (fun t -> t.Status = Status.Running)
    let bad = trials |> List.filter (fun t -> t.Status = Status.Failed || t.Status = Status.Diverged)
    let counts = table (sprintf "Sweep %s (%s)" row.Name store.Where) [ "status"; "trials" ] [ for s, n in p.Counts -> [ s; string n ] ]
    let runningTable =
        table "Running" [ "trial"; "method"; "configuration"; "seed"; "worker"; "epochs done"; "for"; "lease" ]
            [ for t in running ->
                  [ string t.Index; t.Method; t.Key; string t.Seed; defaultArg t.Worker ""; string t.Epochs
                    (match t.Started with Some s -> duration (now - s) | None -> "")
                    (match t.LeaseUntil with Some l when l >= now -> sprintf "%s left" (duration (l - now)) | Some _ -> "expired" | None -> "") ] ]
    let badTable =
        table "Failed or diverged" [ "trial"; "status"; "attempts"; "error" ] [ for t in bad -> [ string t.Index; t.Status; string t.Attempts; defaultArg t.Error "" ] ]
    // What workers rode out or stopped on: storage outages, and environments that failed
    // (the trial given back), most recent last.
    let incidents =
        store.Events row.Name
        |> List.filter (fun e -> e.Event = "outage" || e.Event = "environment")
    let incidentTable =
        table "Worker incidents (storage outages ridden out; workers stopped by their environment)" [ "when"; "worker"; "event"; "trial"; "detail" ]
            [ for e in List.rev incidents |> List.truncate 10 |> List.rev ->
                  [ sprintf "%s ago" (duration (now - e.At)); e.Worker; e.Event; (if e.Index >= 0 then string e.Index else "-"); defaultArg e.Detail "" ] ]
    let json =
        j [ "sweep", Report.str row.Name
            "storage", Report.str store.Where
            "total", Report.int p.Total
            "counts", j [ for s, n in p.Counts -> s, Report.int n ]
            "etaSeconds", Report.optional p.Eta
            "running",
            JsonArray(
                running
                |> List.map (fun t ->
                    j [ "trial", Report.int t.Index; "worker", Report.str (defaultArg t.Worker ""); "epochs", Report.int t.Epochs
                        "leaseSeconds", Report.optional (t.LeaseUntil |> Option.map (fun l -> l - now)) ] :> JsonNode)
                |> Array.ofList)
            "failed",
            JsonArray(bad |> List.map (fun t -> j [ "trial", Report.int t.Index; "status", Report.str t.Status; "error", Report.str (defaultArg t.Error "") ] :> JsonNode) |> Array.ofList)
            "incidents",
            JsonArray(
                incidents
                |> List.map (fun e ->
                    j [ "at", Report.num e.At; "worker", Report.str e.Worker; "event", Report.str e.Event
                        "trial", (if e.Index >= 0 then Report.int e.Index else null); "detail", Report.str (defaultArg e.Detail "") ] :> JsonNode)
                |> Array.ofList) ]
    let eta =
        match p.Eta with
        | Some e when p.Counts |> List.exists (fun (s, n) -> (s = Status.Pending || s = Status.Running) && n > 0) -> sprintf "about %s left at the current pace" (duration e)
        | _ when p.Counts |> List.forall (fun (s, n) -> (s <> Status.Pending && s <> Status.Running) || n = 0) -> "every trial has ended"
        | _ -> "no trial has ended yet (no estimate)"
    { Report.ofJson json with
        Tables =
            [ yield counts
              if not running.IsEmpty then yield runningTable
              if not bad.IsEmpty then yield badTable
              if not incidents.IsEmpty then yield incidentTable ]
        Lines = [ eta ] }

// ---- report ----

/// A configuration's results over seeds.
type Cell = { Key: string; Values: float list; Seeds: int64 list; Trials: TrialRow list; Mean: float; Std: float }

/// The best configuration of a method in a group, and every configuration it was chosen from.
type MethodResult = { Method: string; Best: Cell option; Cells: Cell list; Completed: int; Pruned: int; Failed: int }

/// A Welch t-test between the best configurations of two methods of a group.
type Comparison = { A: string; B: string; Test: Stats.Welch option }

/// A group of the report.
type GroupResult = { Group: string; Methods: MethodResult list; Comparisons: Comparison list }

/// Groups, methods and their best configurations, from a sweep's trials: only
/// completed trials count (pruned ones stopped early, failed ones have no metric).
let analyse (spec: Spec.SweepSpec) (trials: TrialRow list) : GroupResult list =
    let better a b = match spec.Direction with Spec.Direction.Maximize -> a > b | Spec.Direction.Minimize -> a < b
    let groups = trials |> List.map (fun t -> t.Group) |> List.distinct
    [ for g in groups ->
          let inGroup = trials |> List.filter (fun t -> t.Group = g)
          let methods =
              [ for m in inGroup |> List.map (fun t -> t.Method) |> List.distinct ->
                    let ts = inGroup |> List.filter (fun t -> t.Method = m)
                    let ok = ts |> List.filter (fun t -> t.Status = Status.Completed && t.Metric.IsSome)
                    let cells =
                        [ for key in ok |> List.map (fun t -> t.Key) |> List.distinct ->
                              let cts = ok |> List.filter (fun t -> t.Key = key)
                              let vs = cts |> List.map (fun t -> t.Metric.Value)
                              { Key = key; Values = vs; Seeds = cts |> List.map (fun t -> t.Seed); Trials = cts; Mean = Stats.mean vs; Std = Stats.std vs } ]
                    let best = cells |> List.fold (fun (acc: Cell option) c -> match acc with Some b when not (better c.Mean b.Mean) -> acc | _ -> Some c) None
                    { Method = m
                      Best = best
                      Cells = cells
                      Completed = ok.Length
                      Pruned = ts |> List.filter (fun t -> t.Status = Status.Pruned) |> List.length
                      Failed = ts |> List.filter (fun t -> t.Status = Status.Failed || t.Status = Status.Diverged) |> List.length } ]
          let comparisons =
              [ for i, a in List.indexed methods do
                    for b in List.skip (i + 1) methods do
                        match a.Best, b.Best with
                        | Some x, Some y -> yield { A = a.Method; B = b.Method; Test = Stats.welch x.Values y.Values }
                        | _ -> () ]
          { Group = g; Methods = methods; Comparisons = comparisons } ]

let private csvCell (s: string) = if s.IndexOfAny([| ','; '"'; '\n' |]) >= 0 then "\"" + s.Replace("\"", "\"\"") + "\"" else s
let private csv (header: string list) (rows: string list list) =
    let sb = StringBuilder()
    for r in header :: rows do sb.Append(String.Join(",", r |> List.map csvCell)).Append('\n') |> ignore
    sb.ToString()

let private opt (x: float option) = match x with Some v -> v.ToString("R", culture) | None -> ""

/// A file-name-safe form of text.
let safeName (s: string) =
    let cs = s.ToCharArray() |> Array.map (fun c -> if Char.IsLetterOrDigit c || c = '-' || c = '.' then c else '_')
    let name = String(cs).Trim('_').TrimStart('.')
    // File systems take 255 bytes a name: a long one is cut and keeps a hash of the whole.
    if Text.Encoding.UTF8.GetByteCount name <= 120 then name
    else
        let hash = Convert.ToHexString(Security.Cryptography.SHA256.HashData(Text.Encoding.UTF8.GetBytes s)).Substring(0, 8).ToLowerInvariant()
        String(name.ToCharArray() |> Array.filter (fun c -> c < '\u0080') |> Array.truncate 100) + "-" + hash

/// Plots of the metric against each axis (one series per method, one point per
/// completed trial); categorical axes are numbered in order of appearance.
let private plots (spec: Spec.SweepSpec) (trials: TrialRow list) (folder: string) : string list =
    let axes =
        (spec.Axes @ (spec.Methods |> List.collect (fun m -> m.Axes)))
        |> List.distinctBy (fun a -> a.Path)
    let ok = trials |> List.filter (fun t -> t.Status = Status.Completed && t.Metric.IsSome)
    let configs = ok |> List.map (fun t -> t, JsonNode.Parse t.Config)
    [ for a in axes do
          let values = configs |> List.choose (fun (t, c) -> Spec.valueAt c a.Path |> Option.map (fun v -> t, v))
          if not values.IsEmpty then
              let numeric = values |> List.forall (fun (_, v) -> match v with :? JsonValue as x -> x.GetValueKind() = Text.Json.JsonValueKind.Number | _ -> false)
              let categories = values |> List.map (fun (_, v) -> Spec.text v) |> List.distinct
              let logX =
                  numeric
                  && (match a with
                      | Spec.Axis.Random(_, Spec.Range.LogUniform _) -> true
                      | _ ->
                          let xs = values |> List.map (fun (_, v) -> Spec.toFloat v)
                          List.min xs > 0.0 && List.max xs / List.min xs >= 30.0)
              let x (v: JsonNode) =
                  if numeric then (let f = Spec.toFloat v in if logX then log10 f else f)
                  else float (List.findIndex ((=) (Spec.text v)) categories)
              let series =
                  [ for m in values |> List.map (fun (t, _) -> t.Method) |> List.distinct ->
                        let pts = values |> List.filter (fun (t, _) -> t.Method = m)
                        { Plots.series m (pts |> List.map (snd >> x)) (pts |> List.map (fun (t, _) -> t.Metric.Value)) with Markers = true; LineWidth = 0.0f } ]
              let xLabel =
                  if numeric then (if logX then sprintf "log10 %s" a.Path else a.Path)
                  else sprintf "%s (%s)" a.Path (String.Join(", ", categories |> List.mapi (fun i c -> sprintf "%d=%s" i c)))
              let path = Path.Combine(folder, sprintf "%s-vs-%s.png" (string spec.Metric) (safeName a.Path))
              Plots.write (Plots.figure path (sprintf "%s: %s against %s" spec.Name (string spec.Metric) a.Path) xLabel (string spec.Metric) series)
              yield path ]

/// The report of a sweep. With `folder`, also writes report.json, best.csv (one
/// row per group and method), trials.csv (every trial) and plots of the metric
/// against each axis there.
let report (store: SweepStore) (sweep: string option) (folder: string option) : Report =
    let row = Worker.pickSweep store sweep
    let spec = Worker.specOf row
    let trials = store.Trials row.Name
    let groups = analyse spec trials
    let p = progress row.Name trials
    // One seed has no spread to show.
    let cellText (c: Cell) = if c.Values.Length < 2 then sprintf "%s (1 seed)" (f2 c.Mean) else sprintf "%s ± %s" (f2 c.Mean) (f2 c.Std)
    let bestRows =
        [ for g in groups do
              for m in g.Methods ->
                  match m.Best with
                  | Some b -> [ g.Group; m.Method; b.Key; cellText b; string b.Values.Length; sprintf "%d/%d/%d" m.Completed m.Pruned m.Failed ]
                  | None -> [ g.Group; m.Method; "-"; "-"; "0"; sprintf "%d/%d/%d" m.Completed m.Pruned m.Failed ] ]
    let header = [ "group"; "method"; "best configuration"; sprintf "%s (mean ± std)" (string spec.Metric); "seeds"; "completed/pruned/failed" ]
    let header, bestRows =
        if spec.Groups.IsEmpty then List.tail header, bestRows |> List.map List.tail else header, bestRows
    let tests =
        [ for g in groups do
              for c in g.Comparisons ->
                  let diff =
                      let a = (g.Methods |> List.find (fun m -> m.Method = c.A)).Best.Value
                      let b = (g.Methods |> List.find (fun m -> m.Method = c.B)).Best.Value
                      a.Mean - b.Mean
                  match c.Test with
                  | Some w -> [ g.Group; sprintf "%s vs %s" c.A c.B; f2 diff; w.T.ToString("0.00", culture); w.Df.ToString("0.0", culture); w.P.ToString("0.0000", culture) ]
                  | None -> [ g.Group; sprintf "%s vs %s" c.A c.B; f2 diff; "-"; "-"; "- (needs 2 seeds each, with spread)" ] ]
    let testHeader = [ "group"; "methods"; "difference"; "t"; "df"; "p (two-sided)" ]
    let testHeader, tests = if spec.Groups.IsEmpty then List.tail testHeader, tests |> List.map List.tail else testHeader, tests
    let cellJson (c: Cell) =
        j [ "configuration", Report.str c.Key
            "mean", Report.num c.Mean
            "std", Report.num c.Std
            "values", JsonArray(c.Values |> List.map (fun v -> Report.num v) |> Array.ofList)
            "seeds", JsonArray(c.Seeds |> List.map (fun s -> Report.long s) |> Array.ofList)
            "trials", JsonArray(c.Trials |> List.map (fun t -> Report.int t.Index) |> Array.ofList) ]
    let json =
        j [ "sweep", Report.str row.Name
            "storage", Report.str store.Where
            "metric", Report.str (string spec.Metric)
            "direction", Report.str (string spec.Direction)
            "counts", j [ for s, n in p.Counts -> s, Report.int n ]
            "groups",
            JsonArray(
                groups
                |> List.map (fun g ->
                    j [ "group", Report.str g.Group
                        "methods",
                        JsonArray(
                            g.Methods
                            |> List.map (fun m ->
                                j [ "method", Report.str m.Method
                                    "best", (match m.Best with Some b -> cellJson b :> JsonNode | None -> null)
                                    "completed", Report.int m.Completed
                                    "pruned", Report.int m.Pruned
                                    "failed", Report.int m.Failed
                                    "configurations", JsonArray(m.Cells |> List.map (fun c -> cellJson c :> JsonNode) |> Array.ofList) ] :> JsonNode)
                            |> Array.ofList)
                        "welch",
                        JsonArray(
                            g.Comparisons
                            |> List.map (fun c ->
                                j [ "a", Report.str c.A
                                    "b", Report.str c.B
                                    "t", (match c.Test with Some w -> Report.num w.T | None -> null)
                                    "df", (match c.Test with Some w -> Report.num w.Df | None -> null)
                                    "p", (match c.Test with Some w -> Report.num w.P | None -> null) ] :> JsonNode)
                            |> Array.ofList) ] :> JsonNode)
                |> Array.ofList)
            "trials",
            JsonArray(
                trials
                |> List.map (fun t ->
                    j [ "trial", Report.int t.Index; "method", Report.str t.Method; "group", Report.str t.Group; "configuration", Report.str t.Key
                        "seed", Report.long t.Seed; "status", Report.str t.Status; "metric", Report.optional t.Metric; "epochs", Report.int t.Epochs
                        "seconds", Report.optional t.Seconds ] :> JsonNode)
                |> Array.ofList) ]
    let written =
        match folder with
        | None -> []
        | Some dir ->
            Directory.CreateDirectory dir |> ignore
            let file name = Path.Combine(dir, name)
            Report.writeJson (file "report.json") json
            AtomicFile.writeText (file "best.csv") (csv header bestRows)
            AtomicFile.writeText (file "trials.csv")
                (csv [ "trial"; "method"; "group"; "configuration"; "seed"; "status"; string spec.Metric; "epochs"; "seconds"; "attempts"; "error" ]
                    [ for t in trials ->
                          [ string t.Index; t.Method; t.Group; t.Key; string t.Seed; t.Status; opt t.Metric; string t.Epochs; opt t.Seconds
                            string t.Attempts; defaultArg t.Error "" ] ])
            [ file "report.json"; file "best.csv"; file "trials.csv" ] @ plots spec trials dir
    let counts = String.Join(", ", p.Counts |> List.filter (fun (_, n) -> n > 0) |> List.map (fun (s, n) -> sprintf "%d %s" n s))
    { Report.ofJson json with
        Tables =
            [ yield table (sprintf "Sweep %s: best configuration per %s (%s, %s)" row.Name (if spec.Groups.IsEmpty then "method" else "group and method") (string spec.Metric) (string spec.Direction)) header bestRows
              if not tests.IsEmpty then yield table "Welch t-tests between the methods' best configurations" testHeader tests ]
        Lines = [ yield sprintf "%d trials: %s" p.Total counts
                  for f in written -> sprintf "wrote %s" f ]
        Notes =
            [ if p.Counts |> List.exists (fun (s, n) -> (s = Status.Pending || s = Status.Running) && n > 0) then
                  yield "the sweep is not finished: this report covers the trials completed so far" ] }

// ---- export ----

/// Writes the best configuration of each method (and group) as a configuration file
/// that `hybrid train --config` reads (the seed of its first trial); returns the files.
let export (store: SweepStore) (sweep: string option) (folder: string) : string list =
    let row = Worker.pickSweep store sweep
    let spec = Worker.specOf row
    let trials = store.Trials row.Name
    let groups = analyse spec trials
    if groups |> List.forall (fun g -> g.Methods |> List.forall (fun m -> m.Best.IsNone)) then
        let p = progress row.Name trials
        let counts = String.Join(", ", p.Counts |> List.filter (fun (_, n) -> n > 0) |> List.map (fun (s, n) -> sprintf "%d %s" n s))
        raise (InvalidDataException(sprintf "sweep %s has no completed trial to export (%s); nothing was written" row.Name counts))
    // Names that read the same once made safe for files (a/b and a_b) are told apart by a number.
    let taken = Collections.Generic.HashSet<string>(StringComparer.OrdinalIgnoreCase)
    let unique (name: string) =
        let rec go k =
            let n = if k = 1 then name else sprintf "%s-%d" name k
            if taken.Add n then n else go (k + 1)
        go 1
    Directory.CreateDirectory folder |> ignore
    [ for g in groups do
          for m in g.Methods do
              match m.Best with
              | Some b ->
                  let t = b.Trials.Head
                  let cfg = Config.parse t.Config Config.defaults
                  let name = if g.Group = "" then sprintf "%s-%s" row.Name m.Method else sprintf "%s-%s-%s" row.Name m.Method g.Group
                  let file = unique (safeName name)
                  let cfg = { cfg with Name = file }
                  let path = Path.Combine(folder, file + ".json")
                  AtomicFile.writeText path (Config.toText cfg)
                  yield path
              | None -> () ]
