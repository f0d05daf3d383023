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

/// Bytes a tensor is written and read through at a time (a multiple of every element
/// size): tensors of any size stream through a buffer of this size.
let internal chunkBytes = 1 <<< 24

/// A chunk size usable for every element size: a positive multiple of 8.
let private chunkOf (chunk: int) = max 8 (chunk / 8 * 8)

/// `save` with tensors streamed `chunk` bytes at a time.
let internal saveChunked (chunk: int) (path: string) (contents: Contents) =
    let chunk = chunkOf chunk
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
        for _, t, dtype in items do
            use _ = torch.NewDisposeScope()
            // A flat view, copied to the CPU one chunk at a time (a view already on the CPU).
            let flat = t.detach().contiguous().reshape(-1L)
            let perChunk = int64 chunk / (elementSize dtype).Value
            let n = flat.numel ()
            let mutable start = 0L
            while start < n do
                let count = min perChunk (n - start)
                let part = flat.narrow(0L, start, count).cpu()
                put fs hash (Span.op_Implicit part.bytes)
                start <- start + count
        fs.Write(ReadOnlySpan(hash.GetHashAndReset())))

/// Writes a checkpoint atomically. The tensors are streamed to the file one chunk at a
/// time (the checksum computed on the way), so a save needs no copy of the checkpoint or
/// of a tensor in memory, and a tensor may be of any size.
let save (path: string) (contents: Contents) = saveChunked chunkBytes path contents

/// A tensor's place in the file, as the header lists it.
type private Entry =
    { Name: string
      Dtype: string
      Shape: int64[]
      Offset: int64
      Length: int64 }

