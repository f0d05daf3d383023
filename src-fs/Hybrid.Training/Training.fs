/// Training and evaluation over a dataset: epochs of batches, BP or predictive
/// coding, evaluation with forward initialisation, per-epoch records.
namespace Hybrid

open System
open System.Diagnostics
open System.Threading
open TorchSharp
open Hybrid.Data

/// Predictive-coding settings of a run.
type PcSpec =
    { Inference: InferenceOptions
      Init: Initializer }

/// How the weights are trained.
[<RequireQualifiedAccess>]
type Algorithm =
    /// Backpropagation of the output loss.
    | Backprop
    /// Inference, then the local weight update.
    | PredictiveCoding of PcSpec

    override this.ToString() =
        match this with
        | Backprop -> "bp"
        | PredictiveCoding pc -> sprintf "%O(T=%d, step=%g, init=%O)" pc.Inference.Reparam pc.Inference.Steps pc.Inference.StepSize pc.Init

/// One training run, fully specified. Every field has a meaning in the config file.
type TrainConfig =
    { /// A name for the run (folder names, tables).
      Name: string
      /// Dataset name (registry) or `folder:PATH`.
      Dataset: string
      /// Data root (`--data`), if given.
      DataRoot: string option
      /// Fraction of the training set, in (0,1].
      Fraction: float
      Normalisation: Normalisation
      Architecture: Architecture
      /// How the weights of plain networks are drawn.
      WeightInit: WeightInit
      Loss: Loss
      Algorithm: Algorithm
      Optimizer: OptimizerSpec
      Epochs: int
      BatchSize: int
      Batching: Batching
      Seed: int64
      Precision: Precision
      Device: DeviceChoice
      /// Batch size for evaluation (memory only; results do not depend on it).
      EvalBatchSize: int
      /// Test accuracy is also measured every this many weight updates (0: only at the
      /// end of each epoch); the points are the run's `Evaluations`.
      EvalEvery: int
      /// Whether the run folder gets TensorBoard event files (the other files are written either way).
      TensorBoard: bool }

    /// Checks everything that can be checked before data is read; the message names the field.
    member this.Validate() =
        if String.IsNullOrWhiteSpace this.Name then invalidArg "name" "the run needs a name"
        if not (this.Fraction > 0.0 && this.Fraction <= 1.0) then
            invalidArg "fraction" (sprintf "training fraction %g is outside (0,1]" this.Fraction)
        this.Architecture.Validate()
        match this.Architecture, this.WeightInit with
        | Architecture.ResidualMlp _, (WeightInit.Kaiming | WeightInit.Lecun) ->
            invalidArg "weightInit" "a residual MLP's initialisation is set by its parameterisation (sp, mupc, ntp); leave the weight initialisation at default"
        | _ -> ()
        this.Optimizer.Validate()
        if this.Epochs < 1 then invalidArg "epochs" (sprintf "epochs must be at least 1, got %d" this.Epochs)
        if this.BatchSize < 1 then invalidArg "batchSize" (sprintf "batch size must be at least 1, got %d" this.BatchSize)
        if this.EvalBatchSize < 1 then invalidArg "evalBatchSize" (sprintf "evaluation batch size must be at least 1, got %d" this.EvalBatchSize)
        if this.EvalEvery < 0 then invalidArg "evalEvery" (sprintf "evalEvery must be 0 (epoch ends only) or a number of updates, got %d" this.EvalEvery)
        match this.Algorithm with
        | Algorithm.Backprop -> ()
        | Algorithm.PredictiveCoding pc ->
            pc.Inference.Validate()
            let hidden =
                match this.Architecture with
                | Architecture.Mlp(ws, _) -> Some ws.Length
                | Architecture.ResidualMlp(_, l, _, _) -> Some(l - 1)
                | Architecture.ConvNet(cs, ds, _) -> Some(cs.Length + ds.Length)
                | Architecture.ResNet18 _ -> Some 9
                // A custom network's depth is known once it is built (ValidateDepth).
                | Architecture.Custom _ -> None
            hidden |> Option.iter this.ValidateDepth
            if pc.Init.Uses((=) InitKind.StreamAverage) && this.Batching <> Batching.StreamAligned then
                invalidArg "init" "the stream-average initializer needs stream-aligned batching (batching: stream)"

    /// Checks what depends on the network's number of hidden layers (predictive coding
    /// needs one, and the initializer's layer ranges must fit).
    member this.ValidateDepth(hidden: int) =
        match this.Algorithm with
        | Algorithm.Backprop -> ()
        | Algorithm.PredictiveCoding pc ->
            if hidden < 1 then invalidArg "architecture" "predictive coding needs at least one hidden layer"
            pc.Init.Validate hidden

