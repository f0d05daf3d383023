/// Sweep specs as data: a base configuration, methods, axes (grid lists and random
/// ranges), seeds, the metric and its direction, report groups and early stopping.
/// A spec expands into trials, each a complete, validated `TrainConfig`.
module Hybrid.Sweeps.Spec

open System
open System.IO
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Reporting

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
    | Choice of values: JsonNode list

/// An axis: a configuration field (a dotted path such as `optimizer.lr`) and its values.
[<RequireQualifiedAccess>]
type Axis =
    /// Every value, crossed with the other grid axes.
    | Grid of path: string * values: JsonNode list
    /// One draw per sample.
    | Random of path: string * range: Range

    member this.Path = match this with Grid(p, _) | Random(p, _) -> p

/// What a trial reports: the best test accuracy over its epochs, or the last one.
[<RequireQualifiedAccess>]
type Metric =
    | BestAccuracy
    | FinalAccuracy

    override this.ToString() = match this with BestAccuracy -> "bestAccuracy" | FinalAccuracy -> "finalAccuracy"

/// Whether larger or smaller metrics are better.
[<RequireQualifiedAccess>]
type Direction =
    | Maximize
    | Minimize

    override this.ToString() = match this with Maximize -> "maximize" | Minimize -> "minimize"

/// Asynchronous successive halving: rungs at `MinEpochs * Reduction^k` epochs (below
/// the run's epochs); a trial whose metric at a rung is outside the best
/// 1/`Reduction` of the trials of its method and group seen at that rung stops.
type Asha = { MinEpochs: int; Reduction: int }

/// A method: a configuration of its own (on the spec's base) and axes of its own.
type Method = { Name: string; Config: JsonObject; Axes: Axis list }

/// A sweep.
type SweepSpec =
    { Name: string
      /// The base configuration (a configuration object; fields it lacks keep their defaults).
      Base: JsonObject
      /// Fields set for every method, after the method's own configuration.
      Overrides: JsonObject
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
      Trials: (string * JsonObject) list }

/// One run of a sweep.
type Trial =
    { Index: int
      Method: string
      /// The group's values, as text (`fraction=0.25`; "" with no groups).
      Group: string
      /// The axis values of the trial without the seed, as text: trials that differ
      /// only in their seed share it.
      Key: string
      Seed: int64
      Config: TrainConfig }

let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

let private get (o: JsonObject) (key: string) =
    let mutable n: JsonNode = null
    if o.TryGetPropertyValue(key, &n) then Some n else None

/// The value at a dotted path of a JSON object (None where absent).
let rec valueAt (o: JsonNode) (path: string) : JsonNode option =
    match o with
    | :? JsonObject as obj ->
        match path.IndexOf '.' with
        | -1 -> get obj path |> Option.filter (fun n -> not (isNull n))
        | i -> get obj (path.Substring(0, i)) |> Option.bind (fun c -> valueAt c (path.Substring(i + 1)))
    | _ -> None

/// A patch object that sets `path` to `value`: `a.b` = v is `{ "a": { "b": v } }`.
let patch (path: string) (value: JsonNode) : JsonObject =
    let parts = path.Split '.'
    let leaf = JsonObject()
    leaf[parts[parts.Length - 1]] <- value.DeepClone()
    Array.foldBack (fun (p: string) (inner: JsonObject) -> let o = JsonObject() in o[p] <- inner; o) parts[.. parts.Length - 2] leaf

/// A JSON number as a float, however the node was made (parsed or created from an int).
let toFloat (v: JsonNode) : float = Double.Parse(v.ToJsonString(), Globalization.CultureInfo.InvariantCulture)

/// A value as text for keys and tables: numbers in their shortest form, strings bare.
let text (n: JsonNode) =
    match n with
    | null -> "null"
    | :? JsonValue as v ->
        match v.GetValueKind() with
        | Text.Json.JsonValueKind.String -> v.GetValue<string>()
        | Text.Json.JsonValueKind.Number -> (toFloat v).ToString("G6", Globalization.CultureInfo.InvariantCulture)
        | _ -> v.ToJsonString()
    | _ -> n.ToJsonString()