/// Reads a checkpoint in one pass, `chunk` bytes at a time, checking its magic number and
/// checksum: with its tensors (`withTensors`), or its header alone (the tensors' bytes
/// are only checksummed). A problem of structure is reported as a checksum mismatch when
/// the checksum does not match (a damaged file), else as itself.
let private read (chunk: int) (withTensors: bool) (path: string) : Contents =
    if not (File.Exists path) then raise (CheckpointError(path, "file not found"))
    let chunk = chunkOf chunk
    let fail problem = raise (CheckpointError(path, problem))
    let checksumFailure = "corrupt checkpoint (checksum mismatch: the file was truncated or modified)"
    use fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 <<< 16)
    let length = fs.Length
    let bodyLength = length - 32L
    let buffer = Array.zeroCreate<byte> chunk
    use hash = IncrementalHash.CreateHash HashAlgorithmName.SHA256
    /// Reads and checksums `count` bytes, handing each piece to `use`.
    let stream (count: int64) (consume: int -> unit) =
        let mutable left = count
        while left > 0L do
            let n = int (min left (int64 chunk))
            fs.ReadExactly(buffer, 0, n)
            hash.AppendData(buffer, 0, n)
            consume n
            left <- left - int64 n
    let stored () =
        let sum = Array.zeroCreate<byte> 32
        fs.Position <- bodyLength
        fs.ReadExactly(sum, 0, 32)
        sum
    /// Whether the whole file's checksum matches (checked from the start again).
    let intact () =
        use h = IncrementalHash.CreateHash HashAlgorithmName.SHA256
        fs.Position <- 0L
        let mutable left = bodyLength
        while left > 0L do
            let n = int (min left (int64 chunk))
            fs.ReadExactly(buffer, 0, n)
            h.AppendData(buffer, 0, n)
            left <- left - int64 n
        ReadOnlySpan(h.GetHashAndReset()).SequenceEqual(ReadOnlySpan(stored ()))
    let corrupt problem = if intact () then fail problem else fail checksumFailure
    let head = Array.zeroCreate<byte> (magic.Length + 4)
    if length < int64 head.Length + 32L then fail "not a Hybrid checkpoint (wrong magic number)"
    fs.ReadExactly(head, 0, head.Length)
    if not (ReadOnlySpan(head, 0, magic.Length).SequenceEqual(ReadOnlySpan magic)) then
        fail "not a Hybrid checkpoint (wrong magic number)"
    hash.AppendData head
    let headerLength = BitConverter.ToInt32(head, magic.Length)
    let start = int64 head.Length
    if headerLength <= 0 || start + int64 headerLength > bodyLength then corrupt "corrupt checkpoint (bad header length)"
    let headerBytes = Array.zeroCreate<byte> headerLength
    fs.ReadExactly(headerBytes, 0, headerLength)
    hash.AppendData headerBytes
    let header =
        match (try JsonNode.Parse(Encoding.UTF8.GetString headerBytes) with _ -> null) with
        | :? JsonObject as o -> o
        | _ -> corrupt "corrupt checkpoint (unreadable header)"
    let v = try header["version"].GetValue<int>() with _ -> corrupt "corrupt checkpoint (unreadable header)"
    if v <> version then corrupt (sprintf "checkpoint version %d is not supported (expected %d)" v version)
    let payload = start + int64 headerLength
    let entryOf (e: JsonNode) =
        let entry =
            try
                { Name = e["name"].GetValue<string>()
                  Dtype = e["dtype"].GetValue<string>()
                  Shape = e["shape"].AsArray() |> Seq.map (fun d -> d.GetValue<int64>()) |> Array.ofSeq
                  Offset = e["offset"].GetValue<int64>()
                  Length = e["length"].GetValue<int64>() }
            with _ -> corrupt "corrupt checkpoint (unreadable tensor list)"
        if entry.Offset < 0L || entry.Length < 0L || payload + entry.Offset + entry.Length > bodyLength then
            corrupt (sprintf "corrupt checkpoint ('%s' lies outside the file)" entry.Name)
        let size =
            match elementSize entry.Dtype with
            | Some s -> s
            | None -> corrupt (sprintf "tensor '%s' has unknown dtype '%s'" entry.Name entry.Dtype)
        if entry.Shape |> Array.exists (fun d -> d < 0L) || entry.Length <> (Array.fold (*) 1L entry.Shape) * size then
            corrupt (sprintf "tensor '%s': %d bytes for shape [%s] of %s" entry.Name entry.Length (String.Join(", ", entry.Shape)) entry.Dtype)
        entry
    let entries =
        match header["tensors"] with
        | :? JsonArray as a -> [ for e in a -> entryOf e ] |> List.sortBy (fun e -> e.Offset)
        | _ -> corrupt "corrupt checkpoint (unreadable tensor list)"
    List.pairwise entries
    |> List.tryFind (fun (a, b) -> a.Offset + a.Length > b.Offset)
    |> Option.iter (fun (a, b) -> corrupt (sprintf "corrupt checkpoint ('%s' and '%s' overlap)" a.Name b.Name))
    let loaded = Collections.Generic.List<string * torch.Tensor>()
    try
        let mutable position = payload
        for e in entries do
            stream (payload + e.Offset - position) ignore
            if withTensors then
                let t =
                    try torch.empty(e.Shape, dtype = scalarType e.Dtype).DetachFromDisposeScope()
                    with :? Runtime.InteropServices.ExternalException as x ->
                        fail (sprintf "tensor '%s' (shape [%s], %d bytes) cannot be allocated: %s"
                                  e.Name (String.Join(", ", e.Shape)) e.Length ((x.Message.Split('\n')[0]).Trim()))
                loaded.Add((e.Name, t))
                let flat = t.view(-1L)
                let size = (elementSize e.Dtype).Value
                let mutable first = 0L
                stream e.Length (fun n ->
                    let count = int64 n / size
                    use part = flat.narrow(0L, first, count)
                    part.bytes <- Span(buffer, 0, n)
                    first <- first + count)
            else stream e.Length ignore
            position <- payload + e.Offset + e.Length
        stream (bodyLength - position) ignore
        if not (ReadOnlySpan(hash.GetHashAndReset()).SequenceEqual(ReadOnlySpan(stored ()))) then fail checksumFailure
        let tensors = [ for name, t in loaded -> name, t ] |> Map.ofList
        { Meta = header["meta"].AsObject(); Tensors = tensors }
    with _ ->
        for _, t in loaded do t.Dispose()
        reraise ()

/// `load` with tensors read `chunk` bytes at a time.
let internal loadChunked (chunk: int) (path: string) : Contents = read chunk true path

/// Reads a checkpoint, checking its magic number and checksum. The file is streamed one
/// chunk at a time into the tensors, so reading needs no copy of the file in memory, and a
/// tensor may be of any size.
let load (path: string) : Contents = read chunkBytes true path

/// The header of a checkpoint (its metadata), checked like `load` (magic number, checksum,
/// the tensor list) without reading the tensors into memory.
let meta (path: string) : JsonObject = (read chunkBytes false path).Meta

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
