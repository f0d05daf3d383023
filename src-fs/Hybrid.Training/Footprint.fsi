/// The memory a training run needs, estimated from its configuration before anything
/// is allocated, and the check that refuses a run that cannot fit: a model too large
/// for the machine is a one-line error, not a crash or an out-of-memory kill.
module Hybrid.Footprint

/// The sizes of a network, computed from its architecture without building it (in
/// floating point, so that no size overflows).
type Sizes =
    {
      /// Scalar parameters.
      Parameters: float

      /// Values per sample of the states, the input (state 0) first, then each block's output.
      States: float list
    }

/// The sizes of the network an architecture builds for inputs of per-sample shape
/// `inputShape` and `outputs` outputs (None for a custom network: its modules decide).
val sizes: architecture: Architecture -> inputShape: int64 array -> outputs: int -> Sizes option

/// The memory a run needs, in bytes, by part.
type Estimate =
    {
      /// The weights and biases.
      Parameters: float

      /// One gradient per parameter.
      Gradients: float

      /// What the weight optimiser keeps (AdamW: two moments per parameter; SGD with
      /// momentum: one).
      OptimizerState: float

      /// The optimiser state's name in messages ("AdamW state", "SGD momentum").
      OptimizerName: string

      /// The states, predictions, errors and gradients of one training batch (or one
      /// evaluation chunk, whichever is larger), with the kept products of the sparse
      /// sPC path or the recomputations of the dense one.
      Batch: float

      /// The buffers a checkpoint is written and read through.
      Checkpoint: float
    }

    /// The sum of the parts.
    member Total: float

/// The estimate for a run of `cfg` on a network of these sizes.
val estimate: cfg: TrainConfig -> sizes: Sizes -> Estimate

/// Memory that can be used now, in bytes, and where the figure comes from.
type Available =
    {
      Bytes: float
      Source: string
    }

/// Memory available to this process on the CPU: Linux's MemAvailable (/proc/meminfo), or
/// what the process's cgroup limit leaves when that is smaller (cgroup v2 `memory.max`,
/// v1 `memory.limit_in_bytes`); None where neither can be read.
val available: unit -> Available option

/// `n` bytes for people: "812 MiB", "74.5 GiB", "5.9 TiB".
val describe: bytes: float -> string

/// What to change to make a run fit, as the command line spells it.
val private hint: cfg: TrainConfig -> e: Estimate -> string

/// Refuses (a `ConfigError`) a run whose estimate exceeds what is available, in one line
/// naming the estimate, its parts and what is available. Nothing is refused when
/// `available` is None.
val check: cfg: TrainConfig -> estimate: Estimate -> available: Available option -> unit

/// Whether the check runs: always, unless HYBRID_MEMORY_CHECK is 0.
val enabled: unit -> bool

/// The check before a network of `cfg` is built on `device` for inputs of `inputShape` and
/// `outputs` outputs: estimates the run and compares it with the memory available (CPU
/// only: on other devices, and for custom networks, nothing is checked).
val checkRun: cfg: TrainConfig -> inputShape: int64 array -> outputs: int -> device: Device -> unit