// ---- limits ----

/// The most trials a spec may expand into (100,000; HYBRID_MAX_TRIALS changes it).
let maxTrials () : int =
    match Environment.GetEnvironmentVariable "HYBRID_MAX_TRIALS" with
    | null | "" -> 100_000
    | v ->
        match Int32.TryParse v with
        | true, n when n > 0 -> n
        | _ -> fail "HYBRID_MAX_TRIALS must be a positive whole number (got '%s')" v

/// The deepest nesting of a YAML spec (as JSON's: 64 levels).
[<Literal>]
let MaxDepth = 64

/// Integers a spec gives as JSON numbers are exact up to 2^53.
let private exactInteger = 9007199254740992.0

/// Checks a sweep name: it names folders, so letters, digits, '-', '_' and '.', not
/// starting with '.', at most 100 characters.
let checkName (name: string) : string =
    if name.Trim() = "" || name |> Seq.exists (fun c -> not (Char.IsAsciiLetterOrDigit c || c = '-' || c = '_' || c = '.')) then
        fail "sweep field 'name' must be letters, digits, '-', '_' or '.' (it names folders): '%s'" name
    if name.StartsWith "." then fail "sweep field 'name' must not start with '.' (it names a folder): '%s'" name
    if name.Length > 100 then fail "sweep field 'name' is %d characters long; at most 100 (it names folders)" name.Length
    name

// ---- reading ----

let private number (path: string) (n: JsonNode) =
    match n with
    | :? JsonValue as v when v.GetValueKind() = Text.Json.JsonValueKind.Number -> toFloat v
    | _ -> fail "sweep field '%s' must be a number" path

let private pair (path: string) (n: JsonNode) =
    match n with
    | :? JsonArray as a when a.Count = 2 -> number (path + "[0]") a[0], number (path + "[1]") a[1]
    | _ -> fail "sweep field '%s' must be [lo, hi]" path

let private readAxis (path: string) (key: string) (n: JsonNode) : Axis =
    let where = path + "." + key
    if key.Trim() = "" || key.Split('.') |> Array.exists (fun p -> p.Trim() = "") then
        fail "sweep field '%s': an axis is a configuration path such as optimizer.lr" where
    if key = "seed" then fail "sweep field '%s': seeds are given by the spec's 'seeds', not an axis" where
    match n with
    | :? JsonArray as a ->
        if a.Count = 0 then fail "sweep field '%s' has no values" where
        Axis.Grid(key, [ for i, v in Seq.indexed a -> (if isNull v then fail "sweep field '%s[%d]' is null; give a value" where i); v.DeepClone() ])
    | :? JsonObject as o when o.Count = 1 ->
        let kind = Seq.head o
        let inner = where + "." + kind.Key
        match kind.Key with
        | "uniform" ->
            let lo, hi = pair inner kind.Value
            if not (lo <= hi) then fail "sweep field '%s': lo > hi" inner
            Axis.Random(key, Range.Uniform(lo, hi))
        | "logUniform" ->
            let lo, hi = pair inner kind.Value
            if not (lo > 0.0 && lo <= hi) then fail "sweep field '%s' needs 0 < lo <= hi" inner
            Axis.Random(key, Range.LogUniform(lo, hi))
        | "intUniform" ->
            let lo, hi = pair inner kind.Value
            if lo <> Math.Round lo || hi <> Math.Round hi || lo > hi then fail "sweep field '%s' needs integers lo <= hi" inner
            if lo < float Int32.MinValue || hi > float (Int32.MaxValue - 1) then
                fail "sweep field '%s' must lie within [%d, %d] (got [%g, %g])" inner Int32.MinValue (Int32.MaxValue - 1) lo hi
            Axis.Random(key, Range.IntUniform(int lo, int hi))
        | "choice" ->
            match kind.Value with
            | :? JsonArray as a when a.Count > 0 ->
                Axis.Random(key, Range.Choice [ for i, v in Seq.indexed a -> (if isNull v then fail "sweep field '%s[%d]' is null; give a value" inner i); v.DeepClone() ])
            | _ -> fail "sweep field '%s' must be a non-empty list" inner
        | other -> fail "sweep field '%s': unknown range '%s' (uniform, logUniform, intUniform or choice)" where other
    | _ -> fail "sweep field '%s' must be a list of values or one of {uniform|logUniform|intUniform|choice: ...}" where

