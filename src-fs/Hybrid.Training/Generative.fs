/// Generative (unsupervised) predictive coding (SPEC.md 1.7): a decoder-only MLP
/// with the image clamped at the output and a free latent h_0. Training infers all
/// states for T_train steps and updates the weights; evaluation clamps a test image,
/// infers the states for T_eval steps (no weight update), forwards h_0 through the
/// decoder and reports the mean squared error to the image.
module Hybrid.Generative

open System
open System.Diagnostics
open System.Threading
open TorchSharp
open System.Text.Json.Nodes
open Hybrid.Data

/// One generative run.
type GenConfig =
    { Name: string
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
      Device: DeviceChoice }

    /// Checks the settings before any work.
    member this.Validate() =
        if this.Latent < 1 then invalidArg "latent" (sprintf "the latent needs at least 1 unit, got %d" this.Latent)
        (Architecture.Mlp(this.Widths, this.Activation)).Validate()
        if not (this.Fraction > 0.0 && this.Fraction <= 1.0) then invalidArg "fraction" (sprintf "training fraction %g is outside (0,1]" this.Fraction)
        if this.Epochs < 1 then invalidArg "epochs" (sprintf "epochs must be at least 1, got %d" this.Epochs)
        if this.BatchSize < 1 then invalidArg "batchSize" (sprintf "batch size must be at least 1, got %d" this.BatchSize)
        (InferenceOptions.spc this.TrainSteps this.TrainStepSize).Validate()
        (InferenceOptions.spc this.EvalSteps this.EvalStepSize).Validate()
        this.Optimizer.Validate()
        this.Init.Validate(0, this.Widths.Length)
        for l in 0 .. this.Widths.Length do
            match this.Init.KindAt l with
            | InitKind.StreamAverage -> invalidArg "init" "the stream average needs labels; generative training has none"
            | InitKind.Forward when l = 0 -> invalidArg "init" "forward initialisation does not exist for the latent layer h_0 (start with zero, random, keep or mem)"
            | _ -> ()

/// The paper's setup (section C.2): latent 64, three hidden layers of 256, batch 200, AdamW.
let defaults =
    { Name = "generative"
      Dataset = "fashion-mnist"
      DataRoot = None
      Fraction = 1.0
      Latent = 64
      Widths = [ 256; 256; 256 ]
      Activation = Activation.Tanh
      Init = Init.zero
      TrainSteps = 5
      TrainStepSize = 0.1
      EvalSteps = 5
      EvalStepSize = 0.1
      Optimizer = OptimizerSpec.AdamW(3e-4, 0.0)
      Epochs = 16
      BatchSize = 200
      Seed = 0L
      Precision = Precision.Float32
      Device = DeviceChoice.Auto }

/// The JSON form of a generative configuration (flat: `lr` and `weightDecay` set AdamW).
let codec: Codec<GenConfig> =
    let adamw (c: GenConfig) = match c.Optimizer with OptimizerSpec.AdamW(lr, wd) -> lr, wd | OptimizerSpec.Sgd(lr, _) -> lr, 0.0
    Codec.record
        [ Codec.field "name" "Run name" Codec.string (fun c -> c.Name) (fun v c -> { c with Name = v })
          Codec.field "dataset" "Dataset: fashion-mnist, mnist10k, mnist, kmnist or folder:PATH" Codec.string (fun c -> c.Dataset) (fun v c -> { c with Dataset = v })
          Codec.optional "data" "Dataset root folder" Codec.string (fun c -> c.DataRoot) (fun v c -> { c with DataRoot = v })
          Codec.field "fraction" "Fraction of the training set, in (0,1]" Codec.float (fun c -> c.Fraction) (fun v c -> { c with Fraction = v })
          Codec.field "latent" "Size of the free latent h_0" Codec.int (fun c -> c.Latent) (fun v c -> { c with Latent = v })
          Codec.field "widths" "Hidden widths between the latent and the image" (Codec.list Codec.int) (fun c -> c.Widths) (fun v c -> { c with Widths = v })
          Codec.field "activation" "Activation of the hidden layers" (Codec.choice Choices.activation) (fun c -> c.Activation) (fun v c -> { c with Activation = v })
          Codec.field "init" "Initializer of layers 0..L-1" InitText.codec (fun c -> c.Init) (fun v c -> { c with Init = v })
          Codec.field "trainSteps" "T_train" Codec.int (fun c -> c.TrainSteps) (fun v c -> { c with TrainSteps = v })
          Codec.field "trainStepSize" "State step size alpha during training" Codec.float (fun c -> c.TrainStepSize) (fun v c -> { c with TrainStepSize = v })
          Codec.field "evalSteps" "T_eval" Codec.int (fun c -> c.EvalSteps) (fun v c -> { c with EvalSteps = v })
          Codec.field "evalStepSize" "State step size alpha during evaluation" Codec.float (fun c -> c.EvalStepSize) (fun v c -> { c with EvalStepSize = v })
          Codec.field "lr" "AdamW learning rate of the weights" Codec.float (adamw >> fst) (fun v c -> { c with Optimizer = OptimizerSpec.AdamW(v, snd (adamw c)) })
          Codec.field "weightDecay" "AdamW weight decay" Codec.float (adamw >> snd) (fun v c -> { c with Optimizer = OptimizerSpec.AdamW(fst (adamw c), v) })
          Codec.field "epochs" "Epochs" Codec.int (fun c -> c.Epochs) (fun v c -> { c with Epochs = v })
          Codec.field "batchSize" "Batch size" Codec.int (fun c -> c.BatchSize) (fun v c -> { c with BatchSize = v })
          Codec.field "seed" "Seed" Codec.int64 (fun c -> c.Seed) (fun v c -> { c with Seed = v })
          Codec.field "precision" "Floating-point precision: float32 or float64" (Codec.choice Choices.precision) (fun c -> c.Precision) (fun v c -> { c with Precision = v })
          Codec.field "device" "Compute device: auto, cpu or cuda" (Codec.choice Choices.device) (fun c -> c.Device) (fun v c -> { c with Device = v }) ]

