/// The memory a training run needs, estimated from its configuration before anything
/// is allocated, and the check that refuses a run that cannot fit: a model too large
/// for the machine is a one-line error, not a crash or an out-of-memory kill.
module Hybrid.Footprint

open System
open System.Globalization
open System.IO

/// The sizes of a network, computed from its architecture without building it (in
/// floating point, so that no size overflows).
type Sizes =
    { /// Scalar parameters.
      Parameters: float
      /// Values per sample of the states, the input (state 0) first, then each block's output.
      States: float list }

/// Dense layers through `sizes` (input, hidden widths, outputs), each with a bias.
let private denseChain (sizes: float list) =
    let parameters = sizes |> List.pairwise |> List.sumBy (fun (a, b) -> a * b + b)
    parameters, List.tail sizes

/// A k x k convolution from `c` to `outC` channels with a bias.
let private conv (c: float) (outC: float) (k: float) = c * outC * k * k + outC

/// The sizes of the network an architecture builds for inputs of per-sample shape
/// `inputShape` and `outputs` outputs (None for a custom network: its modules decide).
let sizes (architecture: Architecture) (inputShape: int64[]) (outputs: int) : Sizes option =
    let input = inputShape |> Array.fold (fun a d -> a * float d) 1.0
    let out = float outputs
    let image () =
        if inputShape.Length <> 3 then
            invalidArg "architecture" (sprintf "%O needs image inputs [channels; height; width], got a shape of rank %d" architecture inputShape.Length)
        inputShape[0], inputShape[1], inputShape[2]
    match architecture with
    | Architecture.Mlp(widths, _) ->
        let p, states = denseChain (input :: (widths |> List.map float) @ [ out ])
        Some { Parameters = p; States = input :: states }
    | Architecture.ResidualMlp(width, layers, _, _) ->
        let w = float width
        // No biases: W_1 x, then L - 2 residual layers, then the output layer.
        let p = input * w + float (layers - 2) * w * w + w * out
        Some { Parameters = p; States = input :: List.replicate (layers - 1) w @ [ out ] }
    | Architecture.ConvNet(convs, denses, _) ->
        let c0, h0, w0 = image ()
        let step (p, states, (c: int64, h: int64, w: int64)) (cl: ConvLayer) =
            let outC = int64 cl.Channels
            let h, w = if cl.Pool then h / 2L, w / 2L else h, w
            p + conv (float c) (float outC) 3.0, states @ [ float outC * float h * float w ], (outC, h, w)
        let p, states, (c, h, w) = convs |> List.fold step (0.0, [], (c0, h0, w0))
        let flat = float c * float h * float w
        let pd, dense = denseChain (flat :: (denses |> List.map float) @ [ out ])
        Some { Parameters = p + pd; States = input :: states @ dense }
    | Architecture.ResNet18(width, _) ->
        let c0, h0, w0 = image ()
        let w = int64 width
        let outSize (n: int64) (stride: int64) = (n - 1L) / stride + 1L
        let stem = conv (float c0) (float w) 3.0
        let basic (p, states, (c: int64, h: int64, wd: int64)) (outC: int64, stride: int64) =
            let projection = if stride <> 1L || c <> outC then conv (float c) (float outC) 1.0 else 0.0
            let h, wd = outSize h stride, outSize wd stride
            p + conv (float c) (float outC) 3.0 + conv (float outC) (float outC) 3.0 + projection,
            states @ [ float outC * float h * float wd ],
            (outC, h, wd)
        let stages = [ w, 1L; w, 1L; 2L * w, 2L; 2L * w, 1L; 4L * w, 2L; 4L * w, 1L; 8L * w, 2L; 8L * w, 1L ]
        let p, states, (c, _, _) = stages |> List.fold basic (stem, [ float w * float h0 * float w0 ], (w, h0, w0))
        Some { Parameters = p + float c * out + out; States = input :: states @ [ out ] }
    | Architecture.Custom _ -> None

/// The memory a run needs, in bytes, by part.
type Estimate =
    { /// The weights and biases.
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
      Checkpoint: float }

    /// The sum of the parts.
    member this.Total = this.Parameters + this.Gradients + this.OptimizerState + this.Batch + this.Checkpoint

/// The estimate for a run of `cfg` on a network of these sizes.
let estimate (cfg: TrainConfig) (sizes: Sizes) : Estimate =
    let element = match cfg.Precision with Precision.Float32 -> 4.0 | Precision.Float64 -> 8.0
    let parameters = sizes.Parameters * element
    let optimizer, name =
        match cfg.Optimizer with
        | OptimizerSpec.AdamW _ -> 2.0 * parameters, "AdamW state"
        | OptimizerSpec.Sgd(_, m) when m <> 0.0 -> parameters, "SGD momentum"
        | OptimizerSpec.Sgd _ -> 0.0, "SGD momentum"
    // Tensors of one batch per value of a state, by algorithm: the states themselves,
    // their predictions, errors and gradients, and what autograd keeps for the backward
    // pass; the sparse sPC path also keeps each block's products, momentum a velocity.
    let perValue =
        match cfg.Algorithm with
        | Algorithm.Backprop -> 4.0
        | Algorithm.PredictiveCoding pc ->
            let kept = if pc.Inference.Reparam = Reparam.States && not pc.Inference.Dense then 2.0 else 0.0
            let velocity = if pc.Inference.Momentum <> 0.0 then 1.0 else 0.0
            6.0 + kept + velocity
    let values = List.sum sizes.States
    let train = float cfg.BatchSize * values * perValue * element
    // Evaluation: a forward pass without gradients, the input and two states at a time.
    let evaluation = float cfg.EvalBatchSize * (values + 2.0 * List.max sizes.States) * element
    { Parameters = parameters
      Gradients = parameters
      OptimizerState = optimizer
      OptimizerName = name
      Batch = max train evaluation
      // One chunk being written or read, and the chunk of its copy to or from the device.
      Checkpoint = 2.0 * float Checkpoint.chunkBytes }

