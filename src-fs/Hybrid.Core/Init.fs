/// The initializer algebra (SPEC.md 1.2): how the hidden states h^(0) of a
/// batch are set before inference. Initializers are values: they print, parse,
/// compare, and compose by layer range ("forward for layers 1..2, stream
/// average above" is `forward[1..2] + avg[3..]`).
namespace Hybrid

open System
open System.Globalization
open TorchSharp

/// One way to initialise a layer.
[<RequireQualifiedAccess>]
type InitKind =
    /// Each unit drawn from N(mean, std^2).
    | Random of mean: float * std: float
    /// All zeros.
    | Zero
    /// The previous batch's final states (first batch, or a batch of another size: forward).
    | Keep
    /// The prediction of the layer below, computed bottom-up: all errors of these layers are 0.
    | Forward
    /// The mean final state of the previous batches' samples of the same class (Eq. 7).
    | StreamAverage
    /// Recall from a Hopfield-layer memory of the observation (Eq. 8), trained towards
    /// the inferred states after each batch (Eq. 9).
    | Memory of MemorySpec

    override this.ToString() =
        match this with
        | Random(m, s) -> String.Format(CultureInfo.InvariantCulture, "random({0},{1})", m, s)
        | Zero -> "zero"
        | Keep -> "keep"
        | Forward -> "forward"
        | StreamAverage -> "avg"
        | Memory spec -> string spec

/// A contiguous range of layers initialised one way. `Last = None` runs to the top.
type InitSegment = { Kind: InitKind; Last: int option }

/// An initializer: segments covering the free layers in order, from layer `Start`
/// (1 for networks with a clamped input; 0 when the input h_0 is a free latent, as
/// in generative networks). A single open segment covers every free layer.
[<CustomEquality; NoComparison>]
type Initializer =
    { Start: int
      Segments: InitSegment list }

    override this.Equals(other) =
        match other with
        | :? Initializer as o -> o.Segments = this.Segments && (o.Start = this.Start || o.Segments.Length = 1 && o.Segments.Head.Last.IsNone)
        | _ -> false

    override this.GetHashCode() = hash this.Segments

    /// The canonical text form, e.g. `forward`, `forward[1..2] + avg[3..]`.
    override this.ToString() =
        match this.Segments with
        | [ { Kind = k; Last = None } ] -> string k
        | segs ->
            let mutable first = this.Start
            let parts =
                [ for s in segs ->
                      let r =
                          match s.Last with
                          | Some l -> sprintf "[%d..%d]" first l
                          | None -> sprintf "[%d..]" first
                      first <- (defaultArg s.Last 0) + 1
                      string s.Kind + r ]
            String.Join(" + ", parts)

    /// The kind used for hidden layer `l` (1-based) of a network with `hidden` hidden layers.
    member this.KindAt(l: int) =
        let rec go segs =
            match segs with
            | [] -> invalidArg "layer" (sprintf "initializer %O does not cover hidden layer %d" this l)
            | s :: rest ->
                match s.Last with
                | Some last when l > last -> go rest
                | _ -> s.Kind
        go this.Segments

    /// True when some layer uses `kind` (compared by case).
    member this.Uses(test: InitKind -> bool) = this.Segments |> List.exists (fun s -> test s.Kind)

    /// Checks that the segments tile the free layers `first`..`last` exactly.
    member this.Validate(firstFree: int, hidden: int) =
        let wholeRange = (match this.Segments with [ { Last = None } ] -> true | _ -> false)
        if not wholeRange && this.Start <> firstFree then
            if firstFree = 0 then invalidArg "init" (sprintf "initializer %O starts at layer %d but the latent layer 0 is free too: start the first range at 0" this this.Start)
            else invalidArg "init" (sprintf "initializer %O names layer 0, but layer 0 is the clamped input" this)
        let rec go first segs =
            match segs with
            | [] -> if first <= hidden then invalidArg "init" (sprintf "initializer %O leaves hidden layers %d..%d uncovered" this first hidden)
            | [ { Last = None } ] -> ()
            | { Last = None } :: _ -> invalidArg "init" (sprintf "initializer %O: only the last segment may be open-ended" this)
            | { Last = Some last } :: rest ->
                if last < first then invalidArg "init" (sprintf "initializer %O: empty layer range ending at %d" this last)
                if last > hidden then
                    invalidArg "init" (sprintf "initializer %O names layer %d but the network has %d hidden layers" this last hidden)
                go (last + 1) rest
        match this.Segments with
        | [] -> invalidArg "init" "an initializer needs at least one segment"
        | segs -> go firstFree segs

    /// Checks that the segments tile hidden layers 1..hidden (a clamped input).
    member this.Validate(hidden: int) = this.Validate(1, hidden)