/// Validates a configuration; the error is a `ConfigError` naming the field.
let validate (c: GenConfig) =
    Codec.wrap "" (fun () -> c.Validate())
    c

/// Reads a generative configuration document onto `baseConfig` and validates it.
let parse (json: string) (baseConfig: GenConfig) : GenConfig = Codec.read codec baseConfig json |> validate

/// Reads a generative configuration file onto `baseConfig` and validates it; errors name the file.
let load (path: string) (baseConfig: GenConfig) : GenConfig =
    let c = Codec.load codec baseConfig path
    try validate c with ConfigError msg -> raise (ConfigError(sprintf "%s: %s" path msg))

/// The decoder network of a configuration for images of `pixels` values.
let network (cfg: GenConfig) (pixels: int) (device: torch.Device) =
    Network.create (Architecture.Mlp(cfg.Widths, cfg.Activation)) Loss.SquaredError [| int64 cfg.Latent |] pixels cfg.Precision device (Rng.derive cfg.Seed "weights")

let private options steps stepSize = { InferenceOptions.spc steps stepSize with InputFree = true }

/// Infers the states of a batch of images for `steps` steps (no weight update) and
/// decodes h_0: the reconstructions, `[n; pixels]`. The final states are recorded
/// for `keep` (memories are not trained here).
let reconstruct (net: Network) (init: Initializer) (state: InitState) (images: torch.Tensor) (steps: int) (stepSize: float) (generator: torch.Generator) : torch.Tensor =
    let ctx = InitContext.generative net images generator
    let start = InitApply.apply init state ctx true
    let r = Inference.run net (options steps stepSize) start (Some images) None
    state.Record(net, init, r.States, None, None)
    use _ = torch.no_grad ()
    net.Forward r.States[0]

/// Mean squared error per pixel of reconstructing `images` in batches.
let evaluate (net: Network) (init: Initializer) (state: InitState) (images: torch.Tensor) (steps: int) (stepSize: float) (batchSize: int) (seed: int64) : float =
    use g = Rng.generator (Rng.derive seed "eval") torch.CPU
    let n = images.shape[0]
    let mutable total = 0.0
    let mutable start = 0L
    while start < n do
        use _ = torch.NewDisposeScope()
        let len = min (int64 batchSize) (n - start)
        let x = images.narrow(0L, start, len)
        let recon = reconstruct net init state x steps stepSize g
        total <- total + Scope.scalar ((Ops.minus recon x).square().sum())
        start <- start + len
    total / float (n * images.shape[1])

/// One epoch's results.
type GenEpoch =
    { Epoch: int
      /// Mean final energy per sample over the epoch's batches.
      TrainEnergy: float
      /// Reconstruction MSE per pixel on the test images.
      TestMse: float
      Seconds: float }

/// The outcome of a generative run.
type GenResult =
    { Config: GenConfig
      Status: RunStatus
      Epochs: GenEpoch list
      /// Lowest test reconstruction error over the completed epochs.
      Best: float option
      /// Reconstructions of the first test images after the last epoch (rows of pixels).
      Samples: float32[][] }

