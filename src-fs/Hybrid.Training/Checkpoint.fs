/// Checkpoint files: named tensors and a JSON header, with a
/// SHA-256 checksum. Writes are atomic (temporary file, flush, rename), so a crash
/// mid-write leaves the previous checkpoint intact. Reading checks the magic
/// number, the checksum and every tensor's shape, and names the problem.
module Hybrid.Checkpoint

open System
open System.IO
open System.Security.Cryptography
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open TorchSharp

/// A checkpoint is unusable: corrupt, truncated, or from another architecture.
exception CheckpointError of file: string * problem: string with
    override this.Message = sprintf "%s: %s" this.file this.problem

let private magic = Encoding.ASCII.GetBytes "HYBRIDCK"
let private version = 1

/// The contents of a checkpoint.
type Contents =
    { /// Free-form metadata (configuration, progress, ...).
      Meta: JsonObject
      /// Tensors by name (float32, float64, int64 or uint8), on the CPU.
      Tensors: Map<string, torch.Tensor> }

let private dtypeName (t: torch.Tensor) =
    match t.dtype with
    | torch.ScalarType.Float32 -> "float32"
    | torch.ScalarType.Float64 -> "float64"
    | torch.ScalarType.Int64 -> "int64"
    | torch.ScalarType.Byte -> "uint8"
    | other -> invalidArg "tensor" (sprintf "checkpoints hold float32, float64, int64 or uint8 tensors, not %O" other)

let private elementSize (dtype: string) =
    match dtype with
    | "uint8" -> Some 1L
    | "float32" -> Some 4L
    | "float64" | "int64" -> Some 8L
    | _ -> None

let private scalarType (dtype: string) =
    match dtype with
    | "uint8" -> torch.ScalarType.Byte
    | "float32" -> torch.ScalarType.Float32
    | "float64" -> torch.ScalarType.Float64
    | _ -> torch.ScalarType.Int64

/// Writes bytes to a stream and to the running checksum.
let private put (fs: Stream) (hash: IncrementalHash) (b: ReadOnlySpan<byte>) =
    fs.Write b
    hash.AppendData b

/// Writes a checkpoint atomically. The tensors are streamed to the file one at a time
/// (the checksum computed on the way), so a save needs no copy of the whole checkpoint
/// in memory.
let save (path: string) (contents: Contents) =
    let items = [ for KeyValue(name, t) in contents.Tensors -> name, t, dtypeName t ]
    let header = JsonObject()
    header["version"] <- version
    header["meta"] <- contents.Meta.DeepClone()
    let entries = JsonArray()
    let mutable offset = 0L
    for name, t, dtype in items do
        let length = t.numel () * (elementSize dtype).Value
        let e = JsonObject()
        e["name"] <- name
        e["dtype"] <- dtype
        e["shape"] <- JsonArray(t.shape |> Array.map (fun d -> JsonValue.Create d :> JsonNode))
        e["offset"] <- offset
        e["length"] <- length
        entries.Add e
        offset <- offset + length
    header["tensors"] <- entries
    // Files of format version 1 have a list of byte blobs too; it is always empty.
    header["blobs"] <- JsonArray()
    let headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString())
    AtomicFile.write path (fun fs ->
        use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        put fs hash (ReadOnlySpan magic)
        put fs hash (ReadOnlySpan(BitConverter.GetBytes headerBytes.Length))
        put fs hash (ReadOnlySpan headerBytes)
        for _, t, _ in items do
            use _ = torch.NewDisposeScope()
            let c = t.detach().cpu().contiguous()
            put fs hash (Span.op_Implicit c.bytes)
        fs.Write(ReadOnlySpan(hash.GetHashAndReset())))

/// Reads a checkpoint, checking its magic number and checksum.
let load (path: string) : Contents =
    if not (File.Exists path) then raise (CheckpointError(path, "file not found"))
    let all = File.ReadAllBytes path
    let fail problem = raise (CheckpointError(path, problem))
    if all.Length < magic.Length + 4 + 32 || not (ReadOnlySpan(all, 0, magic.Length).SequenceEqual(ReadOnlySpan magic)) then
        fail "not a Hybrid checkpoint (wrong magic number)"
    let bodyLength = all.Length - 32
    if not (ReadOnlySpan(SHA256.HashData(ReadOnlySpan(all, 0, bodyLength))).SequenceEqual(ReadOnlySpan(all, bodyLength, 32))) then
        fail "corrupt checkpoint (checksum mismatch: the file was truncated or modified)"
    let headerLength = BitConverter.ToInt32(all, magic.Length)
    let start = magic.Length + 4
    if headerLength <= 0 || start + headerLength > bodyLength then fail "corrupt checkpoint (bad header length)"
    let header =
        try JsonNode.Parse(Encoding.UTF8.GetString(all, start, headerLength)) :?> JsonObject
        with _ -> fail "corrupt checkpoint (unreadable header)"
    let v = header["version"].GetValue<int>()
    if v <> version then fail (sprintf "checkpoint version %d is not supported (expected %d)" v version)
    let payload = int64 (start + headerLength)
    let tensorAt (e: JsonNode) =
        let name = e["name"].GetValue<string>()
        let dtype = e["dtype"].GetValue<string>()
        let shape = e["shape"].AsArray() |> Seq.map (fun d -> d.GetValue<int64>()) |> Array.ofSeq
        let o = e["offset"].GetValue<int64>()
        let l = e["length"].GetValue<int64>()
        if o < 0L || l < 0L || payload + o + l > int64 bodyLength then fail (sprintf "corrupt checkpoint ('%s' lies outside the file)" name)
        let size =
            match elementSize dtype with
            | Some s -> s
            | None -> fail (sprintf "tensor '%s' has unknown dtype '%s'" name dtype)
        if l <> (Array.fold (*) 1L shape) * size then
            fail (sprintf "tensor '%s': %d bytes for shape [%s] of %s" name l (String.Join(", ", shape)) dtype)
        let t = torch.empty(shape, dtype = scalarType dtype)
        t.bytes <- Span(all, int (payload + o), int l)
        t.DetachFromDisposeScope()
    let tensors = [ for e in header["tensors"].AsArray() -> e["name"].GetValue<string>(), tensorAt e ] |> Map.ofList
    { Meta = header["meta"].AsObject(); Tensors = tensors }