let private readAxes (path: string) (n: JsonNode) =
    match n with
    | :? JsonObject as o -> [ for kv in o -> readAxis path kv.Key kv.Value ]
    | _ -> fail "sweep field '%s' must be an object of configuration paths" path

/// A configuration reference: a checked-in configuration (`table1/pc-avg`), a file
/// (relative to the spec's folder), or an object; the result is a configuration object.
let private configObject (folder: string) (path: string) (n: JsonNode) : JsonObject =
    match n with
    | :? JsonObject as o -> o.DeepClone() :?> JsonObject
    | :? JsonValue as v when v.GetValueKind() = Text.Json.JsonValueKind.String ->
        let name = v.GetValue<string>()
        let file = Path.Combine(folder, name)
        let text =
            if File.Exists file then Codec.readText "config file" file
            else
                let rel = if name.EndsWith ".json" then name else name + ".json"
                try snd (Configs.text rel)
                with ConfigError _ -> fail "sweep field '%s': '%s' is neither a file nor a checked-in configuration (hybrid config list)" path name
        match Codec.parseText text with
        | :? JsonObject as o -> o
        | _ -> fail "sweep field '%s': '%s' is not a configuration object" path name
    | _ -> fail "sweep field '%s' must be a configuration name, a file or an object" path

let private known =
    [ "name"; "base"; "config"; "methods"; "axes"; "samples"; "sampleSeed"; "seeds"; "metric"; "direction"; "groups"; "asha"; "maxAttempts"; "trials"; "$schema"; "description" ]

/// Merges `over` into `into` (objects field by field; other values replace).
let rec private merge (into: JsonObject) (over: JsonObject) =
    for kv in List.ofSeq over do
        match get into kv.Key, kv.Value with
        | Some(:? JsonObject as a), (:? JsonObject as b) -> merge a b
        | _ -> into[kv.Key] <- (if isNull kv.Value then null else kv.Value.DeepClone())

/// The number of trials a spec expands into, computed without expanding it.
let count (spec: SweepSpec) : float =
    if not spec.Trials.IsEmpty then float spec.Trials.Length
    else
        spec.Methods
        |> List.sumBy (fun m ->
            let grid = spec.Axes @ m.Axes |> List.choose (function Axis.Grid(_, vs) -> Some(float vs.Length) | _ -> None) |> List.fold (*) 1.0
            grid * float spec.Samples * float spec.Seeds.Length)