/// A session of generative training, advanced batch by batch and evaluated after each
/// epoch; it saves and resumes exactly, like a supervised session (weights, optimiser,
/// initializer state, random generator, progress). Owns its network, optimiser and
/// initializer state; the images are the caller's.
type GenerativeSession private (cfg: GenConfig, trainImages: torch.Tensor, testImages: torch.Tensor) =
    do cfg.Validate()
    let device = trainImages.device
    let net = network cfg (int trainImages.shape[1]) device
    let opt = Learning.optimizer cfg.Optimizer net
    let state = new InitState(0, Rng.derive cfg.Seed "init-state")
    let gen = Rng.generator (Rng.derive cfg.Seed "init") torch.CPU
    let learner: Checkpoint.Learner = { Network = net; Optimizer = opt; InitState = state; Generator = gen }
    let labels = Array.zeroCreate<int> (int trainImages.shape[0])
    let trainOpts = options cfg.TrainSteps cfg.TrainStepSize
    let records = ResizeArray<GenEpoch>()
    let batchesOf = EpochBatches(fun e -> Batching.epoch Batching.Random 1 cfg.BatchSize (Rng.derive cfg.Seed "batches") e labels)
    // Where the run stands: a value, replaced at each step (this session owns the current one).
    let mutable cursor = Cursor.Start cfg.Epochs

    /// One update on a batch of images; Error when inference diverged or F is not finite.
    let trainBatch (indices: int64[]) =
        use _ = torch.NewDisposeScope()
        let x = trainImages.index_select(0L, torch.tensor(indices, device = device))
        let ctx = InitContext.generative net x gen
        let init = InitApply.apply cfg.Init state ctx true
        Training.pcUpdate net opt trainOpts init x cursor.BatchCounter
        |> Result.map (fun (r, F) ->
            state.Record(net, cfg.Init, r.States, None, ctx.Observation)
            F / float indices.Length)

    /// Creates a session at the start of training on images `[n; pixels]` in [0,1].
    static member Start(cfg: GenConfig, trainImages: torch.Tensor, testImages: torch.Tensor) = new GenerativeSession(cfg, trainImages, testImages)

    /// The configuration.
    member _.Config = cfg
    /// The decoder.
    member _.Network = net
    /// The next epoch (1-based) and batch (0-based) to run.
    member _.Position = cursor.Epoch, cursor.Batch
    /// Whether every epoch has run (or the run stopped).
    member _.Finished = cursor.Finished
    /// The completed epochs.
    member _.Records: GenEpoch list = List.ofSeq records
    /// How the run stands.
    member _.Status = cursor.Status

    /// Runs the next batch (and the epoch's evaluation when it completes the epoch).
    /// Returns the batch's energy per sample, and the epoch record when one completed.
    member this.Step() : float * GenEpoch option =
        if this.Finished then invalidOp "the session has finished"
        cursor <- cursor.Continue()
        let batches = batchesOf.Of cursor.Epoch
        let watch = Stopwatch.StartNew()
        let outcome = trainBatch batches[cursor.Batch]
        cursor <- cursor.Timed watch.Elapsed.TotalSeconds
        match outcome with
        | Error info ->
            cursor <- cursor.Diverged info.Message
            nan, None
        | Ok energy ->
            let next, epochDone = cursor.Advance(energy, batches.Length)
            cursor <- next
            if not epochDone then energy, None
            else
            // Evaluation infers too, and may diverge.
            match (try Ok(evaluate net cfg.Init state testImages cfg.EvalSteps cfg.EvalStepSize cfg.BatchSize cfg.Seed) with DivergenceError info -> Error info) with
            | Error info ->
                cursor <- cursor.Diverged info.Message
                nan, None
            | Ok mse ->
                let r = { Epoch = cursor.Epoch; TrainEnergy = cursor.EpochEnergy batches.Length; TestMse = mse; Seconds = cursor.Seconds }
                records.Add r
                cursor <- cursor.NextEpoch()
                Runtime.releaseMemory ()
                energy, Some r

    /// Test reconstruction MSE per pixel of the decoder as it stands, with `steps`
    /// inference steps (T_eval) at the configuration's evaluation step size; the final
    /// states are recorded for `keep`, as an epoch's evaluation records them.
    member _.EvaluateAt(steps: int) : float =
        if steps < 1 then invalidArg "steps" (sprintf "steps must be at least 1, got %d" steps)
        evaluate net cfg.Init state testImages steps cfg.EvalStepSize cfg.BatchSize cfg.Seed

    /// Runs until the last epoch, a divergence, or cancellation (checked between batches).
    member this.Run(progress: TrainProgress -> unit, onEpoch: GenEpoch -> unit, cancel: CancellationToken) =
        while not this.Finished && not cancel.IsCancellationRequested do
            let e, b, batches = cursor.Epoch, cursor.Batch, (batchesOf.Of cursor.Epoch).Length
            let energy, record = this.Step()
            if cursor.Status = RunStatus.Completed then
                progress { Epoch = e; Epochs = cfg.Epochs; Batch = b + 1; Batches = batches; Energy = energy; LastAccuracy = None; Seconds = cursor.Seconds }
                record |> Option.iter onEpoch
        cursor <- cursor.Cancelled cancel.IsCancellationRequested

    /// The run's result so far, with the reconstructions of the first `samples` test
    /// images when it completed.
    member _.Result(samples: int) : GenResult =
        let shown =
            if cursor.Status <> RunStatus.Completed || samples < 1 then [||]
            else
                use _ = torch.NewDisposeScope()
                let k = min (int64 samples) testImages.shape[0]
                let recon = reconstruct net cfg.Init state (testImages.narrow(0L, 0L, k)) cfg.EvalSteps cfg.EvalStepSize gen
                recon.to_type(torch.float32).cpu().data<float32>().ToArray() |> Array.chunkBySize (int testImages.shape[1])
        { Config = cfg
          Status = cursor.Status
          Epochs = List.ofSeq records
          Best = if records.Count = 0 then None else Some(records |> Seq.map (fun r -> r.TestMse) |> Seq.min)
          Samples = shown }

    /// Saves everything needed to continue exactly. The write is atomic.
    member _.Save(path: string) =
        use _ = torch.NewDisposeScope()
        let meta = JsonObject()
        meta["kind"] <- "generative-session"
        meta["config"] <- codec.Write cfg
        let p = JsonObject()
        cursor.Write p
        meta["progress"] <- p
        meta["records"] <-
            JsonArray(
                [| for r in records ->
                       let o = JsonObject()
                       o["epoch"] <- r.Epoch
                       o["trainEnergy"] <- r.TrainEnergy
                       o["testMse"] <- r.TestMse
                       o["seconds"] <- r.Seconds
                       o :> JsonNode |])
        Checkpoint.save path { Meta = meta; Tensors = Map.ofList (Checkpoint.learnerTensors learner meta p) }

    /// Restores a session saved by `Save` onto the same images.
    static member Restore(path: string, trainImages: torch.Tensor, testImages: torch.Tensor) : GenerativeSession =
        Checkpoint.openSession path "generative-session"
            (fun c -> new GenerativeSession(codec.Read "config" defaults c.Meta["config"] |> validate, trainImages, testImages))
            (fun s c -> s.RestoreFrom(path, c))

    member private _.RestoreFrom(path: string, c: Checkpoint.Contents) =
        Checkpoint.restoreLearner path "generative-session" c learner device
        cursor <- Cursor.Read(c.Meta["progress"], cfg.Epochs)
        records.Clear()
        for r in c.Meta["records"].AsArray() do
            records.Add
                { Epoch = r["epoch"].GetValue<int>()
                  TrainEnergy = r["trainEnergy"].GetValue<float>()
                  TestMse = r["testMse"].GetValue<float>()
                  Seconds = r["seconds"].GetValue<float>() }

    interface IDisposable with
        member _.Dispose() =
            (opt :> IDisposable).Dispose()
            (state :> IDisposable).Dispose()
            gen.Dispose()
            (net :> IDisposable).Dispose()

