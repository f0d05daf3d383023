/// Run configurations in their JSON form: the codecs of `TrainConfig` and its
/// parts, built from `Codec`. `Config.read`/`Config.load` read a document onto a
/// configuration and validate the result; `Config.toJson` writes every field, so
/// that what is written reads back equal.
module Hybrid.Config

open System
open System.Text.Json.Nodes
open Hybrid.Data

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
      EvalBatchSize = Training.evaluationBatch
      EvalEvery = 0
      TensorBoard = true }

let private fail fmt = Printf.kprintf (fun s -> raise (ConfigError s)) fmt

let private child (path: string) (key: string) = if path = "" then key else path + "." + key

let private get (o: JsonObject) (key: string) =
    let mutable n: JsonNode = null
    if o.TryGetPropertyValue(key, &n) then Some n else None

let private checkKeys (path: string) (o: JsonObject) (known: string list) =
    for kv in o do
        if not (List.contains kv.Key known) then
            fail "unknown config field '%s' in '%s' (known: %s)" kv.Key path (String.Join(", ", known))

let private schemaOf (pairs: (string * JsonNode) list) =
    let o = JsonObject()
    for k, v in pairs do o[k] <- v
    o

// ---- memories ----

/// A memory's settings as an object (checkpoints keep them this way).
let memorySpec: Codec<MemorySpec> =
    Codec.record
        [ Codec.field "slots" "p, memory slots" Codec.int (fun m -> m.Slots) (fun v m -> { m with Slots = v })
          Codec.field "delta" "inverse temperature of the recall" Codec.float (fun m -> m.Delta) (fun v m -> { m with Delta = v })
          Codec.field "dim" "e, query/key embedding size" Codec.int (fun m -> m.Embedding) (fun v m -> { m with Embedding = v })
          Codec.field "heads" "a, attention heads" Codec.int (fun m -> m.Heads) (fun v m -> { m with Heads = v })
          Codec.field "lr" "Adam learning rate of the memory" Codec.float (fun m -> m.LearningRate) (fun v m -> { m with LearningRate = v }) ]
    |> Codec.check (fun m -> m.Validate())

// ---- inference ----

/// The `inference` object.
let inference: Codec<InferenceOptions> =
    Codec.record
        [ Codec.field "reparam" "Inference variables: spc (SGD on the states) or epc (SGD on the errors of a perturbed forward pass)" (Codec.choice Choices.reparam) (fun i -> i.Reparam) (fun v i -> { i with Reparam = v })
          Codec.field "steps" "Inference steps T per batch" (Codec.atLeast 1 Codec.int) (fun i -> i.Steps) (fun v i -> { i with Steps = v })
          Codec.field "stepSize" "Inference step size: alpha for sPC, eta for ePC" Codec.float (fun i -> i.StepSize) (fun v i -> { i with StepSize = v })
          Codec.field "momentum" "Heavy-ball momentum of inference, in [0,1)" Codec.float (fun i -> i.Momentum) (fun v i -> { i with Momentum = v })
          Codec.field "tolerance" "Stop inference early below this relative energy change (null: never)" (Codec.option Codec.float) (fun i -> i.Tolerance) (fun v i -> { i with Tolerance = v })
          Codec.field "divergenceFactor" "Inference diverges when the energy exceeds this multiple of its value at step 1 (ePC: already past the smaller of this and 10 times it, once above 1)" (Codec.range (Some 1.0) None Codec.float) (fun i -> i.DivergenceFactor) (fun v i -> { i with DivergenceFactor = v })
          Codec.field "dense" "sPC: recompute every prediction and product at every inference step (the reference path; by default only what can have changed is computed, with the same results)" Codec.bool (fun i -> i.Dense) (fun v i -> { i with Dense = v }) ]

// ---- optimiser ----

/// Changes to an optimiser (None: keep). Switching kind keeps the learning rate.
type OptimizerChanges =
    { Kind: string option
      LearningRate: float option
      /// AdamW only.
      WeightDecay: float option
      /// SGD only.
      Momentum: float option }

    /// No change.
    static member None = { Kind = None; LearningRate = None; WeightDecay = None; Momentum = None }

