/// Checkpoint files: named tensors and a JSON header, with a
/// SHA-256 checksum. Writes are atomic (temporary file, flush, rename), so a crash
/// mid-write leaves the previous checkpoint intact. Reading checks the magic
/// number, the checksum and every tensor's shape, and names the problem.
module Hybrid.Checkpoint

/// A checkpoint is unusable: corrupt, truncated, or from another architecture.
exception CheckpointError of file: string * problem: string

val private magic: byte array

val private version: int

/// The contents of a checkpoint.
type Contents =
    {
      /// Free-form metadata (configuration, progress, ...).
      Meta: System.Text.Json.Nodes.JsonObject

      /// Tensors by name (float32, float64, int64 or uint8), on the CPU.
      Tensors: Map<string,TorchSharp.torch.Tensor>
    }

val private dtypeName: t: TorchSharp.torch.Tensor -> string

val private elementSize: dtype: string -> int64 option

val private scalarType: dtype: string -> TorchSharp.torch.ScalarType

/// Writes bytes to a stream and to the running checksum.
val private put:
  fs: System.IO.Stream ->
    hash: System.Security.Cryptography.IncrementalHash ->
    b: System.ReadOnlySpan<byte> -> unit

/// Bytes a tensor is written and read through at a time (a multiple of every element
/// size): tensors of any size stream through a buffer of this size.
val internal chunkBytes: int

/// `save` with tensors streamed `chunk` bytes at a time.
val internal saveChunked: chunk: int -> path: string -> contents: Contents -> unit

/// Writes a checkpoint atomically. The tensors are streamed to the file one chunk at a
/// time (the checksum computed on the way), so a save needs no copy of the checkpoint or
/// of a tensor in memory, and a tensor may be of any size.
val save: path: string -> contents: Contents -> unit

/// `load` with tensors read `chunk` bytes at a time.
val internal loadChunked: chunk: int -> path: string -> Contents

/// Reads a checkpoint, checking its magic number and checksum. The file is streamed one
/// chunk at a time into the tensors, so reading needs no copy of the file in memory, and a
/// tensor may be of any size.
val load: path: string -> Contents

/// The header of a checkpoint (its metadata), checked like `load` (magic number, checksum,
/// the tensor list) without reading the tensors into memory.
val meta: path: string -> System.Text.Json.Nodes.JsonObject

/// A loaded tensor by name; the error says it is missing.
val tensor:
  file: string -> contents: Contents -> name: string -> TorchSharp.torch.Tensor

/// Copies a loaded tensor into a parameter, checking the shape; the error names both.
val assign:
  file: string ->
    contents: Contents ->
    name: string -> target: TorchSharp.torch.Tensor -> unit

/// The network's parameters and buffers as named tensors, `block{i}.{name}` (built-in
/// dense and conv blocks: `block{i}.weight`, `block{i}.bias`).
val networkTensors: net: Network -> (string * TorchSharp.torch.Tensor) list

/// The memories' parameters as named tensors (`memory{l}.q|b|k|v`).
val memoryTensors: state: InitState -> (string * TorchSharp.torch.Tensor) list

/// Memory settings by layer, for the header.
val memoryMeta: state: InitState -> System.Text.Json.Nodes.JsonArray

/// A memory's settings as the header holds them: an object (older checkpoints: the
/// `mem(...)` text).
val private memorySpecOf:
  file: string ->
    layer: int -> node: System.Text.Json.Nodes.JsonNode -> MemorySpec

/// Recreates the memories listed in the header (`memories`) with their saved
/// parameters; returns them by layer, for their optimiser state.
val restoreMemories:
  file: string ->
    contents: Contents ->
    net: Network -> state: InitState -> (int * HopfieldMemory) list

/// Saves a network and its initializer's memories.
val saveModel:
  path: string ->
    net: Network ->
    state: InitState -> meta: System.Text.Json.Nodes.JsonObject -> unit

/// Loads parameters into a network of the same architecture and recreates the memories.
val loadModel:
  path: string ->
    net: Network -> state: InitState -> System.Text.Json.Nodes.JsonObject

/// What every training session saves besides its own progress: the network, its
/// optimiser, the initializer's state (kept states, class means, memories and their
/// optimisers) and the random generator of the initializers.
type Learner =
    {
      Network: Network
      Optimizer: Optimizer
      InitState: InitState
      Generator: TorchSharp.torch.Generator
    }

/// The learner as named tensors; its header fields go into `meta` (architecture,
/// memories, counts) and `progress` (optimiser steps).
val learnerTensors:
  l: Learner ->
    meta: System.Text.Json.Nodes.JsonObject ->
    progress: System.Text.Json.Nodes.JsonObject ->
    (string * TorchSharp.torch.Tensor) list

val private headerText: file: string -> c: Contents -> key: string -> string

/// Checks that a checkpoint is of the given kind (`training-session`, `generative-session`).
val expectKind: file: string -> kind: string -> c: Contents -> unit

/// Opens a session saved in a checkpoint of `kind`: `create` builds it from the header,
/// `restore` fills it in; a failure disposes it. The loaded tensors are released after.
val openSession:
  path: string ->
    kind: string ->
    create: (Contents -> 'S) -> restore: ('S -> Contents -> unit) -> 'S
    when 'S :> System.IDisposable

/// Restores a learner saved by `learnerTensors` (the checkpoint's `kind` must be
/// `kind`); the states go to `device`.
val restoreLearner:
  file: string ->
    kind: string ->
    c: Contents -> l: Learner -> device: TorchSharp.torch.Device -> unit