/// A loaded tensor by name; the error says it is missing.
let tensor (file: string) (contents: Contents) (name: string) =
    match contents.Tensors.TryFind name with
    | None -> raise (CheckpointError(file, sprintf "tensor '%s' is missing (a checkpoint of another architecture?)" name))
    | Some t -> t

/// Copies a loaded tensor into a parameter, checking the shape; the error names both.
let assign (file: string) (contents: Contents) (name: string) (target: torch.Tensor) =
    let t = tensor file contents name
    if t.shape <> target.shape then
        raise (CheckpointError(file, sprintf "tensor '%s' has shape [%s] but the model needs [%s] (a checkpoint of another architecture)"
                                        name (String.Join(", ", t.shape)) (String.Join(", ", target.shape))))
    use _ = torch.no_grad ()
    target.copy_(t) |> ignore

/// The network's parameters and buffers as named tensors, `block{i}.{name}` (built-in
/// dense and conv blocks: `block{i}.weight`, `block{i}.bias`).
let networkTensors (net: Network) : (string * torch.Tensor) list =
    [ for i, b in Array.indexed net.Blocks do
          for name, p in b.Named do
              yield sprintf "block%d.%s" i name, p :> torch.Tensor
          for struct (name, t) in b.Module.named_buffers() do
              yield sprintf "block%d.%s" i name, t ]

/// The memories' parameters as named tensors (`memory{l}.q|b|k|v`).
let memoryTensors (state: InitState) : (string * torch.Tensor) list =
    [ for KeyValue(l, m) in state.Memories do
          for name, p in List.zip [ "q"; "b"; "k"; "v" ] m.Parameters do
              yield sprintf "memory%d.%s" l name, p :> torch.Tensor ]

/// Memory settings by layer, for the header.
let memoryMeta (state: InitState) : JsonArray =
    JsonArray(
        [| for KeyValue(l, m) in state.Memories ->
               let o = JsonObject()
               o["layer"] <- l
               o["observationSize"] <- m.ObservationSize
               o["stateSize"] <- m.StateSize
               o["spec"] <- Config.memorySpec.Write m.Spec
               o :> JsonNode |])

/// A memory's settings as the header holds them: an object (older checkpoints: the
/// `mem(...)` text).
let private memorySpecOf (file: string) (layer: int) (node: JsonNode) =
    try
        match node.GetValueKind() with
        | JsonValueKind.String ->
            match (InitText.parse (node.GetValue<string>())).Segments with
            | [ { Kind = InitKind.Memory s } ] -> s
            | _ -> raise (ConfigError "not a memory initializer")
        | _ -> Config.memorySpec.Read "spec" MemorySpec.Default node
    with ConfigError msg -> raise (CheckpointError(file, sprintf "memory %d has an unreadable spec: %s" layer msg))

/// Recreates the memories listed in the header (`memories`) with their saved
/// parameters; returns them by layer, for their optimiser state.
let restoreMemories (file: string) (contents: Contents) (net: Network) (state: InitState) : (int * HopfieldMemory) list =
    [ for e in contents.Meta["memories"].AsArray() ->
          let l = e["layer"].GetValue<int>()
          let spec = memorySpecOf file l e["spec"]
          let m = state.MemoryFor(l, spec, e["observationSize"].GetValue<int>(), e["stateSize"].GetValue<int>(), net.Precision.ScalarType, net.Device)
          let values = [ for name in [ "q"; "b"; "k"; "v" ] -> tensor file contents (sprintf "memory%d.%s" l name) ]
          try m.Load values
          with :? ArgumentException as e -> raise (CheckpointError(file, sprintf "memory %d: %s" l (Codec.message e)))
          l, m ]

/// Saves a network and its initializer's memories.
let saveModel (path: string) (net: Network) (state: InitState) (meta: JsonObject) =
    let m = meta.DeepClone().AsObject()
    m["architecture"] <- string net.Architecture
    m["memories"] <- memoryMeta state
    save path { Meta = m; Tensors = Map.ofList (networkTensors net @ memoryTensors state) }