/// Applies changes to an optimiser; a setting of the other kind is refused.
let changeOptimizer (c: OptimizerChanges) (current: OptimizerSpec) : OptimizerSpec =
    let kind =
        match c.Kind with
        | Some k -> Choices.optimizer.Parse k
        | None -> (match current with OptimizerSpec.AdamW _ -> "adamw" | OptimizerSpec.Sgd _ -> "sgd")
    let lr = defaultArg c.LearningRate current.LearningRate
    match kind with
    | "adamw" ->
        if c.Momentum.IsSome then raise (ConfigError "config field 'optimizer.momentum' applies to sgd, not adamw")
        OptimizerSpec.AdamW(lr, defaultArg c.WeightDecay (match current with OptimizerSpec.AdamW(_, w) -> w | _ -> 0.0))
    | _ ->
        if c.WeightDecay.IsSome then raise (ConfigError "config field 'optimizer.weightDecay' applies to adamw, not sgd")
        OptimizerSpec.Sgd(lr, defaultArg c.Momentum (match current with OptimizerSpec.Sgd(_, m) -> m | _ -> 0.0))

let private described (s: JsonObject) (d: string) =
    s["description"] <- d
    s :> JsonNode

/// The `optimizer` object: `kind` (adamw or sgd), `lr`, and `weightDecay` (adamw) or `momentum` (sgd).
let optimizer: Codec<OptimizerSpec> =
    let read path (current: OptimizerSpec) (n: JsonNode) =
        let o =
            match n with
            | :? JsonObject as o -> o
            | _ -> fail "config field '%s' must be an object" path
        checkKeys path o [ "kind"; "lr"; "weightDecay"; "momentum" ]
        let number key = get o key |> Option.map (Codec.float.Read (child path key) 0.0)
        changeOptimizer
            { Kind = get o "kind" |> Option.map ((Codec.choice Choices.optimizer).Read (child path "kind") "")
              LearningRate = number "lr"
              WeightDecay = number "weightDecay"
              Momentum = number "momentum" }
            current
    { Read = read
      Write =
        fun spec ->
            match spec with
            | OptimizerSpec.AdamW(lr, wd) -> schemaOf [ "kind", JsonValue.Create "adamw"; "lr", JsonValue.Create lr; "weightDecay", JsonValue.Create wd ]
            | OptimizerSpec.Sgd(lr, m) -> schemaOf [ "kind", JsonValue.Create "sgd"; "lr", JsonValue.Create lr; "momentum", JsonValue.Create m ]
      Schema =
        fun () ->
            let props =
                schemaOf
                    [ "kind", described ((Codec.choice Choices.optimizer).Schema()) "Weight optimiser: adamw or sgd (switching keeps the learning rate)"
                      "lr", described (Codec.float.Schema()) "Weight learning rate"
                      "weightDecay", described (Codec.float.Schema()) "AdamW's decoupled weight decay (adamw only)"
                      "momentum", described (Codec.float.Schema()) "SGD's heavy-ball momentum (sgd only)" ]
            schemaOf [ "type", JsonValue.Create "object"; "properties", props; "additionalProperties", JsonValue.Create false ] }

// ---- model ----

/// The network of a run: its architecture, output loss and weight initialisation.
type Model = Architecture * Loss * WeightInit


/// Fields of the `model` object, by kind.
let modelKeys =
    [ "mlp", [ "kind"; "widths"; "width"; "hidden"; "activation"; "loss"; "weightInit" ]
      "resmlp", [ "kind"; "width"; "layers"; "activation"; "parameterisation"; "loss"; "weightInit" ]
      "alexnet", [ "kind"; "activation"; "loss"; "weightInit" ]
      "vgg5", [ "kind"; "activation"; "loss"; "weightInit" ]
      "vgg7", [ "kind"; "activation"; "loss"; "weightInit" ]
      "resnet18", [ "kind"; "width"; "activation"; "loss"; "weightInit" ]
      "custom", [ "kind"; "name"; "loss"; "weightInit" ]
      "conv", [ "kind"; "convs"; "dense"; "activation"; "loss"; "weightInit" ] ]

let private convLayer: Codec<ConvLayer> =
    Codec.record
        [ Codec.field "channels" "Output channels of a 3x3 same convolution" Codec.int (fun c -> c.Channels) (fun v c -> { c with Channels = v })
          Codec.field "pool" "A 2x2 max-pool follows" Codec.bool (fun c -> c.Pool) (fun v c -> { c with Pool = v }) ]

let private convLayers = Codec.listOf { Channels = 0; Pool = false } convLayer