/// Reads a spec from its JSON text; configuration names and files are resolved
/// against `folder` (the spec's folder) and the checked-in configurations. Errors
/// are `ConfigError`s naming the field.
let parse (folder: string) (json: string) : SweepSpec =
    let o =
        match Codec.parseText json with
        | :? JsonObject as o -> o
        | _ -> fail "a sweep spec must be a JSON object"
    for kv in o do
        if not (List.contains kv.Key known) then
            fail "unknown sweep field '%s' (known: %s)" kv.Key (String.Join(", ", known |> List.filter (fun k -> k <> "$schema")))
    let str key = get o key |> Option.map (fun n -> match n with :? JsonValue as v when v.GetValueKind() = Text.Json.JsonValueKind.String -> v.GetValue<string>() | _ -> fail "sweep field '%s' must be a string" key)
    // An integer field within [lo, hi], checked before any conversion.
    let integer key dflt (lo: float) (hi: float) =
        match get o key with
        | None -> dflt
        | Some n ->
            let x = number key n
            if x <> Math.Round x || x < lo || x > hi then fail "sweep field '%s' must be an integer in [%.0f, %.0f] (got %s)" key lo hi (n.ToJsonString())
            int64 x
    let name = checkName (defaultArg (str "name") "sweep")
    let baseObj = match get o "base" with Some n -> configObject folder "base" n | None -> JsonObject()
    let overrides =
        match get o "config" with
        | Some(:? JsonObject as c) -> c.DeepClone() :?> JsonObject
        | Some _ -> fail "sweep field 'config' must be an object"
        | None -> JsonObject()
    let methods =
        match get o "methods" with
        | None -> [ { Name = name; Config = JsonObject(); Axes = [] } ]
        | Some(:? JsonObject as ms) when ms.Count > 0 ->
            [ for kv in ms ->
                  let where = "methods." + kv.Key
                  match kv.Value with
                  | :? JsonObject as m when (get m "config").IsSome || (get m "axes").IsSome || (get m "base").IsSome ->
                      for k in m do
                          if not (List.contains k.Key [ "base"; "config"; "axes" ]) then
                              fail "unknown sweep field '%s.%s' (known: base, config, axes)" where k.Key
                      let cfg = match get m "base" with Some b -> configObject folder (where + ".base") b | None -> JsonObject()
                      match get m "config" with
                      | Some(:? JsonObject as c) -> merge cfg c
                      | Some _ -> fail "sweep field '%s.config' must be an object" where
                      | None -> ()
                      { Name = kv.Key; Config = cfg; Axes = (match get m "axes" with Some a -> readAxes (where + ".axes") a | None -> []) }
                  | n -> { Name = kv.Key; Config = configObject folder where n; Axes = [] } ]
        | Some _ -> fail "sweep field 'methods' must be an object of name: configuration"
    let axes = match get o "axes" with Some a -> readAxes "axes" a | None -> []
    for m in methods do
        let all = axes @ m.Axes
        let dup = all |> List.countBy (fun a -> a.Path) |> List.tryFind (fun (_, c) -> c > 1)
        match dup with
        | Some(p, _) -> fail "sweep axis '%s' is given twice (method %s)" p m.Name
        | None -> ()
    let hasRandom = methods |> List.exists (fun m -> (axes @ m.Axes) |> List.exists (function Axis.Random _ -> true | _ -> false))
    let samples = integer "samples" (if hasRandom then 10L else 1L) 1.0 (float (maxTrials ()))
    if not hasRandom && samples <> 1L then fail "sweep field 'samples' needs a random axis (uniform, logUniform, intUniform or choice)"
    let seeds =
        match get o "seeds" with
        | None -> [ 0L ]
        | Some(:? JsonArray as a) when a.Count > 0 ->
            if a.Count > maxTrials () then fail "sweep field 'seeds' lists %d seeds, more than the %d trials a sweep may have (HYBRID_MAX_TRIALS)" a.Count (maxTrials ())
            [ for i, s in Seq.indexed a ->
                  let x = number (sprintf "seeds[%d]" i) s
                  if x <> Math.Round x || abs x > exactInteger then
                      fail "sweep field 'seeds[%d]' must be an integer within ±%.0f (got %s)" i exactInteger (s.ToJsonString())
                  int64 x ]
        | Some n ->
            // A count: seeds 0..n-1.
            let x = number "seeds" n
            if x < 1.0 || x <> Math.Round x then fail "sweep field 'seeds' must be a list of seeds or a count >= 1"
            if x > float (maxTrials ()) then fail "sweep field 'seeds' is %s, more than the %d trials a sweep may have (HYBRID_MAX_TRIALS)" (n.ToJsonString()) (maxTrials ())
            [ 0L .. int64 x - 1L ]
    if seeds |> List.distinct |> List.length <> seeds.Length then fail "sweep field 'seeds' repeats a seed"
    let metric =
        match str "metric" with
        | None | Some "bestAccuracy" -> Metric.BestAccuracy
        | Some "finalAccuracy" -> Metric.FinalAccuracy
        | Some m -> fail "sweep field 'metric': unknown metric '%s' (bestAccuracy or finalAccuracy)" m
    let direction =
        match str "direction" with
        | None | Some "maximize" | Some "max" -> Direction.Maximize
        | Some "minimize" | Some "min" -> Direction.Minimize
        | Some d -> fail "sweep field 'direction': '%s' (maximize or minimize)" d
    let groups =
        match get o "groups" with
        | None -> []
        | Some(:? JsonArray as a) ->
            [ for g in a ->
                  match g with
                  | :? JsonValue as v when v.GetValueKind() = Text.Json.JsonValueKind.String ->
                      let p = v.GetValue<string>()
                      if p = "method" then fail "sweep field 'groups': the method is always a row of the report; name configuration paths only"
                      p
                  | _ -> fail "sweep field 'groups' must be a list of configuration paths" ]
        | Some _ -> fail "sweep field 'groups' must be a list of configuration paths"
    let asha =
        match get o "asha" with
        | None -> None
        | Some(:? JsonObject as a) ->
            for k in a do
                if not (List.contains k.Key [ "minEpochs"; "reduction" ]) then fail "unknown sweep field 'asha.%s' (known: minEpochs, reduction)" k.Key
            let geti key d = match get a key with Some n -> number ("asha." + key) n | None -> d
            let minEpochs, reduction = geti "minEpochs" 1.0, geti "reduction" 3.0
            if minEpochs < 1.0 || minEpochs > 1e6 || minEpochs <> Math.Round minEpochs then fail "sweep field 'asha.minEpochs' must be an integer in [1, 1000000]"
            if reduction < 2.0 || reduction > 1e6 || reduction <> Math.Round reduction then fail "sweep field 'asha.reduction' must be an integer in [2, 1000000]"
            Some { MinEpochs = int minEpochs; Reduction = int reduction }
        | Some _ -> fail "sweep field 'asha' must be an object { minEpochs, reduction }"
    let maxAttempts = integer "maxAttempts" 3L 1.0 1000.0
    let trials =
        match get o "trials" with
        | None -> []
        | Some(:? JsonArray as a) when a.Count > 0 ->
            if a.Count > maxTrials () then fail "sweep field 'trials' lists %d trials, more than the %d a sweep may have (HYBRID_MAX_TRIALS)" a.Count (maxTrials ())
            for k in [ "methods"; "axes"; "seeds"; "samples" ] do
                if (get o k).IsSome then fail "sweep field 'trials' lists every trial: it cannot be combined with '%s'" k
            [ for i, t in Seq.indexed a ->
                  match t with
                  | :? JsonObject as t ->
                      for k in t do
                          if not (List.contains k.Key [ "method"; "config" ]) then fail "unknown sweep field 'trials[%d].%s' (known: method, config)" i k.Key
                      let m =
                          match get t "method" with
                          | Some(:? JsonValue as v) when v.GetValueKind() = Text.Json.JsonValueKind.String -> v.GetValue<string>()
                          | _ -> fail "sweep field 'trials[%d].method' must be a string" i
                      m, configObject folder (sprintf "trials[%d].config" i) (defaultArg (get t "config") (JsonObject()))
                  | _ -> fail "sweep field 'trials[%d]' must be an object { method, config }" i ]
        | Some _ -> fail "sweep field 'trials' must be a non-empty list of { method, config }"
    let spec =
      { Name = name
        Base = baseObj
        Overrides = overrides
        Methods = methods
        Axes = axes
        Samples = int samples
        SampleSeed = integer "sampleSeed" 0L (-exactInteger) exactInteger
        Seeds = seeds
        Metric = metric
        Direction = direction
        Groups = groups
        Asha = asha
        MaxAttempts = int maxAttempts
        Trials = trials }
    let n = count spec
    if n > float (maxTrials ()) then
        fail "the spec expands into %.0f trials, more than the %d a sweep may have (HYBRID_MAX_TRIALS; split it, or sample the axes at random)" n (maxTrials ())
    spec

