/// A training session: one configuration on prepared data, advanced batch by
/// batch, that can be saved to a checkpoint and resumed exactly (weights,
/// optimiser state, initializer state, random generator, progress).
namespace Hybrid

    /// A session of supervised training. Owns its network, optimiser and initializer state.
    type TrainingSession =
        interface System.IDisposable
        private new: cfg0: TrainConfig * data: RunData * given: Network option ->
                       TrainingSession

        /// Restores a session saved by `Save` onto prepared data (the data must come from
        /// the saved configuration; `Train.resume` prepares it).
        static member Restore: path: string * data: RunData -> TrainingSession
        static member
          private Restore: path: string * data: RunData *
                           network: Network option -> TrainingSession

        /// Restores a session of the caller's network (`StartWith`): `network` is built
        /// the same way again, and its parameters are loaded from the checkpoint by name.
        static member
          RestoreWith: path: string * data: RunData * network: Network ->
                         TrainingSession

        /// Creates a session at the start of training.
        static member Start: cfg: TrainConfig * data: RunData -> TrainingSession

        /// Creates a session that trains a network built by the caller (`Network.ofModules`);
        /// the configuration's model must be that network's (`Architecture.Custom name`), and
        /// the session owns the network from then on.
        static member
          StartWith: cfg: TrainConfig * data: RunData * network: Network ->
                       TrainingSession

        /// Test accuracy (percent) of the current network.
        member Evaluate: unit -> float

        /// Adds `epochs` more epochs to the run (a finished run goes on from where it ended).
        member Extend: epochs: int -> unit
        member
          private RestoreFrom: path: string * c: Checkpoint.Contents -> unit

        /// Runs until the last epoch, a divergence, or cancellation (checked between
        /// batches: the current step always completes).
        member
          Run: progress: (TrainProgress -> unit) *
               onEpoch: (EpochRecord -> unit) *
               cancel: System.Threading.CancellationToken -> TrainResult

        /// Saves everything needed to continue exactly: weights, optimiser state,
        /// initializer state (kept states, class means, memories and their optimisers),
        /// the random generator and the progress. The write is atomic.
        member Save: path: string -> unit

        /// `Save`, binding the checkpoint to the run folder's run `run` (its id).
        member Save: path: string * run: string -> unit

        /// Runs the next batch (and the epoch's evaluation when it completes the epoch).
        /// Returns the batch's energy per sample, and the epoch record when one completed.
        member Step: unit -> float * EpochRecord option

        /// One update on a batch the caller provides (values as the data's files hold them,
        /// `[n; ...]`, prepared like the run's inputs by `RunData.Prepare`; labels in
        /// 0..classes-1), outside the epochs: the same update as a step of the run, with
        /// the same initializer state. Returns the energy per sample; raises
        /// `DivergenceError` when the update diverged (the network is left as it was before
        /// the optimiser step).
        member TrainBatch: x: Tensor * labels: Tensor -> float

        /// Batches in one epoch.
        member BatchesPerEpoch: int

        /// The configuration (its epochs grow when the run is extended).
        member Config: TrainConfig

        /// The prepared data the session trains and evaluates on.
        member Data: RunData

        /// Whether every epoch has run (or the run stopped).
        member Finished: bool

        /// The initializer's state.
        member InitState: InitState

        /// The network being trained.
        member Network: Network

        /// The next epoch (1-based) and batch (0-based) to run.
        member Position: int * int

        /// The completed epochs.
        member Records: EpochRecord list

        /// The run's result so far.
        member Result: TrainResult

        /// How the run stands.
        member Status: RunStatus

    /// A session restored from a checkpoint with the data it trains on. Owns both.
    type ResumedSession =
        {
          Session: TrainingSession
          Data: RunData
        }
        interface System.IDisposable

    /// Running configurations to completion.
    module Train =
        /// Loads a configuration's dataset and prepares it on the configuration's device.
        val prepare: cfg: TrainConfig -> RunData

        /// The configuration saved in a session checkpoint.
        val savedConfig: path: string -> TrainConfig

        /// Continues the session saved in a checkpoint: its configuration's data is
        /// loaded and prepared, then weights, optimiser, initializer state and progress
        /// are restored.
        val resume: path: string -> ResumedSession

        /// Runs one configuration on prepared data. `progress` is called after every
        /// batch; `cancel` is checked between batches. Each step runs in its own
        /// dispose scope, so memory stays flat over a long run.
        val runOn:
          cfg: TrainConfig ->
            data: RunData ->
            progress: (TrainProgress -> unit) ->
            onEpoch: (EpochRecord -> unit) ->
            cancel: System.Threading.CancellationToken -> TrainResult

        /// Loads the dataset and runs one configuration.
        val run:
          cfg: TrainConfig ->
            progress: (TrainProgress -> unit) ->
            onEpoch: (EpochRecord -> unit) ->
            cancel: System.Threading.CancellationToken -> TrainResult