module Init =
    let private whole k = { Start = 1; Segments = [ { Kind = k; Last = None } ] }

    /// N(mean, std^2) per unit.
    let random mean std =
        if not (std >= 0.0) then invalidArg "std" (sprintf "random initializer needs std >= 0, got %g" std)
        whole (InitKind.Random(mean, std))

    /// All zeros.
    let zero = whole InitKind.Zero
    /// The previous batch's final states.
    let keep = whole InitKind.Keep
    /// The forward sweep.
    let forward = whole InitKind.Forward
    /// The stream average (Eq. 7).
    let streamAverage = whole InitKind.StreamAverage
    /// A Hopfield-layer memory per layer (Eq. 8).
    let memory (spec: MemorySpec) =
        spec.Validate()
        whole (InitKind.Memory spec)

    /// `split m lower upper`: layers 1..m from `lower`, the rest from `upper`.
    let split (m: int) (lower: Initializer) (upper: Initializer) =
        if m < 1 then invalidArg "m" (sprintf "split point must be at least 1, got %d" m)
        let rec cut segs =
            match segs with
            | [] -> []
            | s :: rest ->
                match s.Last with
                | Some l when l < m -> s :: cut rest
                | _ -> [ { s with Last = Some m } ]
        let rec shift segs =
            match segs with
            | [] -> []
            | s :: rest -> { s with Last = s.Last |> Option.map (fun l -> l + m) } :: shift rest
        { Start = lower.Start; Segments = cut lower.Segments @ shift upper.Segments }

/// What an initializer needs to know about the current batch.
type InitContext =
    { Network: Network
      /// The clamped input h_0, or None when h_0 is a free latent (generative networks).
      Input: Tensor option
      /// Number of samples in the batch.
      BatchSize: int
      /// Labels of the batch (int64), when known (training).
      Labels: Tensor option
      /// The observation o of each sample (`[n; o]`), for memory initializers:
      /// (input, sqrt(d_x) x one-hot label) when supervised, the clamped image when generative.
      Observation: Tensor option
      /// Number of classes, for the stream average.
      Classes: int
      /// Generator for random initialisation.
      Generator: Generator }

module InitContext =
    /// The context of a supervised batch: clamped input, labels, and the observation
    /// o = (x, sqrt(d_x) one-hot y) for memories: scaled so that the label, 10 of
    /// ~800 inputs, counts in the recall as much as the image does.
    let supervised (net: Network) (x: Tensor) (labels: Tensor) (classes: int) (generator: Generator) =
        let pixels = x.reshape(x.shape[0], -1L)
        // The label block weighs sqrt(d_x): as much as a standardised input in o Q.
        let oneHot = Ops.mul (torch.nn.functional.one_hot(labels, int64 classes).``to``(x.dtype)) (sqrt (float pixels.shape[1]))
        { Network = net
          Input = Some x
          BatchSize = int x.shape[0]
          Labels = Some labels
          Observation = Some(torch.cat([| pixels; oneHot |], 1L))
          Classes = classes
          Generator = generator }

    /// The context of a generative batch: h_0 free, the image is the observation.
    let generative (net: Network) (image: Tensor) (generator: Generator) =
        { Network = net
          Input = None
          BatchSize = int image.shape[0]
          Labels = None
          Observation = Some(image.reshape(image.shape[0], -1L))
          Classes = 0
          Generator = generator }

    /// A context with only a clamped input (no labels, no observation).
    let input (net: Network) (x: Tensor) (generator: Generator) =
        { Network = net
          Input = Some x
          BatchSize = int x.shape[0]
          Labels = None
          Observation = None
          Classes = 0
          Generator = generator }

/// h^(0) and the predictions the forward sweep computed along the way.
type InitResult =
    { /// L entries: the input (or the latent h_0), then hidden layers 1..L-1. Free
      /// states are leaves that require gradients when `leaves` was asked for.
      States: Tensor[]
      /// `Predictions[l-1]` = mu_l = f_{l-1}(States[l-1]) with its graph, when the
      /// forward sweep computed it (layer l forward-initialised, or the layer above).
      Predictions: Tensor option[] }

