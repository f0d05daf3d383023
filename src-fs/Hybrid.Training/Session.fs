/// A training session: one configuration on prepared data, advanced batch by
/// batch, that can be saved to a checkpoint and resumed exactly (weights,
/// optimiser state, initializer state, random generator, progress).
namespace Hybrid

open System
open System.Diagnostics
open System.Text.Json.Nodes
open System.Threading
open TorchSharp
open Hybrid.Data

/// A session of supervised training. Owns its network, optimiser and initializer state.
type TrainingSession private (cfg0: TrainConfig, data: RunData, given: Network option) =
    do cfg0.Validate()
    do Batching.validate cfg0.Batching data.Classes cfg0.BatchSize
    let mutable cfg = cfg0
    let device = data.Train.X.device
    let net =
        match given with
        | None ->
            Footprint.checkRun cfg data.InputShape data.Classes device
            Network.createWith cfg.WeightInit cfg.Architecture cfg.Loss data.InputShape data.Classes cfg.Precision device (Rng.derive cfg.Seed "weights")
        | Some net ->
            let shape (s: int64[]) = "[" + String.Join(", ", s) + "]"
            if net.Architecture <> cfg.Architecture then
                invalidArg "network" (sprintf "the configuration names the model '%O', and the network is '%O'" cfg.Architecture net.Architecture)
            if net.InputShape <> data.InputShape then
                invalidArg "network" (sprintf "the network takes inputs of shape %s, and the data's samples are %s" (shape net.InputShape) (shape data.InputShape))
            if net.Outputs <> data.Classes then
                invalidArg "network" (sprintf "the network has %d outputs, and the data %d classes" net.Outputs data.Classes)
            if net.Loss <> cfg.Loss then invalidArg "network" (sprintf "the network's loss is %O, and the configuration's %O" net.Loss cfg.Loss)
            if net.Precision <> cfg.Precision then invalidArg "network" (sprintf "the network is %O, and the configuration %O" net.Precision cfg.Precision)
            if string net.Device <> string device then invalidArg "network" (sprintf "the network is on %O, and the data on %O" net.Device device)
            cfg.ValidateDepth(net.Depth - 1)
            net
    let opt = Learning.optimizer cfg.Optimizer net
    let initState = new InitState(data.Classes, Rng.derive cfg.Seed "init-state")
    let gen = Rng.generator (Rng.derive cfg.Seed "init") torch.CPU
    let depth = net.Depth
    let learner: Checkpoint.Learner = { Network = net; Optimizer = opt; InitState = initState; Generator = gen }
    let batchesPerEpoch = Batching.count cfg.Batching data.Classes cfg.BatchSize data.Train.Labels
    let records = ResizeArray<EpochRecord>()
    let evaluations = ResizeArray<EvalPoint>()
    let batchesOf = EpochBatches(fun e -> Batching.epoch cfg.Batching data.Classes cfg.BatchSize (Rng.derive cfg.Seed "batches") e data.Train.Labels)
    // Where the run stands: a value, replaced at each step (this session owns the current one).
    let mutable cursor = Cursor.Start cfg.Epochs
    let mutable smm = 0L
    let mutable products = 0L
    let mutable updates = 0L
    let mutable stepsSum = 0
    let mutable layerSum: float[] = [||]

    /// One backpropagation update; Error when the loss is not finite.
    let backpropBatch (x: Tensor) (y: Tensor) (n: float) =
        let loss = Learning.backpropGradients net x y
        if not (Double.IsFinite loss) then
            Error { Layer = Some depth; Step = 0; Batch = Some cursor.BatchCounter; Energy = loss; StepSize = 0.0; Reparam = Reparam.States
                    Cause = DivergenceCause.LearningRate cfg.Optimizer.LearningRate
                    Block = Training.nonFiniteBlock net [| x |] }
        else
            opt.Step()
            smm <- smm + int64 (Smm.backprop depth)
            products <- products + int64 (Smm.backpropProducts depth)
            Ok(loss / n)

    /// One predictive-coding update (initialise, infer, learn, record the states for
    /// the initializer); Error when inference diverged or F is not finite.
    let pcBatch (pc: PcSpec) (x: Tensor) (labels: Tensor) (y: Tensor) (n: float) (lastOfEpoch: bool) =
        let ctx = InitContext.supervised net x labels data.Classes gen
        let init = InitApply.apply pc.Init initState ctx true
        Training.pcUpdate net opt pc.Inference init y cursor.BatchCounter
        |> Result.map (fun (r, F) ->
            initState.Record(net, pc.Init, r.States, Some labels, ctx.Observation)
            smm <- smm + int64 (Smm.predictiveCoding pc.Inference.Reparam pc.Init depth r.Steps)
            products <- products + int64 (Smm.products init r)
            stepsSum <- stepsSum + r.Steps
            if lastOfEpoch then
                // Per-layer energies of the epoch's last batch, per sample.
                use _ = torch.no_grad ()
                layerSum <- Energy.values (Energy.terms net r.States (Energy.predictions net r.States) (Some y)) |> Array.map (fun v -> v / n)
            F / n)

    /// A measured test accuracy with the cost of training so far.
    let point (accuracy: float) =
        { Epoch = cursor.Epoch; Batch = cursor.Batch; Updates = updates; Smm = smm; Seconds = cursor.Seconds; TestAccuracy = accuracy }

    /// Evaluates the epoch that just ended, records it and starts the next.
    let closeEpoch () =
        let record =
            { Epoch = cursor.Epoch
              TestAccuracy = Training.accuracy net data.Test cfg.EvalBatchSize
              TrainEnergy = cursor.EpochEnergy((batchesOf.Of cursor.Epoch).Length)
              LayerEnergies = layerSum
              Smm = smm
              Products = products
              Updates = updates
              MeanSteps = float stepsSum / float (max 1 (batchesOf.Of cursor.Epoch).Length)
              Seconds = cursor.Seconds }
        records.Add record
        evaluations.Add { point record.TestAccuracy with Batch = (batchesOf.Of cursor.Epoch).Length }
        cursor <- cursor.NextEpoch()
        stepsSum <- 0
        layerSum <- [||]
        Runtime.releaseMemory ()
        record

    /// Creates a session at the start of training.
    static member Start(cfg: TrainConfig, data: RunData) = new TrainingSession(cfg, data, None)

    /// Creates a session that trains a network built by the caller (`Network.ofModules`);
    /// the configuration's model must be that network's (`Architecture.Custom name`), and
    /// the session owns the network from then on.
    static member StartWith(cfg: TrainConfig, data: RunData, network: Network) = new TrainingSession(cfg, data, Some network)

    /// The configuration (its epochs grow when the run is extended).
    member _.Config = cfg
    /// Batches in one epoch.
    member _.BatchesPerEpoch = batchesPerEpoch
    /// The prepared data the session trains and evaluates on.
    member _.Data = data
    /// The network being trained.
    member _.Network = net
    /// The initializer's state.
    member _.InitState = initState
    /// The next epoch (1-based) and batch (0-based) to run.
    member _.Position = cursor.Epoch, cursor.Batch
    /// Whether every epoch has run (or the run stopped).
    member _.Finished = cursor.Finished
    /// The completed epochs.
    member _.Records: EpochRecord list = List.ofSeq records
    /// How the run stands.
    member _.Status = cursor.Status

    /// Test accuracy (percent) of the current network.
    member _.Evaluate() = Training.accuracy net data.Test cfg.EvalBatchSize

    /// Runs the next batch (and the epoch's evaluation when it completes the epoch).
    /// Returns the batch's energy per sample, and the epoch record when one completed.
    member this.Step() : float * EpochRecord option =
        if this.Finished then invalidOp "the session has finished (extend it by more epochs to go on)"
        cursor <- cursor.Continue()
        let batches = batchesOf.Of cursor.Epoch
        let watch = Stopwatch.StartNew()
        let outcome =
            use _ = torch.NewDisposeScope()
            let indices = batches[cursor.Batch]
            let index = torch.tensor(indices, device = device)
            let x = data.Train.X.index_select(0L, index)
            let labels = data.Train.Y.index_select(0L, index)
            let y = TensorSplit.oneHot data.Classes cfg.Precision labels
            let n = float indices.Length
            match cfg.Algorithm with
            | Algorithm.Backprop -> backpropBatch x y n
            | Algorithm.PredictiveCoding pc -> pcBatch pc x labels y n (cursor.Batch = batches.Length - 1)
        cursor <- cursor.Timed watch.Elapsed.TotalSeconds
        match outcome with
        | Error info ->
            cursor <- cursor.Diverged info.Message
            nan, None
        | Ok energy ->
            updates <- updates + 1L
            let next, epochDone = cursor.Advance(energy, batches.Length)
            cursor <- next
            if epochDone then energy, Some(closeEpoch ())
            else
                if cfg.EvalEvery > 0 && updates % int64 cfg.EvalEvery = 0L then
                    evaluations.Add(point (Training.accuracy net data.Test cfg.EvalBatchSize))
                energy, None

    /// One update on a batch the caller provides (values as the data's files hold them,
    /// `[n; ...]`, prepared like the run's inputs by `RunData.Prepare`; labels in
    /// 0..classes-1), outside the epochs: the same update as a step of the run, with
    /// the same initializer state. Returns the energy per sample; raises
    /// `DivergenceError` when the update diverged (the network is left as it was before
    /// the optimiser step).
    member _.TrainBatch(x: Tensor, labels: Tensor) : float =
        match cursor.Status with
        | RunStatus.Diverged message -> invalidOp (sprintf "the session diverged (%s); it cannot train further" message)
        | RunStatus.Completed | RunStatus.Cancelled -> ()
        if labels.dim () <> 1L || labels.shape[0] <> x.shape[0] then
            invalidArg "labels" (sprintf "one label per sample was expected (%d), got shape [%s]" x.shape[0] (String.Join(", ", labels.shape)))
        use _ = torch.NewDisposeScope()
        let labels = labels.``to``(torch.int64).``to``(device)
        let lo, hi = Scope.scalar (labels.min()), Scope.scalar (labels.max())
        if lo < 0.0 || hi >= float data.Classes then
            invalidArg "labels" (sprintf "labels must be in 0..%d, got values from %g to %g" (data.Classes - 1) lo hi)
        let x = data.Prepare x
        let y = TensorSplit.oneHot data.Classes cfg.Precision labels
        let n = float x.shape[0]
        let watch = Stopwatch.StartNew()
        let outcome =
            match cfg.Algorithm with
            | Algorithm.Backprop -> backpropBatch x y n
            | Algorithm.PredictiveCoding pc -> pcBatch pc x labels y n false
        cursor <- cursor.Timed watch.Elapsed.TotalSeconds
        match outcome with
        | Error info -> raise (DivergenceError info)
        | Ok energy ->
            updates <- updates + 1L
            energy

    /// Adds `epochs` more epochs to the run (a finished run goes on from where it ended).
    member _.Extend(epochs: int) =
        if epochs < 1 then invalidArg "epochs" (sprintf "a run is extended by at least 1 epoch, got %d" epochs)
        match cursor.Status with
        | RunStatus.Diverged message -> invalidOp (sprintf "the session diverged (%s); it cannot be extended" message)
        | RunStatus.Completed | RunStatus.Cancelled -> ()
        cfg <- { cfg with Epochs = cfg.Epochs + epochs }
        cursor <- { cursor with Epochs = cfg.Epochs }

    /// Runs until the last epoch, a divergence, or cancellation (checked between
    /// batches: the current step always completes).
    member this.Run(progress: TrainProgress -> unit, onEpoch: EpochRecord -> unit, cancel: CancellationToken) : TrainResult =
        while not this.Finished && not cancel.IsCancellationRequested do
            let e, b = cursor.Epoch, cursor.Batch
            let energy, record = this.Step()
            if cursor.Status = RunStatus.Completed then
                progress
                    { Epoch = e
                      Epochs = cfg.Epochs
                      Batch = b + 1
                      Batches = batchesPerEpoch
                      Energy = energy
                      LastAccuracy = (if records.Count = 0 then None else Some records[records.Count - 1].TestAccuracy)
                      Seconds = cursor.Seconds }
                record |> Option.iter onEpoch
        cursor <- cursor.Cancelled cancel.IsCancellationRequested
        this.Result

    /// The run's result so far.
    member _.Result: TrainResult =
        let epochs = List.ofSeq records
        let best, final = Training.bestAndFinal epochs
        { Config = cfg
          Status = cursor.Status
          Epochs = epochs
          BestAccuracy = best
          FinalAccuracy = final
          Evaluations = List.ofSeq evaluations
          Smm = smm
          Products = products
          Seconds = cursor.Seconds }

    /// Saves everything needed to continue exactly: weights, optimiser state,
    /// initializer state (kept states, class means, memories and their optimisers),
    /// the random generator and the progress. The write is atomic.
    member this.Save(path: string) = this.Save(path, "")

    /// `Save`, binding the checkpoint to the run folder's run `run` (its id).
    member _.Save(path: string, run: string) =
        use _ = torch.NewDisposeScope()
        let meta = JsonObject()
        meta["kind"] <- "training-session"
        if run <> "" then meta["run"] <- run
        meta["config"] <- Config.toJson cfg
        let p = JsonObject()
        cursor.Write p
        p["smm"] <- smm
        p["products"] <- products
        p["updates"] <- updates
        p["stepsSum"] <- stepsSum
        meta["progress"] <- p
        meta["records"] <- JsonArray(records |> Seq.map (fun r -> Runs.epochJson r :> JsonNode) |> Array.ofSeq)
        meta["evaluations"] <- JsonArray(evaluations |> Seq.map (fun p -> Runs.evalJson p :> JsonNode) |> Array.ofSeq)
        let tensors =
            ("layerSum", torch.tensor(if layerSum.Length = 0 then [| nan |] else layerSum))
            :: Checkpoint.learnerTensors learner meta p
        Checkpoint.save path { Meta = meta; Tensors = Map.ofList tensors }

    /// Restores a session saved by `Save` onto prepared data (the data must come from
    /// the saved configuration; `Train.resume` prepares it).
    static member Restore(path: string, data: RunData) : TrainingSession = TrainingSession.Restore(path, data, None)

    /// Restores a session of the caller's network (`StartWith`): `network` is built
    /// the same way again, and its parameters are loaded from the checkpoint by name.
    static member RestoreWith(path: string, data: RunData, network: Network) : TrainingSession =
        TrainingSession.Restore(path, data, Some network)

    static member private Restore(path: string, data: RunData, network: Network option) : TrainingSession =
        Checkpoint.openSession path "training-session"
            (fun c ->
                match c.Meta["config"] with
                | null -> raise (Checkpoint.CheckpointError(path, "not a training-session checkpoint (no configuration)"))
                | node ->
                    let saved = Config.apply node Config.defaults
                    match saved.Architecture, network with
                    | Architecture.Custom name, None ->
                        raise (Checkpoint.CheckpointError(path, sprintf "holds the custom network '%s': restore it with its modules (RestoreWith)" name))
                    | _ -> new TrainingSession(saved, data, network))
            (fun s c -> s.RestoreFrom(path, c))

    member private _.RestoreFrom(path: string, c: Checkpoint.Contents) =
        Checkpoint.restoreLearner path "training-session" c learner device
        let p = c.Meta["progress"]
        cursor <- Cursor.Read(p, cfg.Epochs)
        smm <- p["smm"].GetValue<int64>()
        products <- (match p["products"] with null -> 0L | n -> n.GetValue<int64>())
        updates <- p["updates"].GetValue<int64>()
        stepsSum <- p["stepsSum"].GetValue<int>()
        let ls = (Checkpoint.tensor path c "layerSum").data<float>().ToArray()
        layerSum <- if ls.Length = 1 && Double.IsNaN ls[0] then [||] else ls
        records.Clear()
        for r in c.Meta["records"].AsArray() do records.Add(Runs.epochOfJson r)
        evaluations.Clear()
        match c.Meta["evaluations"] with
        | null ->
            // Checkpoints written before evaluation points: the epoch ends are the points.
            for r in records do
                evaluations.Add { Epoch = r.Epoch; Batch = batchesPerEpoch; Updates = r.Updates; Smm = r.Smm; Seconds = r.Seconds; TestAccuracy = r.TestAccuracy }
        | node -> for p in node.AsArray() do evaluations.Add(Runs.evalOfJson p)

    interface IDisposable with
        member _.Dispose() =
            (opt :> IDisposable).Dispose()
            (initState :> IDisposable).Dispose()
            gen.Dispose()
            (net :> IDisposable).Dispose()