/// Loads parameters into a network of the same architecture and recreates the memories.
let loadModel (path: string) (net: Network) (state: InitState) : JsonObject =
    let c = load path
    try
        let arch = c.Meta["architecture"].GetValue<string>()
        if arch <> string net.Architecture then
            raise (CheckpointError(path, sprintf "the checkpoint holds a '%s' network, not '%s'" arch (string net.Architecture)))
        for name, t in networkTensors net do assign path c name t
        restoreMemories path c net state |> ignore
        c.Meta
    finally
        for t in c.Tensors.Values do t.Dispose()

/// What every training session saves besides its own progress: the network, its
/// optimiser, the initializer's state (kept states, class means, memories and their
/// optimisers) and the random generator of the initializers.
type Learner =
    { Network: Network
      Optimizer: Optimizer
      InitState: InitState
      Generator: torch.Generator }

/// The learner as named tensors; its header fields go into `meta` (architecture,
/// memories, counts) and `progress` (optimiser steps).
let learnerTensors (l: Learner) (meta: JsonObject) (progress: JsonObject) : (string * torch.Tensor) list =
    let snapshot = l.InitState.Snapshot()
    meta["architecture"] <- string l.Network.Architecture
    meta["memories"] <- memoryMeta l.InitState
    meta["kept"] <- snapshot.Kept.Length
    meta["means"] <- snapshot.Means.Length
    progress["optimizerSteps"] <- l.Optimizer.Steps
    let memorySteps = JsonObject()
    for KeyValue(layer, m) in l.InitState.Memories do memorySteps[string layer] <- m.Optimizer.Steps
    progress["memoryOptimizerSteps"] <- memorySteps
    [ yield! networkTensors l.Network
      yield! memoryTensors l.InitState
      for i, t in Array.indexed snapshot.Kept do yield sprintf "kept.%d" i, t
      for i, t in Array.indexed snapshot.Means do yield sprintf "means.%d" i, t
      yield "seen", torch.tensor(snapshot.Seen |> Array.map (fun b -> if b then 1L else 0L))
      yield "generator", l.Generator.get_state()
      yield! l.Optimizer.StateTensors "optimizer."
      for KeyValue(layer, m) in l.InitState.Memories do yield! m.Optimizer.StateTensors(sprintf "memory%d.optimizer." layer) ]

let private headerText (file: string) (c: Contents) (key: string) =
    match c.Meta[key] with
    | :? JsonValue as v when v.GetValueKind() = JsonValueKind.String -> v.GetValue<string>()
    | _ -> raise (CheckpointError(file, sprintf "the header has no '%s'" key))

/// Checks that a checkpoint is of the given kind (`training-session`, `generative-session`).
let expectKind (file: string) (kind: string) (c: Contents) =
    let found = headerText file c "kind"
    if found <> kind then raise (CheckpointError(file, sprintf "not a %s checkpoint (it is a %s checkpoint)" kind found))

/// Opens a session saved in a checkpoint of `kind`: `create` builds it from the header,
/// `restore` fills it in; a failure disposes it. The loaded tensors are released after.
let openSession (path: string) (kind: string) (create: Contents -> 'S) (restore: 'S -> Contents -> unit) : 'S when 'S :> IDisposable =
    let c = load path
    try
        expectKind path kind c
        let s = create c
        try
            restore s c
            s
        with _ ->
            s.Dispose()
            reraise ()
    finally
        for t in c.Tensors.Values do t.Dispose()

/// Restores a learner saved by `learnerTensors` (the checkpoint's `kind` must be
/// `kind`); the states go to `device`.
let restoreLearner (file: string) (kind: string) (c: Contents) (l: Learner) (device: torch.Device) =
    let fail problem = raise (CheckpointError(file, problem))
    let text = headerText file c
    expectKind file kind c
    if text "architecture" <> string l.Network.Architecture then
        fail (sprintf "the checkpoint holds a '%s' network, not '%s'" (text "architecture") (string l.Network.Architecture))
    for name, t in networkTensors l.Network do assign file c name t
    let progress = c.Meta["progress"]
    for layer, m in restoreMemories file c l.Network l.InitState do
        let perMemory = progress["memoryOptimizerSteps"]
        m.Optimizer.LoadState(sprintf "memory%d.optimizer." layer, c.Tensors, perMemory[string layer].GetValue<int64>())
    l.InitState.Restore(
        { Kept = Array.init (c.Meta["kept"].GetValue<int>()) (fun i -> tensor file c (sprintf "kept.%d" i))
          Means = Array.init (c.Meta["means"].GetValue<int>()) (fun i -> tensor file c (sprintf "means.%d" i))
          Seen = (tensor file c "seen").data<int64>().ToArray() |> Array.map (fun v -> v <> 0L) },
        device)
    l.Optimizer.LoadState("optimizer.", c.Tensors, progress["optimizerSteps"].GetValue<int64>())
    l.Generator.set_state(tensor file c "generator") |> ignore