/// YAML text as JSON text: mappings become objects, sequences arrays; plain scalars
/// that read as numbers, booleans or null become those, every other scalar a string.
/// Read event by event: aliases (`*name`) are refused, so that a few bytes cannot
/// expand into gigabytes, and nesting is limited to `MaxDepth` levels, as JSON's.
let yamlToJson (yaml: string) : string =
    let parser = YamlDotNet.Core.Parser(new StringReader(yaml))
    let scalar (sc: YamlDotNet.Core.Events.Scalar) : JsonNode =
        let v = sc.Value
        if sc.Style <> YamlDotNet.Core.ScalarStyle.Plain then JsonValue.Create v
        else
            let mutable f = 0.0
            match v with
            | null | "" | "~" | "null" -> null
            | "true" -> JsonValue.Create true
            | "false" -> JsonValue.Create false
            | _ when Double.TryParse(v, Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture, &f) ->
                let mutable i = 0L
                if Int64.TryParse(v, Globalization.NumberStyles.Integer, Globalization.CultureInfo.InvariantCulture, &i) then JsonValue.Create i
                else JsonValue.Create f
            | _ -> JsonValue.Create v
    // Open containers, innermost first; a mapping holds the key waiting for its value.
    let stack = Collections.Generic.Stack<JsonNode * string option ref>()
    let mutable root: JsonNode option = None
    let mutable documents = 0
    let line (e: YamlDotNet.Core.Events.ParsingEvent) = e.Start.Line
    let add (e: YamlDotNet.Core.Events.ParsingEvent) (node: JsonNode) =
        if stack.Count = 0 then root <- Some node
        else
            match stack.Peek() with
            | (:? JsonArray as arr), _ -> arr.Add node
            | (:? JsonObject as o), key ->
                match key.Value with
                | Some k ->
                    o[k] <- node
                    key.Value <- None
                | None -> fail "YAML line %d: keys must be plain text" (line e)
            | _ -> ()
    let openContainer (e: YamlDotNet.Core.Events.ParsingEvent) (node: JsonNode) =
        if stack.Count >= MaxDepth then fail "YAML line %d: nested deeper than %d levels" (line e) MaxDepth
        add e node
        stack.Push((node, ref None))
    // A mapping waiting for a key takes a scalar as that key.
    let wantsKey () =
        stack.Count > 0 && (match stack.Peek() with (:? JsonObject), key -> key.Value.IsNone | _ -> false)
    try
        while parser.MoveNext() do
            match parser.Current with
            | :? YamlDotNet.Core.Events.DocumentStart ->
                documents <- documents + 1
                if documents > 1 then fail "the YAML text holds several documents; a spec is one"
            | :? YamlDotNet.Core.Events.AnchorAlias as e ->
                fail "YAML line %d: aliases (*%s) are not supported; write the value out" (line e) (string e.Value)
            | :? YamlDotNet.Core.Events.Scalar as e ->
                if wantsKey () then
                    let _, key = stack.Peek()
                    key.Value <- Some e.Value
                else add e (scalar e)
            | :? YamlDotNet.Core.Events.MappingStart as e ->
                if wantsKey () then fail "YAML line %d: keys must be plain text" (line e)
                openContainer e (JsonObject())
            | :? YamlDotNet.Core.Events.SequenceStart as e ->
                if wantsKey () then fail "YAML line %d: keys must be plain text" (line e)
                openContainer e (JsonArray())
            | :? YamlDotNet.Core.Events.MappingEnd
            | :? YamlDotNet.Core.Events.SequenceEnd -> stack.Pop() |> ignore
            | _ -> ()
    with :? YamlDotNet.Core.YamlException as e -> fail "malformed YAML at line %d: %s" e.Start.Line e.Message
    match root with
    | Some node when not (isNull node) -> node.ToJsonString()
    | _ -> fail "the YAML document is empty"