let private activationOf (a: Architecture) =
    match a with
    | Architecture.Mlp(_, a)
    | Architecture.ResidualMlp(_, _, a, _)
    | Architecture.ConvNet(_, _, a)
    | Architecture.ResNet18(_, a) -> a
    | Architecture.Custom _ -> Activation.Relu

let private kindOf (a: Architecture) =
    match a with
    | Architecture.Mlp _ -> "mlp"
    | Architecture.ResidualMlp _ -> "resmlp"
    | Architecture.ConvNet _ -> "conv"
    | Architecture.ResNet18 _ -> "resnet18"
    | Architecture.Custom _ -> "custom"

/// Changes to a model, field by field (None: keep). The `model` object of a
/// configuration is read into this, and so are the command line's flags.
type ModelChanges =
    { Kind: string option
      Widths: int list option
      Width: int option
      Hidden: int option
      Layers: int option
      Activation: Activation option
      Parameterisation: Parameterisation option
      Convs: ConvLayer list option
      Dense: int list option
      Loss: Loss option
      WeightInit: WeightInit option
      /// The name of a custom network.
      Name: string option }

    /// No change.
    static member None =
        { Kind = None; Widths = None; Width = None; Hidden = None; Layers = None; Activation = None; Parameterisation = None
          Convs = None; Dense = None; Loss = None; WeightInit = None; Name = None }