/// The state an initializer carries across batches: kept states, class means and
/// memories. Owns its tensors.
type InitState(classes: int) =
    let mutable kept: Tensor[] = [||]
    let mutable means: Tensor[] = [||]
    let seen = Array.zeroCreate<bool> (max classes 1)
    let memories = Collections.Generic.SortedDictionary<int, HopfieldMemory>()

    /// The previous batch's final states (index l for layer l; index 0 is h_0), if any.
    member _.Kept = kept
    /// The per-class means of each layer (index l; `[C; shape]`), if any.
    member _.Means = means
    /// Which classes have a mean.
    member _.Seen = Array.copy seen
    /// The memories, by layer.
    member _.Memories: Collections.Generic.IReadOnlyDictionary<int, HopfieldMemory> = memories

    /// The memory of layer `l`, created on first use.
    member _.MemoryFor(l: int, spec: MemorySpec, observationSize: int, stateSize: int, dtype: ScalarType, device: Device, seed: int64) =
        match memories.TryGetValue l with
        | true, m ->
            if m.ObservationSize <> observationSize then
                invalidArg "observation" (sprintf "the memory of layer %d expects observations of size %d, got %d" l m.ObservationSize observationSize)
            m
        | _ ->
            let m = new HopfieldMemory(observationSize, stateSize, spec, dtype, device, seed)
            memories[l] <- m
            m

    /// Replaces the kept states, class means and seen classes (checkpoint restore).
    /// The tensors are cloned.
    member _.Restore(keptStates: Tensor[], classMeans: Tensor[], seenClasses: bool[]) =
        for t in kept do t.Dispose()
        for t in means do t.Dispose()
        kept <- keptStates |> Array.map (fun t -> t.clone().DetachFromDisposeScope())
        means <- classMeans |> Array.map (fun t -> t.clone().DetachFromDisposeScope())
        Array.blit seenClasses 0 seen 0 (min seenClasses.Length seen.Length)

    /// Records a batch's final states (L entries) of `net` for the initializer's next
    /// use: keeps them, updates the class means, and trains the memories towards them
    /// (Eq. 9). A memory whose layer is followed by forward-initialised layers sets
    /// their h^(0) too, so it learns on the sum over all of them, through the
    /// network's predictions (whose parameters it leaves unchanged).
    member _.Record(net: Network, init: Initializer, states: Tensor[], labels: Tensor option, observation: Tensor option) =
        use _ = torch.no_grad ()
        if init.Uses((=) InitKind.Keep) then
            let fresh = states |> Array.map (fun s -> s.detach().clone().DetachFromDisposeScope())
            for t in kept do t.Dispose()
            kept <- fresh
        match labels with
        | Some y when init.Uses((=) InitKind.StreamAverage) ->
            use _ = torch.NewDisposeScope()
            let oneHot = torch.nn.functional.one_hot(y, int64 classes).``to``(states[states.Length - 1].dtype)
            let counts = oneHot.sum(0L)
            let positive = Ops.gt counts 0.0
            let present = positive.cpu().data<bool>().ToArray()
            let denom = (Ops.clampMin counts 1.0).unsqueeze(1L)
            if means.Length = 0 then
                means <- states |> Array.map (fun s ->
                    torch.zeros(Array.append [| int64 classes |] (s.shape |> Array.skip 1), dtype = s.dtype, device = s.device).DetachFromDisposeScope())
            for i in 0 .. means.Length - 1 do
                let s = states[i].detach()
                let flat = s.reshape(s.shape[0], -1L)
                let m = (oneHot.t().mm(flat) / denom).reshape(means[i].shape)
                let mask = positive.reshape(Array.append [| int64 classes |] (Array.create (int (means[i].dim ()) - 1) 1L))
                means[i].copy_(torch.where(mask, m, means[i])) |> ignore
            for c in 0 .. classes - 1 do
                if present[c] then seen[c] <- true
        | _ -> ()
        match observation with
        | Some o ->
            use _ = torch.enable_grad ()
            for KeyValue(l, m) in memories do
                let above = [ l + 1 .. states.Length - 1 ] |> List.takeWhile (fun u -> init.KindAt u = InitKind.Forward)
                m.LearnWith(o, fun recall ->
                    let distance (h: Tensor) (target: Tensor) = (Ops.minus h (target.detach().reshape(h.shape))).square().sum()
                    let mutable h = recall.reshape(states[l].shape)
                    let mutable loss = distance h states[l]
                    for u in above do
                        h <- net.Blocks[u - 1].Forward h
                        loss <- Ops.plus loss (distance h states[u])
                    Ops.div loss (float states[l].shape[0]))
                |> ignore
        | None -> ()

    interface IDisposable with
        member _.Dispose() =
            for t in kept do t.Dispose()
            for t in means do t.Dispose()
            for m in memories.Values do (m :> IDisposable).Dispose()
            kept <- [||]
            means <- [||]
            memories.Clear()