/// Reads a spec file, JSON or YAML (`.yaml`/`.yml`), or a checked-in spec
/// (`sweeps/table1-mlp`); `ConfigError`s name the file.
let load (path: string) : SweepSpec =
    let isYaml (p: string) = p.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || p.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
    let folder, text =
        if File.Exists path then
            let text = Codec.readText "sweep spec" path
            Path.GetDirectoryName(Path.GetFullPath path), text
        elif Path.IsPathRooted path || path.StartsWith "." then fail "sweep spec %s not found" path
        else
            let relative = if path.EndsWith ".json" then path else path + ".json"
            try "", snd (Configs.text relative)
            with ConfigError _ -> fail "sweep spec %s not found (a file, or a checked-in spec such as sweeps/table1-mlp)" path
    try parse folder (if isYaml path then yamlToJson text else text)
    with ConfigError msg -> fail "%s: %s" path msg

// ---- expansion ----

/// The rungs of successive halving for a run of `epochs` epochs.
let rungs (a: Asha) (epochs: int) : int list =
    List.unfold (fun r -> if r < epochs then Some(r, r * a.Reduction) else None) a.MinEpochs

/// One draw of a random range.
let draw (rng: Random) (r: Range) : JsonNode =
    match r with
    | Range.Uniform(lo, hi) -> JsonValue.Create(lo + rng.NextDouble() * (hi - lo))
    | Range.LogUniform(lo, hi) -> JsonValue.Create(exp (log lo + rng.NextDouble() * (log hi - log lo)))
    | Range.IntUniform(lo, hi) -> JsonValue.Create(rng.Next(lo, hi + 1))
    | Range.Choice values -> values[rng.Next values.Length].DeepClone()