/// Applies changes to a model. Switching kind starts from that kind's defaults (mlp:
/// four layers of 512; resmlp: width 128, 8 layers, mupc); `width` and `hidden`
/// replace the MLP's widths by that many layers of that width (each defaulting to
/// the current MLP's); the result is validated.
let changeModel (c: ModelChanges) ((arch, loss, weightInit): Model) : Model =
    let kind = defaultArg (c.Kind |> Option.map (fun k -> (Choices.modelKind.Parse k))) (kindOf arch)
    if kind <> "resmlp" && c.Parameterisation.IsSome then
        raise (ConfigError "config field 'model.parameterisation' needs a residual MLP (kind: resmlp); sp/mupc/ntp scalings assume its residual structure")
    let activation = defaultArg c.Activation (activationOf arch)
    let arch' =
        match kind with
        | "mlp" ->
            let current = match arch with Architecture.Mlp(ws, _) -> ws | _ -> List.replicate 4 512
            let widths =
                match c.Widths, c.Width, c.Hidden with
                | Some ws, _, _ -> ws
                | None, None, None -> current
                | None, w, h ->
                    let w0 = match current with first :: _ -> first | [] -> 512
                    List.replicate (defaultArg h current.Length) (defaultArg w w0)
            Architecture.Mlp(widths, activation)
        | "resmlp" ->
            let w0, l0, p0 =
                match arch with
                | Architecture.ResidualMlp(w, l, _, p) -> w, l, p
                | _ -> 128, 8, Parameterisation.MuPC
            Architecture.ResidualMlp(defaultArg c.Width w0, defaultArg c.Layers l0, activation, defaultArg c.Parameterisation p0)
        | "alexnet" -> Architecture.AlexNet activation
        | "vgg5" -> Architecture.Vgg5 activation
        | "vgg7" -> Architecture.Vgg7 activation
        | "resnet18" ->
            let w0 = match arch with Architecture.ResNet18(w, _) -> w | _ -> 64
            Architecture.ResNet18(defaultArg c.Width w0, activation)
        | "custom" ->
            match c.Name, arch with
            | Some n, _ -> Architecture.Custom n
            | None, Architecture.Custom n -> Architecture.Custom n
            | None, _ -> raise (ConfigError "config field 'model.name' is required for kind custom")
        | _ ->
            let c0, d0 =
                match arch with
                | Architecture.ConvNet(cs, ds, _) -> Some cs, ds
                | _ -> None, []
            let convs =
                match c.Convs, c0 with
                | Some cs, _ -> cs
                | None, Some cs -> cs
                | None, None -> raise (ConfigError "config field 'model.convs' is required for kind conv")
            Architecture.ConvNet(convs, defaultArg c.Dense d0, activation)
    Codec.wrap "model" (fun () -> arch'.Validate())
    arch', defaultArg c.Loss loss, defaultArg c.WeightInit weightInit

let private readModel path (current: Model) (n: JsonNode) : Model =
    let o =
        match n with
        | :? JsonObject as o -> o
        | _ -> fail "config field '%s' must be an object" path
    let read key (codec: Codec<'a>) = get o key |> Option.map (codec.Read (child path key) Unchecked.defaultof<'a>)
    let changes =
        { Kind = read "kind" (Codec.choice Choices.modelKind)
          Widths = read "widths" (Codec.list Codec.int)
          Width = read "width" Codec.int
          Hidden = read "hidden" Codec.int
          Layers = read "layers" Codec.int
          Activation = read "activation" (Codec.choice Choices.activation)
          Parameterisation = read "parameterisation" (Codec.choice Choices.parameterisation)
          Convs = read "convs" convLayers
          Dense = read "dense" (Codec.list Codec.int)
          Loss = read "loss" (Codec.choice Choices.loss)
          WeightInit = read "weightInit" (Codec.choice Choices.weightInit)
          Name = read "name" Codec.string }
    let arch, _, _ = current
    let kind = defaultArg changes.Kind (kindOf arch)
    if kind = "resmlp" || changes.Parameterisation.IsNone then
        checkKeys path o (modelKeys |> List.find (fst >> (=) kind) |> snd)
    changeModel changes current

let private writeModel ((arch, loss, weightInit): Model) : JsonNode =
    let o = JsonObject()
    let ints (xs: int list) = (Codec.list Codec.int).Write xs
    match arch with
    | Architecture.Mlp(ws, act) ->
        o["kind"] <- "mlp"
        o["widths"] <- ints ws
        o["activation"] <- string act
    | Architecture.ResidualMlp(w, l, act, p) ->
        o["kind"] <- "resmlp"
        o["width"] <- w
        o["layers"] <- l
        o["activation"] <- string act
        o["parameterisation"] <- string p
    | Architecture.ConvNet(cs, ds, act) ->
        o["kind"] <- "conv"
        o["convs"] <- convLayers.Write cs
        o["dense"] <- ints ds
        o["activation"] <- string act
    | Architecture.ResNet18(w, act) ->
        o["kind"] <- "resnet18"
        if w <> 64 then o["width"] <- w
        o["activation"] <- string act
    | Architecture.Custom name ->
        o["kind"] <- "custom"
        o["name"] <- name
    o["loss"] <- string loss
    o["weightInit"] <- string weightInit
    o

let private modelSchema () =
    let props =
        schemaOf
            [ "kind", described ((Codec.choice Choices.modelKind).Schema()) "Architecture (switching starts from that kind's defaults; custom: a network of your own modules, from code)"
              "widths", described ((Codec.list Codec.int).Schema()) "mlp: the hidden widths"
              "width", described (Codec.int.Schema()) "mlp: width of every hidden layer (with hidden; default: the current width); resmlp: its width; resnet18: the stem's channels"
              "hidden", described (Codec.int.Schema()) "mlp: number of hidden layers (with width; default: the current number)"
              "layers", described (Codec.int.Schema()) "resmlp: weight layers L >= 3"
              "parameterisation", described ((Codec.choice Choices.parameterisation).Schema()) "resmlp: sp, mupc or ntp scalings"
              "convs", described (convLayers.Schema()) "conv: the 3x3 same convolutions, as JSON ([{\"channels\": 32, \"pool\": true}, ...])"
              "dense", described ((Codec.list Codec.int).Schema()) "conv: hidden widths after flattening"
              "name", described (Codec.string.Schema()) "custom: the name of a network built from its own modules (only from code)"
              "activation", described ((Codec.choice Choices.activation).Schema()) "Activation of the hidden layers"
              "loss", described ((Codec.choice Choices.loss).Schema()) "Output term of the energy: ce (cross-entropy of the softmax) or mse (squared error)"
              "weightInit", described ((Codec.choice Choices.weightInit).Schema()) "Weights of plain networks: default (PyTorch's), kaiming or lecun" ]
    schemaOf [ "type", JsonValue.Create "object"; "properties", props; "additionalProperties", JsonValue.Create false ]

/// The `model` object: `kind` selects the architecture; `activation`, `loss` and `weightInit` apply to every kind.
let model: Codec<Model> = { Read = readModel; Write = writeModel; Schema = modelSchema }

// ---- algorithm ----

/// The PC settings a configuration falls back to when it switches to `pc` without giving them.
let private defaultPc = { Inference = InferenceOptions.spc 5 0.1; Init = Init.forward }

/// Changes to the training algorithm (None: keep).
type AlgorithmChanges =
    { /// bp or pc.
      Kind: string option
      /// Changes to the inference settings (pc only).
      Inference: (InferenceOptions -> InferenceOptions) option
      /// The initializer (pc only).
      Init: Initializer option }

    /// No change.
    static member None = { Kind = None; Inference = None; Init = None }

/// Applies changes to an algorithm. Switching to pc starts from sPC, T = 5, step 0.1,
/// forward initialisation; inference settings or an initializer with bp are refused.
let changeAlgorithm (c: AlgorithmChanges) (current: Algorithm) : Algorithm =
    let pc =
        match current with
        | Algorithm.PredictiveCoding pc -> pc
        | Algorithm.Backprop -> defaultPc
    let pc = match c.Inference with Some f -> { pc with Inference = f pc.Inference } | None -> pc
    let pc = match c.Init with Some i -> { pc with Init = i } | None -> pc
    let kind =
        match c.Kind, current with
        | Some k, _ -> Choices.algorithm.Parse k
        | None, Algorithm.Backprop -> "bp"
        | None, Algorithm.PredictiveCoding _ -> "pc"
    if kind = "bp" then
        if c.Inference.IsSome then raise (ConfigError "config field 'inference' applies to predictive coding (algorithm: pc), not bp")
        if c.Init.IsSome then raise (ConfigError "config field 'init' applies to predictive coding (algorithm: pc), not bp")
        Algorithm.Backprop
    else Algorithm.PredictiveCoding pc

/// The keys `algorithm`, `inference` and `init` of a run, read together: `inference`
/// and `init` set the predictive-coding settings and belong to `algorithm: pc`.
let private algorithm: Field<TrainConfig> =
    { Keys = [ "algorithm"; "inference"; "init" ]
      Read =
        fun path c o ->
            let changes =
                { Kind = get o "algorithm" |> Option.map ((Codec.choice Choices.algorithm).Read (child path "algorithm") "")
                  Inference = get o "inference" |> Option.map (fun n current -> inference.Read (child path "inference") current n)
                  Init = get o "init" |> Option.map (InitText.codec.Read (child path "init") Init.forward) }
            { c with Algorithm = changeAlgorithm changes c.Algorithm }
      Write =
        fun c ->
            match c.Algorithm with
            | Algorithm.Backprop -> [ "algorithm", JsonValue.Create "bp" ]
            | Algorithm.PredictiveCoding pc ->
                [ "algorithm", JsonValue.Create "pc"; "inference", inference.Write pc.Inference; "init", InitText.codec.Write pc.Init ]
      Schema =
        fun () ->
            [ "algorithm", (let s = (Codec.choice Choices.algorithm).Schema() in s["description"] <- "Training algorithm: bp (backpropagation) or pc (predictive coding)"; s)
              "inference", inference.Schema()
              "init", (let s = InitText.codec.Schema() in s["description"] <- "Initializer of the hidden states (pc only), e.g. forward, avg, keep, zero, random(0,1), 'forward[1..2] + avg[3..]'"; s) ] }

// ---- a run ----

/// A training run's configuration.
let train: Codec<TrainConfig> =
    Codec.record
        [ Codec.field "name" "Run name (run folder, tables)" Codec.string (fun c -> c.Name) (fun v c -> { c with Name = v })
          Codec.field "dataset" "Dataset: fashion-mnist, mnist10k, mnist, kmnist, cifar10 or folder:PATH" Codec.string (fun c -> c.Dataset) (fun v c -> { c with Dataset = v })
          Codec.optional "data" "Dataset root folder (default: $HYBRID_DATA, then ~/.local/share/hybrid/datasets, then /usr/share/datasets)" Codec.string (fun c -> c.DataRoot) (fun v c -> { c with DataRoot = v })
          Codec.field "fraction" "Fraction of the training set, in (0,1] (class-stratified, seeded)" Codec.float (fun c -> c.Fraction) (fun v c -> { c with Fraction = v })
          Codec.field "normalisation" "Inputs as read (unit: images in [0,1]) or standardised per channel with the training subset's statistics" (Codec.choice Choices.normalisation) (fun c -> c.Normalisation) (fun v c -> { c with Normalisation = v })
          Codec.field "model" "The network" model (fun c -> c.Architecture, c.Loss, c.WeightInit) (fun (a, l, w) c -> { c with Architecture = a; Loss = l; WeightInit = w })
          algorithm
          Codec.field "optimizer" "The weight optimiser" optimizer (fun c -> c.Optimizer) (fun v c -> { c with Optimizer = v })
          Codec.field "epochs" "Epochs" (Codec.atLeast 1 Codec.int) (fun c -> c.Epochs) (fun v c -> { c with Epochs = v })
          Codec.field "batchSize" "Batch size" (Codec.atLeast 1 Codec.int) (fun c -> c.BatchSize) (fun v c -> { c with BatchSize = v })
          Codec.field "batching" "Batches: random (a fresh permutation each epoch) or stream (stream-aligned: classes in order, as the stream average needs)" (Codec.choice Choices.batching) (fun c -> c.Batching) (fun v c -> { c with Batching = v })
          Codec.field "seed" "Seed of weights, fraction, batches and initializers" Codec.int64 (fun c -> c.Seed) (fun v c -> { c with Seed = v })
          Codec.field "precision" "Floating-point precision: float32 or float64" (Codec.choice Choices.precision) (fun c -> c.Precision) (fun v c -> { c with Precision = v })
          Codec.field "device" "Compute device: auto (CUDA if available, else CPU), cpu or cuda" (Codec.choice Choices.device) (fun c -> c.Device) (fun v c -> { c with Device = v })
          Codec.field "evalBatchSize" "Samples per evaluation chunk (memory only)" (Codec.atLeast 1 Codec.int) (fun c -> c.EvalBatchSize) (fun v c -> { c with EvalBatchSize = v })
          Codec.field "evalEvery" "Also measure test accuracy every this many updates (0: epoch ends only); the points go into summary.json" Codec.int (fun c -> c.EvalEvery) (fun v c -> { c with EvalEvery = v })
          Codec.field "tensorBoard" "Write TensorBoard event files into the run folder (tensorboard --logdir RUNS)" Codec.bool (fun c -> c.TensorBoard) (fun v c -> { c with TensorBoard = v }) ]

/// The JSON keys of an algorithm (`algorithm`, and for pc `inference` and `init`), as a
/// configuration writes them.
let algorithmJson (a: Algorithm) : JsonObject = schemaOf (algorithm.Write { defaults with Algorithm = a })

/// The configuration on data given in memory under `name` (no data root).
let onData (name: string) (c: TrainConfig) = { c with Dataset = name; DataRoot = None }

/// The configuration of a run that trains `net`: its architecture, loss and precision.
let forNetwork (net: Network) (c: TrainConfig) = { c with Architecture = net.Architecture; Loss = net.Loss; Precision = net.Precision }

/// Validates a configuration; the error is a `ConfigError` naming the field.
let validate (c: TrainConfig) =
    try c.Validate()
    with :? ArgumentException as e ->
        match e.ParamName with
        | null -> raise (ConfigError(Codec.message e))
        | p -> raise (ConfigError(sprintf "config field '%s': %s" p (Codec.message e)))
    c

/// Reads a JSON document onto `baseConfig` and validates the result.
let parse (json: string) (baseConfig: TrainConfig) : TrainConfig = Codec.read train baseConfig json |> validate

/// Reads a JSON object onto `baseConfig` (not validated: further fields may follow).
let apply (o: JsonNode) (baseConfig: TrainConfig) : TrainConfig = train.Read "" baseConfig o

/// Reads a configuration file onto `baseConfig` and validates the result; errors name the file.
let load (path: string) (baseConfig: TrainConfig) : TrainConfig =
    let c = Codec.load train baseConfig path
    try validate c with ConfigError msg -> fail "%s: %s" path msg

/// The configuration as a JSON object (every field written).
let toJson (c: TrainConfig) : JsonObject = train.Write c :?> JsonObject

/// The configuration as indented JSON text.
let toText (c: TrainConfig) = Codec.writeText (toJson c)

/// The `train` form: a training run (`hybrid train`, `config.json` of a run folder, checkpoints).
let form: Form<TrainConfig> =
    Form.create "train" "Hybrid training run" "hybrid train --config FILE" train defaults (validate >> ignore)
        [ FlagRule.Named("model.kind", "--model")
          FlagRule.NoFlag "model.name"
          FlagRule.Named("inference.steps", "--steps", [ "-T" ])
          FlagRule.Named("inference.dense", "--dense-inference")
          FlagRule.Named("optimizer.kind", "--optimizer")
          FlagRule.Named("optimizer.momentum", "--sgd-momentum") ]