module InitApply =
    /// Computes h^(0) for a batch, bottom-up. Forward layers take the prediction of
    /// the layer below; `Keep` and `StreamAverage` fall back to forward where they
    /// have nothing yet (first batch, a batch of another size, an unseen class), and
    /// to zero for the latent layer of a generative network, which has no forward
    /// pass. Memories are created on first use, with V set so that they recall the
    /// forward initialisation of that first batch (zero for the latent layer).
    /// With `leaves`, free states are fresh leaves requiring gradients and the
    /// forward sweep's predictions keep their graph, so inference can reuse them.
    let apply (init: Initializer) (state: InitState) (ctx: InitContext) (leaves: bool) : InitResult =
        let net = ctx.Network
        let L = net.Depth
        let firstFree = if ctx.Input.IsSome then 1 else 0
        init.Validate(firstFree, L - 1)
        let n = int64 ctx.BatchSize
        let dtype = net.Precision.ScalarType
        let states = Array.zeroCreate<Tensor> L
        let preds = Array.create<Tensor option> L None
        let predictionOf l =
            // mu_l = f_{l-1}(h_{l-1}), with the graph when leaves are asked for.
            match preds[l - 1] with
            | Some p -> p
            | None ->
                let p =
                    if leaves then net.Blocks[l - 1].Forward states[l - 1]
                    else using (torch.no_grad ()) (fun _ -> net.Blocks[l - 1].Forward states[l - 1])
                preds[l - 1] <- Some p
                p
        match ctx.Input with
        | Some x -> states[0] <- x
        | None -> ()
        for l in firstFree .. L - 1 do
            let shape = Array.append [| n |] (net.StateShape l)
            let zeros () = torch.zeros(shape, dtype = dtype, device = net.Device)
            let forward () = if l = 0 then zeros () else (predictionOf l).detach()
            let h =
                match init.KindAt l with
                | InitKind.Forward ->
                    if l = 0 then invalidArg "init" "forward initialisation does not exist for the latent layer h_0 of a generative network (it has no input)"
                    forward ()
                | InitKind.Zero -> zeros ()
                | InitKind.Random(m, s) ->
                    Ops.add (Ops.mul (torch.randn(shape, dtype = dtype, device = torch.CPU, generator = ctx.Generator)) s) m |> fun t -> t.``to``(net.Device)
                | InitKind.Keep ->
                    if state.Kept.Length = L && not (isNull state.Kept[l]) && state.Kept[l].shape = shape then state.Kept[l].clone()
                    else forward ()
                | InitKind.StreamAverage ->
                    match ctx.Labels with
                    | None when l = 0 -> invalidArg "init" "the stream average needs labels; the latent layer of a generative network has none"
                    | Some y when state.Means.Length = L ->
                        let seen = state.Seen
                        let labels = y.cpu().data<int64>().ToArray()
                        let avg = state.Means[l].index_select(0L, y)
                        if labels |> Array.forall (fun c -> seen[int c]) then avg
                        else
                            let known = torch.tensor(labels |> Array.map (fun c -> seen[int c]), device = net.Device)
                            let mask = known.reshape(Array.append [| n |] (Array.create (shape.Length - 1) 1L))
                            torch.where(mask, avg, forward ())
                    | _ -> forward ()
                | InitKind.Memory spec ->
                    let o =
                        match ctx.Observation with
                        | Some o -> o
                        | None -> invalidArg "observation" "the memory initializer needs the batch's observation"
                    let size = int (Array.fold (*) 1L (net.StateShape l))
                    let m = state.MemoryFor(l, spec, int o.shape[1], size, dtype, net.Device, Rng.derive (int64 l) "memory")
                    if not m.ValuesInitialised then m.InitialiseValues(o, forward ())
                    using (torch.no_grad ()) (fun _ -> m.Recall(o).reshape(shape))
            states[l] <- if leaves then h.detach().requires_grad_(true) else h.detach()
        // The top prediction comes for free when the sweep reached the last hidden layer.
        if ctx.Input.IsSome && L >= 2 && init.KindAt(L - 1) = InitKind.Forward then predictionOf L |> ignore
        { States = states; Predictions = preds }
