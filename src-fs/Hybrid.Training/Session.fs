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
type TrainingSession private (cfg: TrainConfig, data: RunData) =
    do cfg.Validate()
    do Batching.validate cfg.Batching data.Classes cfg.BatchSize
    let device = data.Train.X.device
    let net = Network.createWith cfg.WeightInit cfg.Architecture cfg.Loss data.InputShape data.Classes cfg.Precision device (Rng.derive cfg.Seed "weights")
    let opt = Learning.optimizer cfg.Optimizer net
    let initState = new InitState(data.Classes, Rng.derive cfg.Seed "init-state")
    let gen = Rng.generator (Rng.derive cfg.Seed "init") torch.CPU
    let depth = net.Depth
    let learner: Checkpoint.Learner = { Network = net; Optimizer = opt; InitState = initState; Generator = gen }
    let batchesPerEpoch = Batching.count cfg.Batching data.Classes cfg.BatchSize data.Train.Labels
    let records = ResizeArray<EpochRecord>()
    let mutable epoch = 1
    let mutable batch = 0
    let mutable batchCounter = 0
    let mutable smm = 0L
    let mutable updates = 0L
    let mutable energySum = 0.0
    let mutable stepsSum = 0
    let mutable layerSum: float[] = [||]
    let mutable seconds = 0.0
    let mutable status = RunStatus.Completed
    let mutable epochBatches: int64[][] = [||]
    let mutable epochOfBatches = 0

    let batchesOf e =
        if epochOfBatches <> e then
            epochBatches <- Batching.epoch cfg.Batching data.Classes cfg.BatchSize (Rng.derive cfg.Seed "batches") e data.Train.Labels
            epochOfBatches <- e
        epochBatches

    /// One backpropagation update; Error when the loss is not finite.
    let backpropBatch (x: Tensor) (y: Tensor) (n: float) =
        let loss = Learning.backpropGradients net x y
        if not (Double.IsFinite loss) then
            Error { Layer = Some depth; Step = 0; Batch = Some batchCounter; Energy = loss; StepSize = 0.0; Reparam = Reparam.States }
        else
            opt.Step()
            smm <- smm + int64 (Smm.backprop depth)
            Ok(loss / n)

    /// One predictive-coding update (initialise, infer, learn, record the states for
    /// the initializer); Error when inference diverged or F is not finite.
    let pcBatch (pc: PcSpec) (x: Tensor) (labels: Tensor) (y: Tensor) (n: float) (lastOfEpoch: bool) =
        let ctx = InitContext.supervised net x labels data.Classes gen
        let init = InitApply.apply pc.Init initState ctx true
        match (try Ok(Inference.run net pc.Inference init (Some y) (Some batchCounter)) with DivergenceError info -> Error info) with
        | Error info -> Error info
        | Ok r ->
            let F = Learning.weightGradients net r.States r.Predictions (Some y)
            if not (Double.IsFinite F) then
                Error { Layer = None; Step = r.Steps + 1; Batch = Some batchCounter; Energy = F; StepSize = pc.Inference.StepSize; Reparam = pc.Inference.Reparam }
            else
                opt.Step()
                initState.Record(net, pc.Init, r.States, Some labels, ctx.Observation)
                smm <- smm + int64 (Smm.predictiveCoding pc.Inference.Reparam pc.Init depth r.Steps)
                stepsSum <- stepsSum + r.Steps
                if lastOfEpoch then
                    // Per-layer energies of the epoch's last batch, per sample.
                    use _ = torch.no_grad ()
                    layerSum <- Energy.values (Energy.terms net r.States (Energy.predictions net r.States) (Some y)) |> Array.map (fun v -> v / n)
                Ok(F / n)

    /// Evaluates the epoch that just ended, records it and starts the next.
    let closeEpoch (batches: int) =
        let record =
            { Epoch = epoch
              TestAccuracy = Training.accuracy net data.Test cfg.EvalBatchSize
              TrainEnergy = energySum / float (max 1 batches)
              LayerEnergies = layerSum
              Smm = smm
              Updates = updates
              MeanSteps = float stepsSum / float (max 1 batches)
              Seconds = seconds }
        records.Add record
        epoch <- epoch + 1
        batch <- 0
        energySum <- 0.0
        stepsSum <- 0
        layerSum <- [||]
        record

    /// Creates a session at the start of training.
    static member Start(cfg: TrainConfig, data: RunData) = new TrainingSession(cfg, data)

    /// The configuration.
    member _.Config = cfg
    /// The network being trained.
    member _.Network = net
    /// The initializer's state.
    member _.InitState = initState
    /// The next epoch (1-based) and batch (0-based) to run.
    member _.Position = epoch, batch
    /// Whether every epoch has run (or the run stopped).
    member _.Finished = epoch > cfg.Epochs || status <> RunStatus.Completed
    /// The completed epochs.
    member _.Records: EpochRecord list = List.ofSeq records
    /// How the run stands.
    member _.Status = status

    /// Test accuracy (percent) of the current network.
    member _.Evaluate() = Training.accuracy net data.Test cfg.EvalBatchSize

    /// Runs the next batch (and the epoch's evaluation when it completes the epoch).
    /// Returns the batch's energy per sample, and the epoch record when one completed.
    member this.Step() : float * EpochRecord option =
        if this.Finished then invalidOp "the session has finished"
        let batches = batchesOf epoch
        let watch = Stopwatch.StartNew()
        let outcome =
            use _ = torch.NewDisposeScope()
            let index = torch.tensor(batches[batch], device = device)
            let x = data.Train.X.index_select(0L, index)
            let labels = data.Train.Y.index_select(0L, index)
            let y = TensorSplit.oneHot data.Classes cfg.Precision labels
            let n = float batches[batch].Length
            match cfg.Algorithm with
            | Algorithm.Backprop -> backpropBatch x y n
            | Algorithm.PredictiveCoding pc -> pcBatch pc x labels y n (batch = batches.Length - 1)
        seconds <- seconds + watch.Elapsed.TotalSeconds
        match outcome with
        | Error info ->
            status <- RunStatus.Diverged info.Message
            nan, None
        | Ok energy ->
            updates <- updates + 1L
            energySum <- energySum + energy
            batch <- batch + 1
            batchCounter <- batchCounter + 1
            if batch < batches.Length then energy, None
            else energy, Some(closeEpoch batches.Length)

    /// Runs until the last epoch, a divergence, or cancellation (checked between
    /// batches: the current step always completes).
    member this.Run(progress: TrainProgress -> unit, onEpoch: EpochRecord -> unit, cancel: CancellationToken) : TrainResult =
        while not this.Finished && not cancel.IsCancellationRequested do
            let e = epoch
            let b = batch
            let energy, record = this.Step()
            if status = RunStatus.Completed then
                progress
                    { Epoch = e
                      Epochs = cfg.Epochs
                      Batch = b + 1
                      Batches = batchesPerEpoch
                      Energy = energy
                      LastAccuracy = (if records.Count = 0 then None else Some records[records.Count - 1].TestAccuracy)
                      Seconds = seconds }
                record |> Option.iter onEpoch
        if cancel.IsCancellationRequested && status = RunStatus.Completed && epoch <= cfg.Epochs then status <- RunStatus.Cancelled
        this.Result

    /// The run's result so far.
    member _.Result: TrainResult =
        let accs = records |> Seq.map (fun r -> r.TestAccuracy) |> List.ofSeq
        { Config = cfg
          Status = status
          Epochs = List.ofSeq records
          BestAccuracy = if accs.IsEmpty then None else Some(List.max accs)
          FinalAccuracy = List.tryLast accs
          Smm = smm
          Seconds = seconds }

    /// Saves everything needed to continue exactly: weights, optimiser state,
    /// initializer state (kept states, class means, memories and their optimisers),
    /// the random generator and the progress. The write is atomic.
    member _.Save(path: string) =
        use _ = torch.NewDisposeScope()
        let meta = JsonObject()
        meta["kind"] <- "training-session"
        meta["config"] <- Config.toJson cfg
        let p = JsonObject()
        p["epoch"] <- epoch
        p["batch"] <- batch
        p["batchCounter"] <- batchCounter
        p["smm"] <- smm
        p["updates"] <- updates
        p["energySum"] <- energySum
        p["stepsSum"] <- stepsSum
        p["seconds"] <- seconds
        p["status"] <- string status
        meta["progress"] <- p
        meta["records"] <- JsonArray(records |> Seq.map (fun r -> Runs.epochJson r :> JsonNode) |> Array.ofSeq)
        let tensors =
            ("layerSum", torch.tensor(if layerSum.Length = 0 then [| nan |] else layerSum))
            :: Checkpoint.learnerTensors learner meta p
        Checkpoint.save path { Meta = meta; Tensors = Map.ofList tensors }

    /// Restores a session saved by `Save` onto prepared data (the data must come from
    /// the saved configuration; `Train.resume` prepares it).
    static member Restore(path: string, data: RunData) : TrainingSession =
        Checkpoint.openSession path "training-session"
            (fun c ->
                match c.Meta["config"] with
                | null -> raise (Checkpoint.CheckpointError(path, "not a training-session checkpoint (no configuration)"))
                | node -> new TrainingSession(Config.apply node Config.defaults, data))
            (fun s c -> s.RestoreFrom(path, c))

    member private _.RestoreFrom(path: string, c: Checkpoint.Contents) =
        Checkpoint.restoreLearner path "training-session" c learner device
        let p = c.Meta["progress"]
        epoch <- p["epoch"].GetValue<int>()
        batch <- p["batch"].GetValue<int>()
        batchCounter <- p["batchCounter"].GetValue<int>()
        smm <- p["smm"].GetValue<int64>()
        updates <- p["updates"].GetValue<int64>()
        energySum <- p["energySum"].GetValue<float>()
        stepsSum <- p["stepsSum"].GetValue<int>()
        seconds <- p["seconds"].GetValue<float>()
        let ls = (Checkpoint.tensor path c "layerSum").data<float>().ToArray()
        layerSum <- if ls.Length = 1 && Double.IsNaN ls[0] then [||] else ls
        records.Clear()
        for r in c.Meta["records"].AsArray() do records.Add(Runs.epochOfJson r)

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
        let c = Checkpoint.load path
        try
            match c.Meta["config"] with
            | null -> raise (Checkpoint.CheckpointError(path, "not a training-session checkpoint (no configuration)"))
            | node -> Config.apply node Config.defaults |> Config.validate
        finally
            for t in c.Tensors.Values do t.Dispose()

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