/// The cartesian product of the grid axes' values, in axis order (the last axis fastest).
let private product (axes: (string * JsonNode list) list) : (string * JsonNode) list list =
    List.foldBack (fun (p, vs) rest -> [ for v in vs do for r in rest -> (p, v) :: r ]) axes [ [] ]

/// Every trial of a spec, in order: method, grid point, sample, seed (the seed
/// fastest). Each trial's configuration is the default configuration with the base,
/// the method, the spec's `config`, the axis values and the seed read onto it, validated; an error names
/// the method and values of the first trial that is not a valid configuration.
let rec expand (spec: SweepSpec) : Trial list =
    if not spec.Trials.IsEmpty then expandTrials spec else
    let mutable index = 0
    [ for m in spec.Methods do
          let axes = spec.Axes @ m.Axes
          let grid = axes |> List.choose (function Axis.Grid(p, vs) -> Some(p, vs) | _ -> None)
          let random = axes |> List.choose (function Axis.Random(p, r) -> Some(p, r) | _ -> None)
          let methodConfig = spec.Base.DeepClone() :?> JsonObject
          merge methodConfig m.Config
          merge methodConfig spec.Overrides
          let start =
              try Config.apply methodConfig Config.defaults
              with ConfigError msg -> fail "method %s: %s" m.Name msg
          for point in product grid do
              for s in 0 .. spec.Samples - 1 do
                  // The same draws for every method and grid point: sample s is one point of the random axes.
                  let rng = Random(int ((spec.SampleSeed * 1000003L + int64 s) &&& 0x7FFFFFFFL))
                  let drawn = [ for p, r in random -> p, draw rng r ]
                  let values = point @ drawn
                  let key = String.Join(", ", values |> List.map (fun (p, v) -> sprintf "%s=%s" p (text v)))
                  let cfg0 =
                      try
                          values |> List.fold (fun c (p, v) -> Config.apply (patch p v) c) start
                      with ConfigError msg -> fail "method %s, %s: %s" m.Name key msg
                  for seed in spec.Seeds do
                      let cfg = { cfg0 with Seed = seed; Name = sprintf "%s-%04d" spec.Name index }
                      (try Config.validate cfg |> ignore
                       with ConfigError msg -> fail "method %s, %s: %s" m.Name key msg)
                      match spec.Asha with
                      | Some a when a.MinEpochs >= cfg.Epochs ->
                          fail "sweep field 'asha.minEpochs' (%d) must be below the runs' epochs (%d): no rung would be reached" a.MinEpochs cfg.Epochs
                      | _ -> ()
                      let json = Config.toJson cfg
                      let group =
                          String.Join(", ", spec.Groups |> List.map (fun g ->
                              match valueAt json g with
                              | Some v -> sprintf "%s=%s" g (text v)
                              | None -> fail "sweep field 'groups': '%s' is not a configuration field (method %s)" g m.Name))
                      yield { Index = index; Method = m.Name; Group = group; Key = key; Seed = seed; Config = cfg }
                      index <- index + 1 ]

