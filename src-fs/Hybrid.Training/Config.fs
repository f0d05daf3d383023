/// Run configurations as JSON: read with clear errors (unknown fields, wrong
/// types, bad values are named), written so that they read back equal.
module Hybrid.Config

open System
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open Hybrid.Data

/// A configuration file or document is invalid. The message names the field.
exception ConfigError of string with
    override this.Message = this.Data0

let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

/// The paper's supervised setup (Pinchetti et al., Table 1): 5-layer MLP of
/// width 512, batch 200, 16 epochs, AdamW on the weights, SGD on the states.
let defaults: TrainConfig =
    { Name = "run"
      Dataset = "fashion-mnist"
      DataRoot = None
      Fraction = 1.0
      Normalisation = Normalisation.Standardise
      Architecture = Architecture.PaperMlp(512, Activation.Gelu)
      WeightInit = WeightInit.Default
      Loss = Loss.CrossEntropy
      Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 5 0.1; Init = Init.forward }
      Optimizer = OptimizerSpec.AdamW(1e-4, 0.0)
      Epochs = 16
      BatchSize = 200
      Batching = Batching.Random
      Seed = 0L
      Precision = Precision.Float32
      Device = DeviceChoice.Auto
      EvalBatchSize = 1000 }

// ---- reading ----

let private kindName (n: JsonNode) =
    match n with
    | null -> "null"
    | :? JsonObject -> "an object"
    | :? JsonArray -> "an array"
    | v -> match v.GetValueKind() with
           | JsonValueKind.String -> "a string"
           | JsonValueKind.Number -> "a number"
           | JsonValueKind.True | JsonValueKind.False -> "a boolean"
           | k -> string k

let private str (path: string) (n: JsonNode) =
    match n with
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String -> v.GetValue<string>()
    | _ -> fail "config field '%s' must be a string, got %s" path (kindName n)

