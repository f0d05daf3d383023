/// Training and evaluation over a dataset: epochs of batches, BP or predictive
/// coding, evaluation with forward initialisation, per-epoch records.
namespace Hybrid

    /// Predictive-coding settings of a run.
    type PcSpec =
        {
          Inference: InferenceOptions
          Init: Initializer
        }

    /// How the weights are trained.
    [<RequireQualifiedAccess>]
    type Algorithm =
        /// Backpropagation of the output loss.
        | Backprop

        /// Inference, then the local weight update.
        | PredictiveCoding of PcSpec
        override ToString: unit -> string

    /// One training run, fully specified. Every field has a meaning in the config file.
    type TrainConfig =
        {
          /// A name for the run (folder names, tables).
          Name: string

          /// Dataset name (registry) or `folder:PATH`.
          Dataset: string

          /// Data root (`--data`), if given.
          DataRoot: string option

          /// Fraction of the training set, in (0,1].
          Fraction: float
          Normalisation: Data.Normalisation
          Architecture: Architecture

          /// How the weights of plain networks are drawn.
          WeightInit: WeightInit
          Loss: Loss
          Algorithm: Algorithm
          Optimizer: OptimizerSpec
          Epochs: int
          BatchSize: int
          Batching: Data.Batching
          Seed: int64
          Precision: Precision
          Device: DeviceChoice

          /// Batch size for evaluation (memory only; results do not depend on it).
          EvalBatchSize: int

          /// Test accuracy is also measured every this many weight updates (0: only at the
          /// end of each epoch); the points are the run's `Evaluations`.
          EvalEvery: int

          /// Whether the run folder gets TensorBoard event files (the other files are written either way).
          TensorBoard: bool
        }

        /// Checks everything that can be checked before data is read; the message names the field.
        member Validate: unit -> unit

        /// Checks what depends on the network's number of hidden layers (predictive coding
        /// needs one, and the initializer's layer ranges must fit).
        member ValidateDepth: hidden: int -> unit

    /// One epoch's results.
    type EpochRecord =
        {
          Epoch: int

          /// Test accuracy in percent (forward pass).
          TestAccuracy: float

          /// Mean over the epoch's batches of the energy at the final states divided
          /// by the batch size (BP: the mean loss).
          TrainEnergy: float

          /// Mean final energy per layer (hidden layers, then output), per sample (PC only).
          LayerEnergies: float array

          /// Sequential matrix multiplications so far.
          Smm: int64

          /// Block products actually computed so far (matrix products for an MLP; see `Smm.products`).
          Products: int64

          /// Weight updates so far.
          Updates: int64

          /// Mean inference steps per batch this epoch (PC only).
          MeanSteps: float

          /// Training seconds so far (evaluation excluded).
          Seconds: float
        }

    /// A test accuracy measured during training (every `EvalEvery` updates, and at the
    /// end of each epoch), with the cost of training up to it.
    type EvalPoint =
        {
          /// The epoch (1-based) the point falls in.
          Epoch: int

          /// Batches of that epoch done.
          Batch: int

          /// Weight updates so far.
          Updates: int64

          /// Sequential matrix multiplications so far.
          Smm: int64

          /// Training seconds so far (evaluation excluded).
          Seconds: float

          /// Test accuracy in percent.
          TestAccuracy: float
        }

    /// Progress reported during training.
    type TrainProgress =
        {
          Epoch: int
          Epochs: int
          Batch: int
          Batches: int

          /// Energy (per sample) of the last batch.
          Energy: float

          /// Last epoch's test accuracy, if any.
          LastAccuracy: float option

          /// Training seconds so far.
          Seconds: float
        }

    /// How a run ended.
    [<RequireQualifiedAccess>]
    type RunStatus =
        | Completed
        | Diverged of message: string
        | Cancelled
        override ToString: unit -> string

    /// The outcome of a training run.
    type TrainResult =
        {
          Config: TrainConfig
          Status: RunStatus
          Epochs: EpochRecord list

          /// Highest test accuracy over the completed epochs (the paper's protocol), if any.
          BestAccuracy: float option

          /// Test accuracy after the last completed epoch, if any.
          FinalAccuracy: float option

          /// Every measured test accuracy in order (epoch ends, and every `EvalEvery` updates).
          Evaluations: EvalPoint list
          Smm: int64

          /// Block products actually computed.
          Products: int64
          Seconds: float
        }

    /// Loaded data for a run, on its device. Owns its tensors.
    type RunData =
        {
          Train: Data.TensorSplit
          Test: Data.TensorSplit
          Classes: int
          InputShape: int64 array

          /// The per-channel mean and std the inputs were standardised with (None: used as read).
          Stats: (float * float) array option
        }
        interface System.IDisposable

        /// Values as the data's files hold them (float32, `[n; ...]`, n first) prepared as
        /// the run's inputs are: standardised like the training data, shaped `[n; InputShape]`,
        /// in the run's precision on its device.
        member Prepare: values: Tensor -> Tensor
    module Training =
        /// Samples per chunk when a split is evaluated (memory only: results do not depend on it).
        val evaluationBatch: int

        /// The best test accuracy over the epochs (the paper's protocol) and the last one
        /// (None for both without epochs): what a `TrainResult` reports of its epochs.
        val bestAndFinal: epochs: EpochRecord list -> float option * float option

        /// True for architectures that take flat inputs.
        val private flatInput: a: Architecture -> bool

        /// Prepares a dataset for a run whose network takes flat inputs (`flat`) or images:
        /// fraction, normalisation with the training subset's statistics, tensors on the device.
        val prepareShaped:
          cfg: TrainConfig ->
            flat: bool -> device: Device -> data: Data.Dataset -> RunData

        /// Prepares a dataset for a run of a built-in architecture (flat inputs for MLPs).
        val prepare:
          cfg: TrainConfig -> device: Device -> data: Data.Dataset -> RunData

        /// Prepares a dataset for a network built by the caller (`Network.ofModules`): flat
        /// inputs when the network takes vectors, on the network's device.
        val prepareFor:
          cfg: TrainConfig -> network: Network -> data: Data.Dataset -> RunData

        /// The first block that turns finite states into non-finite predictions, as "block i
        /// (name)": each block is applied to its state in `states` (h_0 .. h_{L-1}), and, when
        /// none does so there, the blocks are chained from `states[0]` (the forward pass).
        /// None when every block keeps finite inputs finite.
        val nonFiniteBlock: net: Network -> states: Tensor array -> string option

        /// One predictive-coding update: inference from `init` towards the minimum of F for
        /// the clamped `target`, the local weight gradient at the final states, and one step
        /// of `opt`. Returns the inference and F (summed over the batch), or where inference
        /// diverged or F stopped being finite (`batch` is named).
        val pcUpdate:
          net: Network ->
            opt: Optimizer ->
            opts: InferenceOptions ->
            init: InitResult ->
            target: Tensor ->
            batch: int -> Result<(InferenceResult * float),DivergenceInfo>

        /// Test accuracy (percent) of the plain forward pass (forward initialisation, F = 0).
        val accuracy:
          net: Network -> split: Data.TensorSplit -> batchSize: int -> float