/// One epoch's results.
type EpochRecord =
    { Epoch: int
      /// Test accuracy in percent (forward pass).
      TestAccuracy: float
      /// Mean over the epoch's batches of the energy at the final states divided
      /// by the batch size (BP: the mean loss).
      TrainEnergy: float
      /// Mean final energy per layer (hidden layers, then output), per sample (PC only).
      LayerEnergies: float[]
      /// Sequential matrix multiplications so far.
      Smm: int64
      /// Block products actually computed so far (matrix products for an MLP; see `Smm.products`).
      Products: int64
      /// Weight updates so far.
      Updates: int64
      /// Mean inference steps per batch this epoch (PC only).
      MeanSteps: float
      /// Training seconds so far (evaluation excluded).
      Seconds: float }

/// A test accuracy measured during training (every `EvalEvery` updates, and at the
/// end of each epoch), with the cost of training up to it.
type EvalPoint =
    { /// The epoch (1-based) the point falls in.
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
      TestAccuracy: float }

/// Progress reported during training.
type TrainProgress =
    { Epoch: int
      Epochs: int
      Batch: int
      Batches: int
      /// Energy (per sample) of the last batch.
      Energy: float
      /// Last epoch's test accuracy, if any.
      LastAccuracy: float option
      /// Training seconds so far.
      Seconds: float }

/// How a run ended.
[<RequireQualifiedAccess>]
type RunStatus =
    | Completed
    | Diverged of message: string
    | Cancelled

    override this.ToString() =
        match this with
        | Completed -> "completed"
        | Diverged _ -> "diverged"
        | Cancelled -> "cancelled"

/// The outcome of a training run.
type TrainResult =
    { Config: TrainConfig
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
      Seconds: float }

/// Loaded data for a run, on its device. Owns its tensors.
type RunData =
    { Train: TensorSplit
      Test: TensorSplit
      Classes: int
      InputShape: int64[]
      /// The per-channel mean and std the inputs were standardised with (None: used as read).
      Stats: (float * float)[] option }

    /// Values as the data's files hold them (float32, `[n; ...]`, n first) prepared as
    /// the run's inputs are: standardised like the training data, shaped `[n; InputShape]`,
    /// in the run's precision on its device.
    member this.Prepare(values: Tensor) : Tensor =
        use _ = torch.NewDisposeScope()
        let n = values.shape[0]
        let size = this.InputShape |> Array.fold (*) 1L
        if values.numel () <> n * size then
            invalidArg "values" (sprintf "samples of %d values were expected, got shape [%s]" size (String.Join(", ", values.shape)))
        let x = values.``to``(torch.float32).cpu().reshape(n, size)
        let x = match this.Stats with Some st -> TensorSplit.standardise st x | None -> x
        x.reshape(Array.append [| n |] this.InputShape).``to``(this.Train.X.dtype).``to``(this.Train.X.device).MoveToOuterDisposeScope()

    interface IDisposable with
        member this.Dispose() =
            (this.Train :> IDisposable).Dispose()
            (this.Test :> IDisposable).Dispose()