/// The trials of a spec that lists them one by one: each configuration on the base and
/// under the spec's `config`, validated; it keeps its name; trials of one method share
/// their key (they differ in their seed, or in what the method's label says).
and private expandTrials (spec: SweepSpec) : Trial list =
    [ for index, (m, config) in List.indexed spec.Trials ->
          let o = spec.Base.DeepClone() :?> JsonObject
          merge o config
          merge o spec.Overrides
          let cfg =
              try Config.apply o Config.defaults |> Config.validate
              with ConfigError msg -> fail "trials[%d] (%s): %s" index m msg
          let json = Config.toJson cfg
          let group =
              String.Join(", ", spec.Groups |> List.map (fun g ->
                  match valueAt json g with
                  | Some v -> sprintf "%s=%s" g (text v)
                  | None -> fail "sweep field 'groups': '%s' is not a configuration field (trials[%d])" g index))
          { Index = index; Method = m; Group = group; Key = m; Seed = cfg.Seed; Config = cfg } ]

/// A spec of trials given one by one (method, configuration): no base, no axes.
let ofTrials (name: string) (trials: (string * TrainConfig) list) : SweepSpec =
    { Name = name
      Base = JsonObject()
      Overrides = JsonObject()
      Methods = []
      Axes = []
      Samples = 1
      SampleSeed = 0L
      Seeds = []
      Metric = Metric.BestAccuracy
      Direction = Direction.Maximize
      Groups = []
      Asha = None
      MaxAttempts = 3
      Trials = [ for m, c in trials -> m, Config.toJson c ] }

/// The spec as JSON (as stored with the sweep; `parse` reads it back with no files needed).
let toJson (spec: SweepSpec) : JsonObject =
    let axisJson (axes: Axis list) =
        let o = JsonObject()
        for a in axes do
            o[a.Path] <-
                match a with
                | Axis.Grid(_, vs) -> JsonArray(vs |> List.map (fun v -> v.DeepClone()) |> Array.ofList) :> JsonNode
                | Axis.Random(_, r) ->
                    let x = JsonObject()
                    match r with
                    | Range.Uniform(lo, hi) -> x["uniform"] <- JsonArray(JsonValue.Create lo, JsonValue.Create hi)
                    | Range.LogUniform(lo, hi) -> x["logUniform"] <- JsonArray(JsonValue.Create lo, JsonValue.Create hi)
                    | Range.IntUniform(lo, hi) -> x["intUniform"] <- JsonArray(JsonValue.Create lo, JsonValue.Create hi)
                    | Range.Choice vs -> x["choice"] <- JsonArray(vs |> List.map (fun v -> v.DeepClone()) |> Array.ofList)
                    x
        o
    let o = JsonObject()
    o["name"] <- spec.Name
    o["base"] <- spec.Base.DeepClone()
    o["config"] <- spec.Overrides.DeepClone()
    let ms = JsonObject()
    for m in spec.Methods do
        let mo = JsonObject()
        mo["config"] <- m.Config.DeepClone()
        mo["axes"] <- axisJson m.Axes
        ms[m.Name] <- mo
    o["methods"] <- ms
    o["axes"] <- axisJson spec.Axes
    o["samples"] <- spec.Samples
    o["sampleSeed"] <- spec.SampleSeed
    o["seeds"] <- JsonArray(spec.Seeds |> List.map (fun s -> JsonValue.Create s :> JsonNode) |> Array.ofList)
    o["metric"] <- string spec.Metric
    o["direction"] <- string spec.Direction
    o["groups"] <- JsonArray(spec.Groups |> List.map (fun g -> JsonValue.Create g :> JsonNode) |> Array.ofList)
    match spec.Asha with
    | Some a ->
        let x = JsonObject()
        x["minEpochs"] <- a.MinEpochs
        x["reduction"] <- a.Reduction
        o["asha"] <- x
    | None -> ()
    o["maxAttempts"] <- spec.MaxAttempts
    if not spec.Trials.IsEmpty then
        for k in [ "methods"; "axes"; "seeds"; "samples" ] do o.Remove k |> ignore
        o["trials"] <- JsonArray([| for m, c in spec.Trials -> Report.object [ "method", Report.str m; "config", c.DeepClone() ] :> JsonNode |])
    o
