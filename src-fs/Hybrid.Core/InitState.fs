/// Applying an initializer (SPEC.md 1.2): the context of a batch, the state that
/// keep, avg and mem carry from one batch to the next (owned by one type), and
/// h^(0) computed bottom-up.
namespace Hybrid

open System
open TorchSharp

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

/// The stream-aligned average (Eq. 7) as functions: class means of the inferred states.
module StreamAverage =
    /// Eq. 7: the class means `[C; shape]` of each layer after a batch. Classes present
    /// in the batch take the mean of their samples' final states; the others keep their
    /// previous mean (zero before any). Returns new tensors; the inputs are not changed.
    let update (classes: int) (previous: Tensor[] option) (states: Tensor[]) (labels: Tensor) : Tensor[] =
        use _ = torch.no_grad ()
        let oneHot = torch.nn.functional.one_hot(labels, int64 classes).``to``(states[states.Length - 1].dtype)
        let counts = oneHot.sum(0L)
        let present = Ops.gt counts 0.0
        let denom = (Ops.clampMin counts 1.0).unsqueeze(1L)
        states
        |> Array.mapi (fun i s ->
            let s = s.detach()
            let shape = Array.append [| int64 classes |] (s.shape |> Array.skip 1)
            let before =
                match previous with
                | Some p -> p[i]
                | None -> torch.zeros(shape, dtype = s.dtype, device = s.device)
            let mean = (oneHot.t().mm(s.reshape(s.shape[0], -1L)) / denom).reshape(shape)
            torch.where(present.reshape(Array.append [| int64 classes |] (Array.create (shape.Length - 1) 1L)), mean, before))

    /// The classes present in a batch's labels.
    let present (classes: int) (labels: Tensor) : bool[] =
        use _ = torch.no_grad ()
        let counts = torch.nn.functional.one_hot(labels, int64 classes).sum(0L)
        (Ops.gt counts 0.0).cpu().data<bool>().ToArray()

    /// h_l^(0) = the mean of each sample's class, `[n; shape]`.
    let recall (means: Tensor) (labels: Tensor) : Tensor = means.index_select(0L, labels)

/// A copy of the state an initializer carries (kept states, class means, which classes
/// have a mean), for checkpoints. The tensors are clones owned by the holder.
type InitSnapshot =
    { Kept: Tensor[]
      Means: Tensor[]
      Seen: bool[] }

/// The state an initializer carries across batches: kept states, class means and
/// memories. It is the one owner of these tensors: it hands out copies, never the
/// live tensors. Memories are seeded from `seed` (one stream per layer).
type InitState(classes: int, seed: int64) =
    let mutable kept: Tensor[] = [||]
    let mutable means: Tensor[] = [||]
    let seen = Array.zeroCreate<bool> (max classes 1)
    let memories = Collections.Generic.SortedDictionary<int, HopfieldMemory>()

    let replace (old: Tensor[]) (fresh: Tensor[]) =
        let fresh = fresh |> Array.map (fun t -> t.DetachFromDisposeScope())
        for t in old do t.Dispose()
        fresh

    /// Number of classes.
    member _.Classes = classes
    /// The seed of the memories.
    member _.Seed = seed
    /// The previous batch's final states (index l for layer l), if any.
    member internal _.Kept = kept
    /// The per-class means of each layer (index l; `[C; shape]`), if any.
    member internal _.Means = means
    /// Which classes have a mean (a copy).
    member _.Seen = Array.copy seen
    /// The memories, by layer.
    member _.Memories: Collections.Generic.IReadOnlyDictionary<int, HopfieldMemory> = memories

    /// The memory of layer `l`, created on first use (seeded from the state's seed and the layer).
    member _.MemoryFor(l: int, spec: MemorySpec, observationSize: int, stateSize: int, dtype: ScalarType, device: Device) =
        match memories.TryGetValue l with
        | true, m ->
            if m.ObservationSize <> observationSize then
                invalidArg "observation" (sprintf "the memory of layer %d expects observations of size %d, got %d" l m.ObservationSize observationSize)
            m
        | _ ->
            let m = new HopfieldMemory(observationSize, stateSize, spec, dtype, device, Rng.derive seed (sprintf "memory/%d" l))
            memories[l] <- m
            m

    /// Copies of the kept states, class means and seen classes.
    member _.Snapshot() : InitSnapshot =
        { Kept = kept |> Array.map (fun t -> t.clone())
          Means = means |> Array.map (fun t -> t.clone())
          Seen = Array.copy seen }

    /// Replaces the kept states, class means and seen classes (checkpoint restore).
    /// The tensors are cloned onto `device`.
    member _.Restore(snapshot: InitSnapshot, device: Device) =
        kept <- replace kept (snapshot.Kept |> Array.map (fun t -> t.``to``(device).clone()))
        means <- replace means (snapshot.Means |> Array.map (fun t -> t.``to``(device).clone()))
        Array.blit snapshot.Seen 0 seen 0 (min snapshot.Seen.Length seen.Length)

    /// Records a batch's final states (L entries) of `net` for the initializer's next
    /// use: keeps them, updates the class means (Eq. 7), and trains the memories
    /// towards them (Eq. 9), each on its own layer and the forward-initialised layers
    /// directly above it (through the network's predictions, whose parameters it
    /// leaves unchanged).
    member _.Record(net: Network, init: Initializer, states: Tensor[], labels: Tensor option, observation: Tensor option) =
        use _ = torch.no_grad ()
        if init.Uses((=) InitKind.Keep) then
            kept <- replace kept (states |> Array.map (fun s -> s.detach().clone()))
        match labels with
        | Some y when init.Uses((=) InitKind.StreamAverage) ->
            use _ = torch.NewDisposeScope()
            means <- replace means (StreamAverage.update classes (if means.Length = 0 then None else Some means) states y)
            StreamAverage.present classes y |> Array.iteri (fun c p -> if p then seen[c] <- true)
        | _ -> ()
        match observation with
        | Some o ->
            use _ = torch.enable_grad ()
            for KeyValue(l, m) in memories do
                let above = [ l + 1 .. states.Length - 1 ] |> List.takeWhile (fun u -> init.KindAt u = InitKind.Forward)
                let blocks = above |> List.map (fun u -> fun h -> net.Blocks[u - 1].Forward h)
                Memory.learn m o blocks (states[l] :: (above |> List.map (fun u -> states[u]))) |> ignore
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
    /// Nothing the state holds is changed, except that a memory is created on first use.
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
        let kept = state.Kept
        let means = state.Means
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
                    if kept.Length = L && not (isNull kept[l]) && kept[l].shape = shape then kept[l].clone()
                    else forward ()
                | InitKind.StreamAverage ->
                    match ctx.Labels with
                    | None when l = 0 -> invalidArg "init" "the stream average needs labels; the latent layer of a generative network has none"
                    | Some y when means.Length = L ->
                        let seen = state.Seen
                        let labels = y.cpu().data<int64>().ToArray()
                        let avg = StreamAverage.recall means[l] y
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
                    let m = state.MemoryFor(l, spec, int o.shape[1], size, dtype, net.Device)
                    if not m.ValuesInitialised then m.InitialiseValues(o, forward ())
                    using (torch.no_grad ()) (fun _ -> (Memory.recall m o).reshape(shape))
            states[l] <- if leaves then h.detach().requires_grad_(true) else h.detach()
        // The top prediction comes for free when the sweep reached the last hidden layer.
        if ctx.Input.IsSome && L >= 2 && init.KindAt(L - 1) = InitKind.Forward then predictionOf L |> ignore
        { States = states; Predictions = preds }