module Training =
    /// Samples per chunk when a split is evaluated (memory only: results do not depend on it).
    let evaluationBatch = 1000

    /// The best test accuracy over the epochs (the paper's protocol) and the last one
    /// (None for both without epochs): what a `TrainResult` reports of its epochs.
    let bestAndFinal (epochs: EpochRecord list) =
        let accs = epochs |> List.map (fun e -> e.TestAccuracy)
        (if accs.IsEmpty then None else Some(List.max accs)), List.tryLast accs

    /// True for architectures that take flat inputs.
    let private flatInput (a: Architecture) =
        match a with
        | Architecture.ConvNet _
        | Architecture.ResNet18 _
        | Architecture.Custom _ -> false
        | Architecture.Mlp _
        | Architecture.ResidualMlp _ -> true

    /// Prepares a dataset for a run whose network takes flat inputs (`flat`) or images:
    /// fraction, normalisation with the training subset's statistics, tensors on the device.
    let prepareShaped (cfg: TrainConfig) (flat: bool) (device: Device) (data: Dataset) : RunData =
        let train = Dataset.fraction cfg.Fraction (Rng.derive cfg.Seed "fraction") data.Train
        // What only the data can tell: a batch it can fill, and an input the network takes.
        match cfg.Batching with
        | Batching.Random when cfg.BatchSize > train.Count ->
            invalidArg "batchSize" (sprintf "batch size %d is larger than the %d training samples (fraction %g of %s)" cfg.BatchSize train.Count cfg.Fraction data.Name)
        | Batching.StreamAligned when Batching.count cfg.Batching data.Classes cfg.BatchSize train.Labels < 1 ->
            invalidArg "batchSize"
                (sprintf "a stream-aligned batch of %d needs %d samples of every class, and %s (fraction %g) has fewer of some class"
                    cfg.BatchSize (cfg.BatchSize / data.Classes) data.Name cfg.Fraction)
        | _ -> ()
        if cfg.Architecture = Architecture.AlexNet(match cfg.Architecture with Architecture.ConvNet(_, _, a) -> a | _ -> Activation.Relu)
           && train.Shape <> [| 3; 32; 32 |] then
            invalidArg "architecture"
                (sprintf "alexnet is the paper's network for 32x32 colour images ([3, 32, 32]), and %s has [%s] images; use kind conv for other shapes" data.Name (String.Join(", ", train.Shape)))
        let stats =
            match cfg.Normalisation with
            | Normalisation.Unit -> None
            | Normalisation.Standardise -> Some(Dataset.channelStats train)
        let tr = TensorSplit.create device cfg.Precision data.Classes flat stats train
        let te = TensorSplit.create device cfg.Precision data.Classes flat stats data.Test
        let shape = if flat then [| int64 train.SampleSize |] else train.Shape |> Array.map int64
        { Train = tr; Test = te; Classes = data.Classes; InputShape = shape; Stats = stats }

    /// Prepares a dataset for a run of a built-in architecture (flat inputs for MLPs).
    let prepare (cfg: TrainConfig) (device: Device) (data: Dataset) : RunData =
        prepareShaped cfg (flatInput cfg.Architecture) device data

    /// Prepares a dataset for a network built by the caller (`Network.ofModules`): flat
    /// inputs when the network takes vectors, on the network's device.
    let prepareFor (cfg: TrainConfig) (network: Network) (data: Dataset) : RunData =
        prepareShaped cfg (network.InputShape.Length = 1) network.Device data

    /// The first block that turns finite states into non-finite predictions, as "block i
    /// (name)": each block is applied to its state in `states` (h_0 .. h_{L-1}), and, when
    /// none does so there, the blocks are chained from `states[0]` (the forward pass).
    /// None when every block keeps finite inputs finite.
    let nonFiniteBlock (net: Network) (states: Tensor[]) : string option =
        use _ = torch.NewDisposeScope()
        use _ = torch.no_grad ()
        let finite (t: Tensor) = t.isfinite().all().item<bool> ()
        let name i = sprintf "block %d (%s)" i (net.Blocks[i].Module.GetName())
        let atStates =
            Seq.init (min states.Length net.Depth) id
            |> Seq.tryFind (fun i -> finite states[i] && not (finite (net.Blocks[i].Forward states[i])))
        match atStates with
        | Some i -> Some(name i)
        | None ->
            let rec chain i (h: Tensor) =
                if i >= net.Depth || not (finite h) then None
                else
                    let next = net.Blocks[i].Forward h
                    if finite next then chain (i + 1) next else Some(name i)
            if states.Length = 0 then None else chain 0 states[0]

    /// One predictive-coding update: inference from `init` towards the minimum of F for
    /// the clamped `target`, the local weight gradient at the final states, and one step
    /// of `opt`. Returns the inference and F (summed over the batch), or where inference
    /// diverged or F stopped being finite (`batch` is named).
    let pcUpdate (net: Network) (opt: Optimizer) (opts: InferenceOptions) (init: InitResult) (target: Tensor) (batch: int) =
        // A non-finite energy: the block that produced it, when a block did.
        let named (info: DivergenceInfo) =
            if Double.IsFinite info.Energy || info.Block.IsSome then info
            else { info with Block = nonFiniteBlock net init.States }
        let outcome = try Ok(Inference.run net opts init (Some target) (Some batch)) with DivergenceError info -> Error(named info)
        match outcome with
        | Error({ Cause = DivergenceCause.Start } as info) when batch > 0 ->
            // The energy was finite after the last update's inference: that update is at fault.
            Error { info with Cause = DivergenceCause.LearningRate opt.Spec.LearningRate }
        | Error info -> Error info
        | Ok r ->
            let F = Learning.weightGradientsOf net r (Some target)
            if not (Double.IsFinite F) then
                Error(named { Layer = None; Step = r.Steps + 1; Batch = Some batch; Energy = F; StepSize = opts.StepSize; Reparam = opts.Reparam; Cause = DivergenceCause.StepSize; Block = None })
            else
                opt.Step()
                Ok(r, F)

    /// Test accuracy (percent) of the plain forward pass (forward initialisation, F = 0).
    let accuracy (net: Network) (split: TensorSplit) (batchSize: int) : float =
        use _ = torch.no_grad ()
        let mutable correct = 0L
        let n = int64 split.Count
        let mutable start = 0L
        while start < n do
            use _ = torch.NewDisposeScope()
            let len = min (int64 batchSize) (n - start)
            let x = split.X.narrow(0L, start, len)
            let y = split.Y.narrow(0L, start, len)
            let pred = net.Forward(x).argmax(1L)
            correct <- correct + pred.eq(y).sum().item<int64> ()
            start <- start + len
        100.0 * float correct / float n