/// Memory that can be used now, in bytes, and where the figure comes from.
type Available = { Bytes: float; Source: string }

/// A number of bytes in a file (a cgroup's), or None ("max", missing, unreadable).
let private readBytes (path: string) =
    try
        if not (File.Exists path) then None
        else
            match Double.TryParse(File.ReadAllText(path).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, v -> Some v
            | _ -> None
    with :? IOException | :? UnauthorizedAccessException -> None

/// MemAvailable of /proc/meminfo in bytes.
let private memAvailable () =
    try
        if not (File.Exists "/proc/meminfo") then None
        else
            File.ReadLines "/proc/meminfo"
            |> Seq.tryFind (fun l -> l.StartsWith "MemAvailable:")
            |> Option.bind (fun l ->
                let parts = l.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                match Double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, kb -> Some(kb * 1024.0)
                | _ -> None)
    with :? IOException | :? UnauthorizedAccessException -> None

/// What the cgroup's limit leaves (limit minus usage), v2 first, then v1; None without a limit.
let private cgroupLeft () =
    let left limit usage =
        match readBytes limit, readBytes usage with
        // v1 writes "no limit" as a number near 2^63.
        | Some l, Some u when l < 1e18 -> Some(max 0.0 (l - u))
        | _ -> None
    match left "/sys/fs/cgroup/memory.max" "/sys/fs/cgroup/memory.current" with
    | Some v -> Some v
    | None -> left "/sys/fs/cgroup/memory/memory.limit_in_bytes" "/sys/fs/cgroup/memory/memory.usage_in_bytes"

/// Memory available to this process on the CPU: Linux's MemAvailable (/proc/meminfo), or
/// what the process's cgroup limit leaves when that is smaller (cgroup v2 `memory.max`,
/// v1 `memory.limit_in_bytes`); None where neither can be read.
let available () : Available option =
    match memAvailable (), cgroupLeft () with
    | Some m, Some c when c < m -> Some { Bytes = c; Source = "under the cgroup's memory limit" }
    | Some m, _ -> Some { Bytes = m; Source = "(MemAvailable)" }
    | None, Some c -> Some { Bytes = c; Source = "under the cgroup's memory limit" }
    | None, None -> None

/// `n` bytes for people: "812 MiB", "74.5 GiB", "5.9 TiB".
let describe (bytes: float) =
    let units = [ "PiB", 2.0 ** 50.0; "TiB", 2.0 ** 40.0; "GiB", 2.0 ** 30.0 ]
    match units |> List.tryFind (fun (_, size) -> bytes >= size) with
    | Some(unit, size) -> String.Format(CultureInfo.InvariantCulture, "{0:#,0.0} {1}", bytes / size, unit)
    | None -> String.Format(CultureInfo.InvariantCulture, "{0:0} MiB", bytes / 1048576.0)

/// What to change to make a run fit, as the command line spells it.
let private hint (cfg: TrainConfig) (e: Estimate) =
    if e.Batch > e.Parameters + e.Gradients + e.OptimizerState then "lower --batch-size or --eval-batch-size"
    else
        match cfg.Architecture with
        | Architecture.Mlp _ -> "lower --width or --hidden"
        | Architecture.ResidualMlp _ -> "lower --width or --layers"
        | Architecture.ResNet18 _ -> "lower --width"
        | Architecture.ConvNet _ -> "use fewer channels (--convs) or narrower dense layers (--dense)"
        | Architecture.Custom _ -> "use a smaller network"

/// Refuses (a `ConfigError`) a run whose estimate exceeds what is available, in one line
/// naming the estimate, its parts and what is available. Nothing is refused when
/// `available` is None.
let check (cfg: TrainConfig) (estimate: Estimate) (available: Available option) =
    match available with
    | Some a when estimate.Total > a.Bytes ->
        let parts =
            [ "parameters", estimate.Parameters
              "gradients", estimate.Gradients
              estimate.OptimizerName, estimate.OptimizerState
              sprintf "a batch of %d" cfg.BatchSize, estimate.Batch
              "checkpoint buffers", estimate.Checkpoint ]
            |> List.filter (fun (_, b) -> b > 0.0)
            |> List.map (fun (name, b) -> sprintf "%s %s" name (describe b))
        raise (
            ConfigError(
                sprintf "the model needs about %s (%s) but %s is available %s; %s (set HYBRID_MEMORY_CHECK=0 to skip this check)"
                    (describe estimate.Total) (String.Join(", ", parts)) (describe a.Bytes) a.Source (hint cfg estimate)))
    | _ -> ()

/// Whether the check runs: always, unless HYBRID_MEMORY_CHECK is 0.
let enabled () = Environment.GetEnvironmentVariable "HYBRID_MEMORY_CHECK" <> "0"

/// The check before a network of `cfg` is built on `device` for inputs of `inputShape` and
/// `outputs` outputs: estimates the run and compares it with the memory available (CPU
/// only: on other devices, and for custom networks, nothing is checked).
let checkRun (cfg: TrainConfig) (inputShape: int64[]) (outputs: int) (device: Device) =
    if enabled () && device.``type`` = TorchSharp.DeviceType.CPU then
        match sizes cfg.Architecture inputShape outputs with
        | Some s -> check cfg (estimate cfg s) (available ())
        | None -> ()
