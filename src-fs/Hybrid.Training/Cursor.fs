namespace Hybrid

open System.Text.Json.Nodes

/// Where a training session stands and the running sums of its epoch: what both kinds
/// of session (supervised, generative) advance batch by batch and keep in their
/// checkpoints. A value: each step makes a new one, and the session that owns it keeps
/// the current one.
type Cursor =
    { /// The number of epochs of the run (a finished run can be extended).
      Epochs: int
      /// The next epoch (1-based).
      Epoch: int
      /// The next batch of the epoch (0-based).
      Batch: int
      /// Batches trained over the whole run.
      BatchCounter: int
      /// Sum of the energies per sample of the epoch's batches so far.
      EnergySum: float
      /// Training seconds so far (evaluation included where a session times it).
      Seconds: float
      /// How the run stands.
      Status: RunStatus }

    /// The start of a run of `epochs` epochs.
    static member Start(epochs: int) =
        { Epochs = epochs; Epoch = 1; Batch = 0; BatchCounter = 0; EnergySum = 0.0; Seconds = 0.0; Status = RunStatus.Completed }

    /// Whether every epoch has run or the run diverged (a cancelled run can go on).
    member this.Finished =
        this.Epoch > this.Epochs
        || (match this.Status with
            | RunStatus.Diverged _ -> true
            | RunStatus.Completed | RunStatus.Cancelled -> false)

    /// After a trained batch with this energy per sample, of an epoch of `batches`
    /// batches: the cursor at the next batch, and whether that completed the epoch.
    member this.Advance(energy: float, batches: int) =
        let next = { this with EnergySum = this.EnergySum + energy; Batch = this.Batch + 1; BatchCounter = this.BatchCounter + 1 }
        next, next.Batch >= batches

    /// The mean energy per sample of the epoch's batches (an epoch of `batches` batches).
    member this.EpochEnergy(batches: int) = this.EnergySum / float (max 1 batches)

    /// The start of the next epoch.
    member this.NextEpoch() = { this with Epoch = this.Epoch + 1; Batch = 0; EnergySum = 0.0 }

    /// With `seconds` more of training.
    member this.Timed(seconds: float) = { this with Seconds = this.Seconds + seconds }

    /// Diverged with this message.
    member this.Diverged(message: string) = { this with Status = RunStatus.Diverged message }

    /// Marked cancelled when cancellation was requested before the run finished.
    member this.Cancelled(requested: bool) =
        if requested && this.Status = RunStatus.Completed && this.Epoch <= this.Epochs then { this with Status = RunStatus.Cancelled } else this

    /// A cancelled run going on (running again).
    member this.Continue() = if this.Status = RunStatus.Cancelled then { this with Status = RunStatus.Completed } else this

    /// Writes the cursor into a checkpoint's progress object.
    member this.Write(p: JsonObject) =
        p["epoch"] <- this.Epoch
        p["batch"] <- this.Batch
        p["batchCounter"] <- this.BatchCounter
        p["energySum"] <- this.EnergySum
        p["seconds"] <- this.Seconds
        p["status"] <- string this.Status

    /// The cursor of a checkpoint's progress object (the run's `epochs` come from its configuration).
    static member Read(p: JsonNode, epochs: int) =
        { Epochs = epochs
          Epoch = p["epoch"].GetValue<int>()
          Batch = p["batch"].GetValue<int>()
          BatchCounter = p["batchCounter"].GetValue<int>()
          EnergySum = p["energySum"].GetValue<float>()
          Seconds = p["seconds"].GetValue<float>()
          Status = RunStatus.Completed }

/// An epoch's batches, drawn by `batchesOf epoch` when first asked for and kept until
/// another epoch is asked for (a cache of a pure function of the epoch).
type EpochBatches(batchesOf: int -> int64[][]) =
    let mutable drawn: int64[][] = [||]
    let mutable drawnFor = 0

    /// The batches of `epoch`.
    member _.Of(epoch: int) =
        if drawnFor <> epoch then
            drawn <- batchesOf epoch
            drawnFor <- epoch
        drawn
