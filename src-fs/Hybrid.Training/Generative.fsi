/// Generative (unsupervised) predictive coding (SPEC.md 1.7): a decoder-only MLP
/// with the image clamped at the output and a free latent h_0. Training infers all
/// states for T_train steps and updates the weights; evaluation clamps a test image,
/// infers the states for T_eval steps (no weight update), forwards h_0 through the
/// decoder and reports the mean squared error to the image.
module Hybrid.Generative

/// One generative run.
type GenConfig =
    {
      Name: string
      Dataset: string
      DataRoot: string option
      Fraction: float

      /// Size of the latent h_0.
      Latent: int

      /// Hidden widths between the latent and the image.
      Widths: int list
      Activation: Activation

      /// Initializer of the free layers 0..L-1 (layer 0 is the latent).
      Init: Initializer
      TrainSteps: int
      TrainStepSize: float
      EvalSteps: int
      EvalStepSize: float
      Optimizer: OptimizerSpec
      Epochs: int
      BatchSize: int
      Seed: int64
      Precision: Precision
      Device: DeviceChoice
    }

    /// Checks the settings before any work.
    member Validate: unit -> unit

/// The paper's setup (section C.2): latent 64, three hidden layers of 256, batch 200, AdamW.
val defaults: GenConfig

/// The JSON form of a generative configuration (flat: `lr` and `weightDecay` set AdamW).
val codec: Codec<GenConfig>

/// Validates a configuration; the error is a `ConfigError` naming the field.
val validate: c: GenConfig -> GenConfig

/// Reads a generative configuration document onto `baseConfig` and validates it.
val parse: json: string -> baseConfig: GenConfig -> GenConfig

/// Reads a generative configuration file onto `baseConfig` and validates it; errors name the file.
val load: path: string -> baseConfig: GenConfig -> GenConfig

/// The decoder network of a configuration for images of `pixels` values.
val network:
  cfg: GenConfig -> pixels: int -> device: TorchSharp.torch.Device -> Network

val private options: steps: int -> stepSize: float -> InferenceOptions

/// Infers the states of a batch of images for `steps` steps (no weight update) and
/// decodes h_0: the reconstructions, `[n; pixels]`. The final states are recorded
/// for `keep` (memories are not trained here).
val reconstruct:
  net: Network ->
    init: Initializer ->
    state: InitState ->
    images: TorchSharp.torch.Tensor ->
    steps: int ->
    stepSize: float ->
    generator: TorchSharp.torch.Generator -> TorchSharp.torch.Tensor

/// Mean squared error per pixel of reconstructing `images` in batches.
val evaluate:
  net: Network ->
    init: Initializer ->
    state: InitState ->
    images: TorchSharp.torch.Tensor ->
    steps: int -> stepSize: float -> batchSize: int -> seed: int64 -> float

/// One epoch's results.
type GenEpoch =
    {
      Epoch: int

      /// Mean final energy per sample over the epoch's batches.
      TrainEnergy: float

      /// Reconstruction MSE per pixel on the test images.
      TestMse: float
      Seconds: float
    }

/// The outcome of a generative run.
type GenResult =
    {
      Config: GenConfig
      Status: RunStatus
      Epochs: GenEpoch list

      /// Lowest test reconstruction error over the completed epochs.
      Best: float option

      /// Reconstructions of the first test images after the last epoch (rows of pixels).
      Samples: float32 array array
    }

/// A session of generative training, advanced batch by batch and evaluated after each
/// epoch; it saves and resumes exactly, like a supervised session (weights, optimiser,
/// initializer state, random generator, progress). Owns its network, optimiser and
/// initializer state; the images are the caller's.
type GenerativeSession =
    interface System.IDisposable
    private new: cfg: GenConfig * trainImages: TorchSharp.torch.Tensor *
                 testImages: TorchSharp.torch.Tensor -> GenerativeSession

    /// Restores a session saved by `Save` onto the same images.
    static member
      Restore: path: string * trainImages: TorchSharp.torch.Tensor *
               testImages: TorchSharp.torch.Tensor -> GenerativeSession

    /// Creates a session at the start of training on images `[n; pixels]` in [0,1].
    static member
      Start: cfg: GenConfig * trainImages: TorchSharp.torch.Tensor *
             testImages: TorchSharp.torch.Tensor -> GenerativeSession

    /// Test reconstruction MSE per pixel of the decoder as it stands, with `steps`
    /// inference steps (T_eval) at the configuration's evaluation step size; the final
    /// states are recorded for `keep`, as an epoch's evaluation records them.
    member EvaluateAt: steps: int -> float
    member private RestoreFrom: path: string * c: Checkpoint.Contents -> unit

    /// The run's result so far, with the reconstructions of the first `samples` test
    /// images when it completed.
    member Result: samples: int -> GenResult

    /// Runs until the last epoch, a divergence, or cancellation (checked between batches).
    member
      Run: progress: (TrainProgress -> unit) * onEpoch: (GenEpoch -> unit) *
           cancel: System.Threading.CancellationToken -> unit

    /// Saves everything needed to continue exactly. The write is atomic.
    member Save: path: string -> unit

    /// Runs the next batch (and the epoch's evaluation when it completes the epoch).
    /// Returns the batch's energy per sample, and the epoch record when one completed.
    member Step: unit -> float * GenEpoch option

    /// The configuration.
    member Config: GenConfig

    /// Whether every epoch has run (or the run stopped).
    member Finished: bool

    /// The decoder.
    member Network: Network

    /// The next epoch (1-based) and batch (0-based) to run.
    member Position: int * int

    /// The completed epochs.
    member Records: GenEpoch list

    /// How the run stands.
    member Status: RunStatus

/// Trains on prepared images (`[n; pixels]`, values in [0,1]) and evaluates each
/// epoch; returns the reconstructions of the first `samples` test images at the end.
val trainWithSamples:
  cfg: GenConfig ->
    trainImages: TorchSharp.torch.Tensor ->
    testImages: TorchSharp.torch.Tensor ->
    samples: int ->
    progress: (TrainProgress -> unit) ->
    onEpoch: (GenEpoch -> unit) ->
    cancel: System.Threading.CancellationToken -> GenResult

/// Trains on prepared images (`[n; pixels]`, values in [0,1]) and evaluates each epoch.
val train:
  cfg: GenConfig ->
    trainImages: TorchSharp.torch.Tensor ->
    testImages: TorchSharp.torch.Tensor ->
    progress: (TrainProgress -> unit) ->
    onEpoch: (GenEpoch -> unit) ->
    cancel: System.Threading.CancellationToken -> GenResult

/// Images of a dataset split as `[n; pixels]` in [0,1] on a device.
val images:
  device: TorchSharp.torch.Device ->
    precision: Precision -> split: Data.RawSplit -> TorchSharp.torch.Tensor
