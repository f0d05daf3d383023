namespace Hybrid

    /// Where a training session stands and the running sums of its epoch: what both kinds
    /// of session (supervised, generative) advance batch by batch and keep in their
    /// checkpoints. A value: each step makes a new one, and the session that owns it keeps
    /// the current one.
    type Cursor =
        {
          /// The number of epochs of the run (a finished run can be extended).
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
          Status: RunStatus
        }

        /// The cursor of a checkpoint's progress object (the run's `epochs` come from its configuration).
        static member
          Read: p: System.Text.Json.Nodes.JsonNode * epochs: int -> Cursor

        /// The start of a run of `epochs` epochs.
        static member Start: epochs: int -> Cursor

        /// After a trained batch with this energy per sample, of an epoch of `batches`
        /// batches: the cursor at the next batch, and whether that completed the epoch.
        member Advance: energy: float * batches: int -> Cursor * bool

        /// Marked cancelled when cancellation was requested before the run finished.
        member Cancelled: requested: bool -> Cursor

        /// A cancelled run going on (running again).
        member Continue: unit -> Cursor

        /// Diverged with this message.
        member Diverged: message: string -> Cursor

        /// The mean energy per sample of the epoch's batches (an epoch of `batches` batches).
        member EpochEnergy: batches: int -> float

        /// The start of the next epoch.
        member NextEpoch: unit -> Cursor

        /// With `seconds` more of training.
        member Timed: seconds: float -> Cursor

        /// Writes the cursor into a checkpoint's progress object.
        member Write: p: System.Text.Json.Nodes.JsonObject -> unit

        /// Whether every epoch has run or the run diverged (a cancelled run can go on).
        member Finished: bool

    /// An epoch's batches, drawn by `batchesOf epoch` when first asked for and kept until
    /// another epoch is asked for (a cache of a pure function of the epoch).
    type EpochBatches =
        new: batchesOf: (int -> int64 array array) -> EpochBatches

        /// The batches of `epoch`.
        member Of: epoch: int -> int64 array array