/// A session restored from a checkpoint with the data it trains on. Owns both.
type ResumedSession =
    { Session: TrainingSession
      Data: RunData }

    interface IDisposable with
        member this.Dispose() =
            (this.Session :> IDisposable).Dispose()
            (this.Data :> IDisposable).Dispose()

/// Running configurations to completion.
module Train =
    /// Loads a configuration's dataset and prepares it on the configuration's device.
    let prepare (cfg: TrainConfig) : RunData =
        let device = Runtime.device cfg.Device
        let data = Dataset.load cfg.DataRoot cfg.Dataset
        Batching.validate cfg.Batching data.Classes cfg.BatchSize
        Training.prepare cfg device data

    /// The configuration saved in a session checkpoint.
    let savedConfig (path: string) : TrainConfig =
        match (Checkpoint.meta path)["config"] with
        | null -> raise (Checkpoint.CheckpointError(path, "not a training-session checkpoint (no configuration)"))
        | node -> Config.apply node Config.defaults |> Config.validate

    /// Continues the session saved in a checkpoint: its configuration's data is
    /// loaded and prepared, then weights, optimiser, initializer state and progress
    /// are restored.
    let resume (path: string) : ResumedSession =
        let data = prepare (savedConfig path)
        try { Session = TrainingSession.Restore(path, data); Data = data }
        with _ ->
            (data :> IDisposable).Dispose()
            reraise ()

    /// Runs one configuration on prepared data. `progress` is called after every
    /// batch; `cancel` is checked between batches. Each step runs in its own
    /// dispose scope, so memory stays flat over a long run.
    let runOn (cfg: TrainConfig) (data: RunData) (progress: TrainProgress -> unit) (onEpoch: EpochRecord -> unit) (cancel: CancellationToken) : TrainResult =
        use s = TrainingSession.Start(cfg, data)
        s.Run(progress, onEpoch, cancel)

    /// Loads the dataset and runs one configuration.
    let run (cfg: TrainConfig) (progress: TrainProgress -> unit) (onEpoch: EpochRecord -> unit) (cancel: CancellationToken) : TrainResult =
        cfg.Validate()
        use prepared = prepare cfg
        runOn cfg prepared progress onEpoch cancel
