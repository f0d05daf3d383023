/// The figures of Pinchetti et al. on the paper's 5-layer MLP (the Table 1 configurations):
/// initializers against T (Fig. 2), T against the data fraction (Fig. 5), and the
/// training cost to reach a relative error of the best accuracy (Fig. 6 right, Table 3);
/// and the conv nets of the ePC paper. Each builds its runs and its tables and figures;
/// the runs themselves are the trials of a sweep (`Table.run`).
namespace Hybrid.Experiments

    /// A grid of Table 1 runs: one row label per (name, T) cell, aggregated over seeds.
    module internal Cells =
        val cellLabel: name: string -> steps: int -> string

        /// Mean ± std of best accuracies, as a cell.
        val cell: row: Table.Row -> string

        /// A pivot table: one row per name, one column per T.
        val pivot:
          title: string ->
            names: string list ->
            steps: int list ->
            rows: Table.Row list -> Hybrid.Reporting.ReportTable

        /// Mean best accuracy against T, one series per name.
        val accuracyVsSteps:
          path: string ->
            title: string ->
            names: string list ->
            steps: int list -> rows: Table.Row list -> string

        /// The seed-mean test accuracy per epoch of each named run group, on one figure.
        val curves:
          path: string ->
            title: string ->
            groups: (string * Hybrid.TrainResult list) list -> string

        /// The results of the runs labelled `label`.
        val results:
          outcome: Table.Outcome ->
            jobs: (string * Hybrid.TrainConfig) list ->
            label: string -> Hybrid.TrainResult list

        /// A report of the table with extra tables, JSON fields and plots.
        val extend:
          outcome: Table.Outcome ->
            tables: Hybrid.Reporting.ReportTable list ->
            fields: (string * System.Text.Json.Nodes.JsonNode) list ->
            plots: string list -> Hybrid.Reporting.Report

    /// Pinchetti et al., Fig. 2: every initializer at several T on the 5-layer MLP. The
    /// paper's claim: forward initialisation is best at low T, and all meet at T = 100.
    module Inits =
        /// The initializers: name, Table 1 config and, where it differs from the config's,
        /// the initializer (random N(0,1), zero, keep: the states of the last batch).
        val known: (string * string * string option) list
        val private find: name: string -> string * string * string option

        /// What `reproduce inits` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int
              Inits: string list
              Steps: int list
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// The paper's grid: random, zero, keep and forward at T in {5, 10, 25, 50, 100}, 3 seeds,
        /// 16 epochs on all of Fashion-MNIST.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>

        /// The configuration of one cell.
        val config:
          runs: RunSettings ->
            init: string -> steps: int -> seed: int64 -> Hybrid.TrainConfig

        /// The outcome: the table of every cell and where its plots are.
        type Outcome =
            {
              Settings: Settings
              Table: Table.Outcome
              Jobs: (string * Hybrid.TrainConfig) list
            }

        /// Runs the grid.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Outcome

        /// The report: accuracy per initializer and T, accuracy against T, and the learning
        /// curves of every initializer at each T.
        val report: o: Outcome -> Hybrid.Reporting.Report

    /// Pinchetti et al., Fig. 5: accuracy against small T for 25%, 50% and 100% of the data,
    /// PC-fw against PC-avg. The paper's claim: PC-avg keeps its accuracy at low T where
    /// PC-fw does not.
    module Steps =
        /// What `reproduce steps` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int

              /// Table 1 methods (config names): pc-fw, pc-avg, pc-mem.
              Methods: string list
              Fractions: float list
              Steps: int list
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// The paper's figure: PC-fw and PC-avg at T in {2..7} on 25%, 50% and 100% of
        /// Fashion-MNIST, 16 epochs, one seed.
        val defaults: Settings

        /// The JSON form of the settings (the runs' own fraction is not used: `fractions` is).
        val codec: Hybrid.Codec<Settings>

        /// A row name: method and fraction.
        val rowName: label: string -> fraction: float -> string

        /// The outcome: the table of every cell.
        type Outcome =
            {
              Settings: Settings
              Table: Table.Outcome
              Jobs: (string * Hybrid.TrainConfig) list
            }

        /// Runs the grid.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Outcome

        /// The report: accuracy per method, fraction and T, and accuracy against T.
        val report: o: Outcome -> Hybrid.Reporting.Report

    /// Pinchetti et al., Fig. 6 (right) and Table 3: the SMMs, updates and seconds each
    /// method needs to first reach a test accuracy within a relative error of the best
    /// accuracy any run reached. Test accuracy is measured every `EvalEvery` updates.
    module Speed =
        /// The training time of Pinchetti et al., Table 3 (seconds on a GPU, 100% of the data):
        /// PC-fw and PC-avg, by dataset.
        val paperSeconds: Map<string,(float * float)>

        /// What `reproduce speed` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int

              /// Table 1 methods (config names).
              Methods: string list

              /// Test accuracy is measured every this many updates.
              EvalEvery: int

              /// Relative errors in percent of the best accuracy.
              Errors: float list
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// BP, PC-fw and PC-avg on all of Fashion-MNIST for 16 epochs, one seed, accuracy
        /// every 10 updates, relative errors 0.5, 1, 2 and 5%.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>

        /// The first point of a curve (in training order) at or above `target`.
        val firstReaching:
          target: float ->
            curve: Hybrid.EvalPoint list -> Hybrid.EvalPoint option

        /// The cost of one method to reach one relative error: means over the runs that
        /// reached the target.
        type Reading =
            {
              Method: string

              /// Relative error in percent.
              Error: float

              /// The accuracy to reach: reference x (1 - error/100).
              Target: float

              /// Runs that reached it, of all runs.
              Reached: int
              Runs: int
              Smm: float option
              Updates: float option
              Seconds: float option
            }

        /// Readings for every method (its runs' curves) and relative error, against the
        /// reference accuracy.
        val read:
          reference: float ->
            errors: float list ->
            curves: (string * Hybrid.EvalPoint list list) list -> Reading list

        /// The outcome: the accuracy table, every run's curve and the readings.
        type Outcome =
            {
              Settings: Settings
              Table: Table.Outcome

              /// Per method: each run's evaluation points.
              Curves: (string * Hybrid.EvalPoint list list) list

              /// The best accuracy any run reached (at any evaluation point).
              Reference: float
              Readings: Reading list
            }

        /// Runs every method and reads the cost to each relative error.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Outcome
        val private opt: digits: string -> x: float option -> string

        /// The report: the cost to each relative error per method, the accuracy table, and
        /// accuracy against SMMs and against seconds.
        val report: o: Outcome -> Hybrid.Reporting.Report

    /// Conv nets under BP, sPC and ePC (the ePC paper's CIFAR-10 table): VGG-5, VGG-7 and
    /// ResNet-18 with the paper's setup (configs/conv: batch 256, GELU, cross-entropy; ePC
    /// T = 5 with error step 1e-3, sPC T = 8). The paper's claim: ePC keeps up with BP as
    /// the nets deepen, and sPC falls behind. `Divisor` narrows every layer (1: the paper's
    /// widths), so that the comparison fits a small machine.
    module Conv =
        /// The ePC paper's test accuracies on CIFAR-10 (cross-entropy): BP, sPC, ePC per model.
        val paper: Map<string,(float * float * float)>
        val private models: (string * string) list
        val private methods: (string * string) list
        val private label:
          known: (string * string) list ->
            what: string -> name: string -> string

        /// What `reproduce conv` runs.
        type Settings =
            {
              Runs: RunSettings
              Seeds: int

              /// vgg5, vgg7, resnet18.
              Models: string list

              /// bp, spc, epc (configs/conv/NAME.json).
              Methods: string list

              /// Every layer's channels are divided by this (1: the paper's widths).
              Divisor: int
            }

            /// Checks the settings; the message names the field.
            member Validate: unit -> unit

        /// The paper's table: the three models under BP, sPC and ePC on CIFAR-10 at full
        /// width, one seed, 10 epochs.
        val defaults: Settings

        /// The JSON form of the settings.
        val codec: Hybrid.Codec<Settings>

        /// A model's architecture, narrowed by `divisor`.
        val architecture:
          model: string ->
            divisor: int -> act: Hybrid.Activation -> Hybrid.Architecture

        /// A row label: model and method.
        val rowLabel: model: string -> methodName: string -> string

        /// The outcome: the table of every run.
        type Outcome =
            {
              Settings: Settings
              Table: Table.Outcome
            }

        /// Runs every model under every method.
        val run:
          s: Settings ->
            observer: Hybrid.Reporting.Observer ->
            cancel: System.Threading.CancellationToken -> Outcome

        /// The report: best accuracy per model and method, each PC method's gap to BP beside
        /// the paper's (CIFAR-10), and the table of every run.
        val report: o: Outcome -> Hybrid.Reporting.Report
