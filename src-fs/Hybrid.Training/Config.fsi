/// Run configurations in their JSON form: the codecs of `TrainConfig` and its
/// parts, built from `Codec`. `Config.read`/`Config.load` read a document onto a
/// configuration and validate the result; `Config.toJson` writes every field, so
/// that what is written reads back equal.
module Hybrid.Config

/// The paper's supervised setup (Pinchetti et al., Table 1): 5-layer MLP of
/// width 512, batch 200, 16 epochs, AdamW on the weights, SGD on the states.
val defaults: TrainConfig

val private fail: fmt: Printf.StringFormat<'a,'b> -> 'a

val private child: path: string -> key: string -> string

val private get:
  o: System.Text.Json.Nodes.JsonObject ->
    key: string -> System.Text.Json.Nodes.JsonNode option

val private checkKeys:
  path: string ->
    o: System.Text.Json.Nodes.JsonObject -> known: string list -> unit

val private schemaOf:
  pairs: (string * System.Text.Json.Nodes.JsonNode) list ->
    System.Text.Json.Nodes.JsonObject

/// A memory's settings as an object (checkpoints keep them this way).
val memorySpec: Codec<MemorySpec>

/// The `inference` object.
val inference: Codec<InferenceOptions>

/// Changes to an optimiser (None: keep). Switching kind keeps the learning rate.
type OptimizerChanges =
    {
      Kind: string option
      LearningRate: float option

      /// AdamW only.
      WeightDecay: float option

      /// SGD only.
      Momentum: float option
    }

    /// No change.
    static member None: OptimizerChanges

/// Applies changes to an optimiser; a setting of the other kind is refused.
val changeOptimizer:
  c: OptimizerChanges -> current: OptimizerSpec -> OptimizerSpec

val private described:
  s: System.Text.Json.Nodes.JsonObject ->
    d: string -> System.Text.Json.Nodes.JsonNode

/// The `optimizer` object: `kind` (adamw or sgd), `lr`, and `weightDecay` (adamw) or `momentum` (sgd).
val optimizer: Codec<OptimizerSpec>

/// The network of a run: its architecture, output loss and weight initialisation.
type Model = Architecture * Loss * WeightInit

/// Fields of the `model` object, by kind.
val modelKeys: (string * string list) list

val private convLayer: Codec<ConvLayer>

val private convLayers: Codec<ConvLayer list>

val private activationOf: a: Architecture -> Activation

val private kindOf: a: Architecture -> string

/// Changes to a model, field by field (None: keep). The `model` object of a
/// configuration is read into this, and so are the command line's flags.
type ModelChanges =
    {
      Kind: string option
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
      Name: string option
    }

    /// No change.
    static member None: ModelChanges

/// Applies changes to a model. Switching kind starts from that kind's defaults (mlp:
/// four layers of 512; resmlp: width 128, 8 layers, mupc); `width` and `hidden`
/// replace the MLP's widths by that many layers of that width (each defaulting to
/// the current MLP's); the result is validated.
val changeModel: c: ModelChanges -> Architecture * Loss * WeightInit -> Model

val private readModel:
  path: string ->
    Architecture * Loss * WeightInit ->
      n: System.Text.Json.Nodes.JsonNode -> Model

val private writeModel:
  Architecture * Loss * WeightInit -> System.Text.Json.Nodes.JsonNode

val private modelSchema: unit -> System.Text.Json.Nodes.JsonObject

/// The `model` object: `kind` selects the architecture; `activation`, `loss` and `weightInit` apply to every kind.
val model: Codec<Model>

/// The PC settings a configuration falls back to when it switches to `pc` without giving them.
val private defaultPc: PcSpec

/// Changes to the training algorithm (None: keep).
type AlgorithmChanges =
    {
      /// bp or pc.
      Kind: string option

      /// Changes to the inference settings (pc only).
      Inference: (InferenceOptions -> InferenceOptions) option

      /// The initializer (pc only).
      Init: Initializer option
    }

    /// No change.
    static member None: AlgorithmChanges

/// Applies changes to an algorithm. Switching to pc starts from sPC, T = 5, step 0.1,
/// forward initialisation; inference settings or an initializer with bp are refused.
val changeAlgorithm: c: AlgorithmChanges -> current: Algorithm -> Algorithm

/// The keys `algorithm`, `inference` and `init` of a run, read together: `inference`
/// and `init` set the predictive-coding settings and belong to `algorithm: pc`.
val private algorithm: Field<TrainConfig>

/// A training run's configuration.
val train: Codec<TrainConfig>

/// The JSON keys of an algorithm (`algorithm`, and for pc `inference` and `init`), as a
/// configuration writes them.
val algorithmJson: a: Algorithm -> System.Text.Json.Nodes.JsonObject

/// The configuration on data given in memory under `name` (no data root).
val onData: name: string -> c: TrainConfig -> TrainConfig

/// The configuration of a run that trains `net`: its architecture, loss and precision.
val forNetwork: net: Network -> c: TrainConfig -> TrainConfig

/// Validates a configuration; the error is a `ConfigError` naming the field.
val validate: c: TrainConfig -> TrainConfig

/// Reads a JSON document onto `baseConfig` and validates the result.
val parse: json: string -> baseConfig: TrainConfig -> TrainConfig

/// Reads a JSON object onto `baseConfig` (not validated: further fields may follow).
val apply:
  o: System.Text.Json.Nodes.JsonNode -> baseConfig: TrainConfig -> TrainConfig

/// Reads a configuration file onto `baseConfig` and validates the result; errors name the file.
val load: path: string -> baseConfig: TrainConfig -> TrainConfig

/// The configuration as a JSON object (every field written).
val toJson: c: TrainConfig -> System.Text.Json.Nodes.JsonObject

/// The configuration as indented JSON text.
val toText: c: TrainConfig -> string

/// The `train` form: a training run (`hybrid train`, `config.json` of a run folder, checkpoints).
val form: Form<TrainConfig>