/// Trains on prepared images (`[n; pixels]`, values in [0,1]) and evaluates each
/// epoch; returns the reconstructions of the first `samples` test images at the end.
let trainWithSamples (cfg: GenConfig) (trainImages: torch.Tensor) (testImages: torch.Tensor) (samples: int) (progress: TrainProgress -> unit) (onEpoch: GenEpoch -> unit) (cancel: CancellationToken) : GenResult =
    use s = GenerativeSession.Start(cfg, trainImages, testImages)
    s.Run(progress, onEpoch, cancel)
    s.Result samples

/// Trains on prepared images (`[n; pixels]`, values in [0,1]) and evaluates each epoch.
let train (cfg: GenConfig) (trainImages: torch.Tensor) (testImages: torch.Tensor) (progress: TrainProgress -> unit) (onEpoch: GenEpoch -> unit) (cancel: CancellationToken) : GenResult =
    trainWithSamples cfg trainImages testImages 0 progress onEpoch cancel

/// Images of a dataset split as `[n; pixels]` in [0,1] on a device.
let images (device: torch.Device) (precision: Precision) (split: RawSplit) : torch.Tensor =
    Scope.keep (fun () ->
        torch.tensor(split.Pixels).reshape(int64 split.Count, int64 split.SampleSize).to_type(precision.ScalarType).``to``(device))