let private num (path: string) (n: JsonNode) =
    match n with
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.Number ->
        // Values built in code (JsonValue.Create 3) hold an int; re-reading the text works for both.
        (JsonNode.Parse(v.ToJsonString())).GetValue<double>()
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String ->
        match Double.TryParse(v.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, x -> x
        | _ -> fail "config field '%s' must be a number, got \"%s\"" path (v.GetValue<string>())
    | _ -> fail "config field '%s' must be a number, got %s" path (kindName n)

let private int' (path: string) (n: JsonNode) =
    let x = num path n
    if x <> Math.Floor x || abs x > 1e15 then fail "config field '%s' must be an integer, got %g" path x
    x

let private bool' (path: string) (n: JsonNode) =
    match n with
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.True -> true
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.False -> false
    | _ -> fail "config field '%s' must be true or false, got %s" path (kindName n)

let private obj' (path: string) (n: JsonNode) =
    match n with
    | :? JsonObject as o -> o
    | _ -> fail "config field '%s' must be an object, got %s" path (kindName n)

/// Re-raises argument errors of the core as config errors naming the field.
let private wrap (path: string) (f: unit -> 'a) =
    try f ()
    with :? ArgumentException as e ->
        let msg = match e.ParamName with
                  | null -> e.Message
                  | p -> e.Message.Replace(sprintf " (Parameter '%s')" p, "")
        fail "config field '%s': %s" path msg

let private checkKeys (path: string) (o: JsonObject) (known: string list) =
    for kv in o do
        if not (List.contains kv.Key known) then
            let where = if path = "" then "" else sprintf " in '%s'" path
            fail "unknown config field '%s'%s (known: %s)" kv.Key where (String.Join(", ", known))

let private field (o: JsonObject) (name: string) : JsonNode option =
    let mutable v: JsonNode = null
    if o.TryGetPropertyValue(name, &v) && not (isNull v) then Some v else None

/// Fields of the `model` object, by model kind (the config reference is checked against these).
let modelFields =
    [ "mlp", [ "kind"; "widths"; "width"; "hidden"; "activation"; "loss"; "weightInit" ]
      "resmlp", [ "kind"; "width"; "layers"; "activation"; "parameterisation"; "loss"; "weightInit" ]
      "alexnet", [ "kind"; "activation"; "loss"; "weightInit" ]
      "conv", [ "kind"; "convs"; "dense"; "activation"; "loss"; "weightInit" ] ]

/// Fields of each entry of `model.convs`.
let convFields = [ "channels"; "pool" ]

/// Fields of the `inference` object.
let inferenceFields = [ "reparam"; "steps"; "stepSize"; "momentum"; "tolerance"; "divergenceFactor" ]

/// Fields of the `optimizer` object.
let optimizerFields = [ "kind"; "lr"; "weightDecay"; "momentum" ]

let private modelKeys kind = modelFields |> List.find (fst >> (=) kind) |> snd

let private readArchitecture (o: JsonObject) (current: Architecture) : Architecture =
    let kind = field o "kind" |> Option.map (str "model.kind")
    let act () = field o "activation" |> Option.map (fun n -> wrap "model.activation" (fun () -> Activation.Parse(str "model.activation" n)))
    let currentAct =
        match current with
        | Architecture.Mlp(_, a)
        | Architecture.ResidualMlp(_, _, a, _)
        | Architecture.ConvNet(_, _, a) -> a
    let activation = defaultArg (act ()) currentAct
    let intList (p: string) (n: JsonNode) =
        match n with
        | :? JsonArray as a -> [ for i in 0 .. a.Count - 1 -> int (int' (sprintf "%s[%d]" p i) a[i]) ]
        | _ -> fail "config field '%s' must be an array of integers, got %s" p (kindName n)
    let currentKind =
        match current with
        | Architecture.Mlp _ -> "mlp"
        | Architecture.ResidualMlp _ -> "resmlp"
        | Architecture.ConvNet _ -> "conv"
    match defaultArg kind currentKind with
    | "mlp" ->
        if (field o "parameterisation").IsSome then fail "config field 'model.parameterisation' needs a residual MLP (kind: resmlp); sp/mupc/ntp scalings assume its residual structure"
        checkKeys "model" o (modelKeys "mlp")
        let widths =
            match field o "widths" with
            | Some n -> intList "model.widths" n
            | None ->
                let w = field o "width" |> Option.map (fun n -> int (int' "model.width" n))
                let h = field o "hidden" |> Option.map (fun n -> int (int' "model.hidden" n))
                match w, h with
                | None, None ->
                    match current with
                    | Architecture.Mlp(ws, _) -> ws
                    | _ -> List.replicate 4 512
                | _ -> List.replicate (defaultArg h 4) (defaultArg w 512)
        Architecture.Mlp(widths, activation)
    | "resmlp" | "residual-mlp" ->
        checkKeys "model" o (modelKeys "resmlp")
        let w0, l0, p0 =
            match current with
            | Architecture.ResidualMlp(w, l, _, p) -> w, l, p
            | _ -> 128, 8, Parameterisation.MuPC
        let width = field o "width" |> Option.map (fun n -> int (int' "model.width" n)) |> Option.defaultValue w0
        let layers = field o "layers" |> Option.map (fun n -> int (int' "model.layers" n)) |> Option.defaultValue l0
        let p = field o "parameterisation" |> Option.map (fun n -> wrap "model.parameterisation" (fun () -> Parameterisation.Parse(str "model.parameterisation" n))) |> Option.defaultValue p0
        Architecture.ResidualMlp(width, layers, activation, p)
    | "alexnet" ->
        checkKeys "model" o (modelKeys "alexnet")
        Architecture.AlexNet activation
    | "conv" ->
        checkKeys "model" o (modelKeys "conv")
        let c0, d0 =
            match current with
            | Architecture.ConvNet(c, d, _) -> Some c, d
            | _ -> None, []
        let convs =
            match field o "convs" with
            | Some(:? JsonArray as a) ->
                [ for i in 0 .. a.Count - 1 ->
                      let p = sprintf "model.convs[%d]" i
                      let c = obj' p a[i]
                      checkKeys p c convFields
                      { Channels = c["channels"] |> int' (p + ".channels") |> int
                        Pool = field c "pool" |> Option.map (bool' (p + ".pool")) |> Option.defaultValue false } ]
            | Some n -> fail "config field 'model.convs' must be an array, got %s" (kindName n)
            | None ->
                match c0 with
                | Some c -> c
                | None -> fail "config field 'model.convs' is required for kind conv"
        let dense = field o "dense" |> Option.map (intList "model.dense") |> Option.defaultValue d0
        Architecture.ConvNet(convs, dense, activation)
    | other -> fail "config field 'model.kind': unknown model '%s' (expected mlp, resmlp, conv or alexnet)" other

let private readInference (o: JsonObject) (current: InferenceOptions) =
    checkKeys "inference" o inferenceFields
    let mutable r = current
    field o "reparam" |> Option.iter (fun n -> r <- { r with Reparam = wrap "inference.reparam" (fun () -> Reparam.Parse(str "inference.reparam" n)) })
    field o "steps" |> Option.iter (fun n -> r <- { r with Steps = int (int' "inference.steps" n) })
    field o "stepSize" |> Option.iter (fun n -> r <- { r with StepSize = num "inference.stepSize" n })
    field o "momentum" |> Option.iter (fun n -> r <- { r with Momentum = num "inference.momentum" n })
    let mutable tol: JsonNode = null
    if o.TryGetPropertyValue("tolerance", &tol) then
        r <- { r with Tolerance = if isNull tol then None else Some(num "inference.tolerance" tol) }
    field o "divergenceFactor" |> Option.iter (fun n -> r <- { r with DivergenceFactor = num "inference.divergenceFactor" n })
    r

let private readOptimizer (o: JsonObject) (current: OptimizerSpec) =
    checkKeys "optimizer" o optimizerFields
    let lr = field o "lr" |> Option.map (num "optimizer.lr") |> Option.defaultValue current.LearningRate
    let kind =
        field o "kind" |> Option.map (str "optimizer.kind")
        |> Option.defaultValue (match current with
                                | OptimizerSpec.AdamW _ -> "adamw"
                                | OptimizerSpec.Sgd _ -> "sgd")
    match kind.ToLowerInvariant() with
    | "adamw" ->
        if (field o "momentum").IsSome then fail "config field 'optimizer.momentum' applies to sgd, not adamw"
        let wd = field o "weightDecay" |> Option.map (num "optimizer.weightDecay")
                 |> Option.defaultValue (match current with OptimizerSpec.AdamW(_, w) -> w | _ -> 0.0)
        OptimizerSpec.AdamW(lr, wd)
    | "sgd" ->
        if (field o "weightDecay").IsSome then fail "config field 'optimizer.weightDecay' applies to adamw, not sgd"
        let m = field o "momentum" |> Option.map (num "optimizer.momentum")
                |> Option.defaultValue (match current with OptimizerSpec.Sgd(_, m) -> m | _ -> 0.0)
        OptimizerSpec.Sgd(lr, m)
    | other -> fail "config field 'optimizer.kind': unknown optimiser '%s' (expected adamw or sgd)" other

/// Top-level fields of a run configuration.
let fields =
    [ "name"; "dataset"; "data"; "fraction"; "normalisation"; "model"; "algorithm"; "inference"; "init"
      "optimizer"; "epochs"; "batchSize"; "batching"; "seed"; "precision"; "device"; "evalBatchSize" ]

/// Applies a JSON object onto a configuration (fields absent keep their value).
let applyJson (o: JsonObject) (baseConfig: TrainConfig) : TrainConfig =
    checkKeys "" o fields
    let mutable c = baseConfig
    field o "name" |> Option.iter (fun n -> c <- { c with Name = str "name" n })
    field o "dataset" |> Option.iter (fun n -> c <- { c with Dataset = str "dataset" n })
    field o "data" |> Option.iter (fun n -> c <- { c with DataRoot = Some(str "data" n) })
    field o "fraction" |> Option.iter (fun n -> c <- { c with Fraction = num "fraction" n })
    field o "normalisation" |> Option.iter (fun n -> c <- { c with Normalisation = wrap "normalisation" (fun () -> Normalisation.Parse(str "normalisation" n)) })
    field o "model" |> Option.iter (fun n ->
        let m = obj' "model" n
        c <- { c with Architecture = readArchitecture m c.Architecture }
        field m "loss" |> Option.iter (fun l -> c <- { c with Loss = wrap "model.loss" (fun () -> Loss.Parse(str "model.loss" l)) })
        field m "weightInit" |> Option.iter (fun l -> c <- { c with WeightInit = wrap "model.weightInit" (fun () -> WeightInit.Parse(str "model.weightInit" l)) }))
    let pc =
        match c.Algorithm with
        | Algorithm.PredictiveCoding pc -> pc
        | Algorithm.Backprop -> { Inference = InferenceOptions.spc 5 0.1; Init = Init.forward }
    let mutable pc' = pc
    field o "inference" |> Option.iter (fun n -> pc' <- { pc' with Inference = readInference (obj' "inference" n) pc'.Inference })
    field o "init" |> Option.iter (fun n -> pc' <- { pc' with Init = wrap "init" (fun () -> Init.parse (str "init" n)) })
    let algorithm =
        match field o "algorithm" |> Option.map (str "algorithm") with
        | Some "bp" | Some "backprop" -> Algorithm.Backprop
        | Some "pc" -> Algorithm.PredictiveCoding pc'
        | Some other -> fail "config field 'algorithm': unknown algorithm '%s' (expected bp or pc)" other
        | None ->
            match c.Algorithm with
            | Algorithm.Backprop -> Algorithm.Backprop
            | Algorithm.PredictiveCoding _ -> Algorithm.PredictiveCoding pc'
    c <- { c with Algorithm = algorithm }
    field o "optimizer" |> Option.iter (fun n -> c <- { c with Optimizer = readOptimizer (obj' "optimizer" n) c.Optimizer })
    field o "epochs" |> Option.iter (fun n -> c <- { c with Epochs = int (int' "epochs" n) })
    field o "batchSize" |> Option.iter (fun n -> c <- { c with BatchSize = int (int' "batchSize" n) })
    field o "batching" |> Option.iter (fun n -> c <- { c with Batching = wrap "batching" (fun () -> Batching.Parse(str "batching" n)) })
    field o "seed" |> Option.iter (fun n -> c <- { c with Seed = int64 (int' "seed" n) })
    field o "precision" |> Option.iter (fun n -> c <- { c with Precision = wrap "precision" (fun () -> Precision.Parse(str "precision" n)) })
    field o "device" |> Option.iter (fun n -> c <- { c with Device = wrap "device" (fun () -> DeviceChoice.Parse(str "device" n)) })
    field o "evalBatchSize" |> Option.iter (fun n -> c <- { c with EvalBatchSize = int (int' "evalBatchSize" n) })
    c

/// Parses a JSON document onto `baseConfig`.
let parse (json: string) (baseConfig: TrainConfig) : TrainConfig =
    let node =
        try JsonNode.Parse(json, documentOptions = JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
        with :? JsonException as e -> fail "malformed JSON: %s" e.Message
    applyJson (obj' "(document)" node) baseConfig

/// Reads a configuration file onto `baseConfig`; errors name the file.
let load (path: string) (baseConfig: TrainConfig) : TrainConfig =
    if not (File.Exists path) then fail "config file %s not found" path
    try parse (File.ReadAllText path) baseConfig
    with ConfigError msg -> fail "%s: %s" path msg

// ---- writing ----

let private architectureJson (a: Architecture) (loss: Loss) : JsonObject =
    let o = JsonObject()
    match a with
    | Architecture.Mlp(ws, act) ->
        o["kind"] <- "mlp"
        o["widths"] <- JsonArray(ws |> List.map (fun w -> JsonValue.Create w :> JsonNode) |> Array.ofList)
        o["activation"] <- string act
    | Architecture.ResidualMlp(w, l, act, p) ->
        o["kind"] <- "resmlp"
        o["width"] <- w
        o["layers"] <- l
        o["activation"] <- string act
        o["parameterisation"] <- string p
    | Architecture.ConvNet(cs, ds, act) ->
        o["kind"] <- "conv"
        o["convs"] <- JsonArray(cs |> List.map (fun c -> JsonObject(dict [ "channels", JsonValue.Create c.Channels :> JsonNode; "pool", JsonValue.Create c.Pool ]) :> JsonNode) |> Array.ofList)
        o["dense"] <- JsonArray(ds |> List.map (fun w -> JsonValue.Create w :> JsonNode) |> Array.ofList)
        o["activation"] <- string act
    o["loss"] <- string loss
    o

/// The configuration as a JSON object (every field written).
let toJson (c: TrainConfig) : JsonObject =
    let o = JsonObject()
    o["name"] <- c.Name
    o["dataset"] <- c.Dataset
    match c.DataRoot with
    | Some d -> o["data"] <- d
    | None -> ()
    o["fraction"] <- c.Fraction
    o["normalisation"] <- string c.Normalisation
    let model = architectureJson c.Architecture c.Loss
    model["weightInit"] <- string c.WeightInit
    o["model"] <- model
    match c.Algorithm with
    | Algorithm.Backprop -> o["algorithm"] <- "bp"
    | Algorithm.PredictiveCoding pc ->
        o["algorithm"] <- "pc"
        let i = JsonObject()
        i["reparam"] <- string pc.Inference.Reparam
        i["steps"] <- pc.Inference.Steps
        i["stepSize"] <- pc.Inference.StepSize
        i["momentum"] <- pc.Inference.Momentum
        i["tolerance"] <- (match pc.Inference.Tolerance with Some t -> JsonValue.Create t :> JsonNode | None -> null)
        i["divergenceFactor"] <- pc.Inference.DivergenceFactor
        o["inference"] <- i
        o["init"] <- string pc.Init
    let opt = JsonObject()
    match c.Optimizer with
    | OptimizerSpec.AdamW(lr, wd) ->
        opt["kind"] <- "adamw"
        opt["lr"] <- lr
        opt["weightDecay"] <- wd
    | OptimizerSpec.Sgd(lr, m) ->
        opt["kind"] <- "sgd"
        opt["lr"] <- lr
        opt["momentum"] <- m
    o["optimizer"] <- opt
    o["epochs"] <- c.Epochs
    o["batchSize"] <- c.BatchSize
    o["batching"] <- string c.Batching
    o["seed"] <- c.Seed
    o["precision"] <- string c.Precision
    o["device"] <- string c.Device
    o["evalBatchSize"] <- c.EvalBatchSize
    o

/// The configuration as indented JSON text.
let toText (c: TrainConfig) =
    (toJson c).ToJsonString(JsonSerializerOptions(WriteIndented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
