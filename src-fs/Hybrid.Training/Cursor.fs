namespace Hybrid

open System.Text.Json.Nodes

/// Where a training session stands and the running sums of its epoch: what both kinds
/// of session (supervised, generative) advance batch by batch and keep in their
/// checkpoints. `batchesOf epoch` draws an epoch's batches (kept until the next epoch).
type Cursor(epochs: int, batchesOf: int -> int64[][]) =
    let mutable drawn: int64[][] = [||]
    let mutable drawnFor = 0

    /// The number of epochs of the run (a finished run can be extended).
    member val Epochs = epochs with get, set

    /// The next epoch (1-based).
    member val Epoch = 1 with get, set
    /// The next batch of the epoch (0-based).
    member val Batch = 0 with get, set
    /// Batches trained over the whole run.
    member val BatchCounter = 0 with get, set
    /// Sum of the energies per sample of the epoch's batches so far.
    member val EnergySum = 0.0 with get, set
    /// Training seconds so far (evaluation included where a session times it).
    member val Seconds = 0.0 with get, set
    /// How the run stands.
    member val Status = RunStatus.Completed with get, set

    /// Whether every epoch has run or the run diverged (a cancelled run can go on).
    member this.Finished =
        this.Epoch > this.Epochs
        || (match this.Status with
            | RunStatus.Diverged _ -> true
            | RunStatus.Completed | RunStatus.Cancelled -> false)

    /// The batches of the current epoch.
    member this.Batches =
        if drawnFor <> this.Epoch then
            drawn <- batchesOf this.Epoch
            drawnFor <- this.Epoch
        drawn

    /// Records a trained batch's energy per sample and moves to the next batch; true
    /// when that completed the epoch.
    member this.Advance(energy: float) =
        this.EnergySum <- this.EnergySum + energy
        this.Batch <- this.Batch + 1
        this.BatchCounter <- this.BatchCounter + 1
        this.Batch >= this.Batches.Length

    /// The mean energy per sample of the epoch's batches.
    member this.EpochEnergy = this.EnergySum / float (max 1 this.Batches.Length)

    /// Starts the next epoch.
    member this.NextEpoch() =
        this.Epoch <- this.Epoch + 1
        this.Batch <- 0
        this.EnergySum <- 0.0

    /// Marks a cancelled run as such (after the loop that checked the token).
    member this.Cancelled(requested: bool) =
        if requested && this.Status = RunStatus.Completed && this.Epoch <= this.Epochs then this.Status <- RunStatus.Cancelled

    /// Continues a cancelled run (its status is running again).
    member this.Continue() =
        if this.Status = RunStatus.Cancelled then this.Status <- RunStatus.Completed

    /// Writes the cursor into a checkpoint's progress object.
    member this.Write(p: JsonObject) =
        p["epoch"] <- this.Epoch
        p["batch"] <- this.Batch
        p["batchCounter"] <- this.BatchCounter
        p["energySum"] <- this.EnergySum
        p["seconds"] <- this.Seconds
        p["status"] <- string this.Status

    /// Reads the cursor back from a checkpoint's progress object.
    member this.Read(p: JsonNode) =
        this.Epoch <- p["epoch"].GetValue<int>()
        this.Batch <- p["batch"].GetValue<int>()
        this.BatchCounter <- p["batchCounter"].GetValue<int>()
        this.EnergySum <- p["energySum"].GetValue<float>()
        this.Seconds <- p["seconds"].GetValue<float>()
