/// Hopfield-layer memories (SPEC.md 1.6, Eq. 8 and 9): a per-layer associative
/// memory that recalls an initial state from the observation,
///
///     h^(0) = softmax(delta (o Q + b) K^T) V,
///
/// trained after each batch towards the inferred states by gradient descent on
/// ||h^(0) - h^(T)||^2. With a > 1 heads the embedding splits into a parts of
/// e/a, each head attends over its own p keys, and the recall sums the heads'
/// retrievals: h^(0) = [A_1 .. A_a] V with V of a p rows (a = 1 is Eq. 8).
namespace Hybrid

open System
open System.Globalization
open TorchSharp

/// Settings of a memory initializer.
type MemorySpec =
    { /// p, the number of memory slots.
      Slots: int
      /// delta, the inverse temperature of the recall.
      Delta: float
      /// e, the size of the query/key embedding (split evenly among the heads).
      Embedding: int
      /// a, the number of attention heads.
      Heads: int
      /// Adam learning rate of the memory's parameters.
      LearningRate: float }

    /// The paper's supervised setting: 16 slots, delta 1, embedding 128, one head, Adam 1e-3.
    static member Default = { Slots = 16; Delta = 1.0; Embedding = 128; Heads = 1; LearningRate = 1e-3 }

    /// `mem(slots=..,delta=..,dim=..,lr=..)`, with `heads=..` when there is more than one.
    override this.ToString() =
        let heads = if this.Heads = 1 then "" else sprintf ",heads=%d" this.Heads
        String.Format(CultureInfo.InvariantCulture, "mem(slots={0},delta={1},dim={2}{3},lr={4})", this.Slots, this.Delta, this.Embedding, heads, this.LearningRate)

    /// Checks the settings; the message names the bad value.
    member this.Validate() =
        if this.Slots < 1 then invalidArg "slots" (sprintf "a memory needs at least 1 slot (p >= 1), got %d" this.Slots)
        if not (this.Delta > 0.0) || Double.IsInfinity this.Delta then invalidArg "delta" (sprintf "the memory's inverse temperature delta must be positive and finite, got %g" this.Delta)
        if this.Embedding < 1 then invalidArg "dim" (sprintf "the memory embedding needs at least 1 dimension, got %d" this.Embedding)
        if this.Heads < 1 then invalidArg "heads" (sprintf "a memory needs at least 1 head, got %d" this.Heads)
        if this.Embedding % this.Heads <> 0 then
            invalidArg "heads" (sprintf "the embedding size %d does not split evenly among %d heads" this.Embedding this.Heads)
        if not (this.LearningRate > 0.0 && Double.IsFinite this.LearningRate) then
            invalidArg "lr" (sprintf "the memory learning rate must be positive and finite, got %g" this.LearningRate)

/// One Hopfield layer: query Q `[o; e]`, bias b `[e]`, keys K `[p; e]` (head h uses
/// columns h e/a .. (h+1) e/a - 1 of the query and the keys), values V `[a p; d]`.
/// Owns its parameters and its optimiser.
type HopfieldMemory(observationSize: int, stateSize: int, spec: MemorySpec, dtype: torch.ScalarType, device: torch.Device, seed: int64) =
    do spec.Validate()
    do if observationSize < 1 || stateSize < 1 then invalidArg "size" (sprintf "observation and state sizes must be positive, got %d and %d" observationSize stateSize)
    let make (t: torch.Tensor) = (new Modules.Parameter(t.``to``(device), true)).DetachFromDisposeScope() :?> Modules.Parameter
    let q, b, k, v =
        use _ = torch.NewDisposeScope()
        use g = Rng.generator seed torch.CPU
        let e = int64 spec.Embedding
        // Unit-variance logits per head (before delta) for observations of unit scale.
        make (Ops.div (torch.randn([| int64 observationSize; e |], dtype = dtype, generator = g)) (sqrt (float observationSize))),
        make (torch.zeros([| e |], dtype = dtype)),
        make (Ops.div (torch.randn([| int64 spec.Slots; e |], dtype = dtype, generator = g)) (sqrt (float (spec.Embedding / spec.Heads)))),
        make (torch.zeros([| int64 (spec.Heads * spec.Slots); int64 stateSize |], dtype = dtype))
    let parameters = [ q; b; k; v ]
    // Gradients of a memory step go to these only, not to the network layers a loss
    // may pass through.
    let gradientTargets = Collections.Generic.List<torch.Tensor>(parameters |> Seq.cast<torch.Tensor>)
    let optimizer = new Optimizer(OptimizerSpec.AdamW(spec.LearningRate, 0.0), parameters)
    let mutable valuesInitialised = false

    /// The settings.
    member _.Spec = spec
    /// Observation size.
    member _.ObservationSize = observationSize
    /// State size.
    member _.StateSize = stateSize
    /// Q, b, K, V in that order.
    member _.Parameters: Modules.Parameter list = parameters
    /// Whether V has been set from a first batch (or loaded).
    member _.ValuesInitialised = valuesInitialised

    /// Copies saved values of Q, b, K and V in (checkpoints); shapes must match.
    member _.Load(values: torch.Tensor list) =
        if values.Length <> parameters.Length then invalidArg "values" (sprintf "a memory has %d parameters, got %d tensors" parameters.Length values.Length)
        use _ = torch.no_grad ()
        for p, t in List.zip parameters values do
            if p.shape <> t.shape then
                invalidArg "values" (sprintf "a saved memory tensor has shape [%s], the memory needs [%s]" (String.Join(", ", t.shape)) (String.Join(", ", p.shape)))
            p.copy_(t) |> ignore
        valuesInitialised <- true

    member private _.Check(o: torch.Tensor) =
        if o.dim () <> 2L || int o.shape[1] <> observationSize then
            invalidArg "observation"
                (sprintf "observation of shape [%s] does not match the memory's observation size %d (expected [batch; %d])"
                    (String.Join(", ", o.shape)) observationSize observationSize)

    /// The attention weights softmax(delta (o Q + b) K^T), `[n; a p]`: head h's
    /// softmax over the p slots in columns h p .. (h+1) p - 1.
    member this.Attention(o: torch.Tensor) : torch.Tensor =
        this.Check o
        let a, p, n = int64 spec.Heads, int64 spec.Slots, o.shape[0]
        let d = int64 (spec.Embedding / spec.Heads)
        // [a; n; d] x [a; d; p] -> [a; n; p], softmax over the slots, then [n; a p].
        let qh = (Ops.plus (o.mm(q)) b).reshape(n, a, d).transpose(0L, 1L)
        let kh = k.reshape(p, a, d).permute(1L, 2L, 0L)
        let weights = torch.nn.functional.softmax(Ops.mul (qh.bmm(kh)) spec.Delta, 2L)
        weights.transpose(0L, 1L).reshape(n, a * p)

    /// Eq. 8: the recalled states `[n; d]`.
    member this.Recall(o: torch.Tensor) : torch.Tensor = this.Attention(o).mm(v)

    /// Sets V = pinv(A) H so that the recall reproduces `target` (`[n; d]`) as well as
    /// p slots allow: with one slot per sample at high delta, exactly.
    member this.InitialiseValues(o: torch.Tensor, target: torch.Tensor) =
        use _ = torch.NewDisposeScope()
        use _ = torch.no_grad ()
        let a = this.Attention(o).to_type(torch.float64)
        let sol = torch.linalg.pinv(a).mm(target.reshape(target.shape[0], -1L).to_type(torch.float64))
        v.copy_(sol.to_type(v.dtype)) |> ignore
        valuesInitialised <- true

    /// Stores observation/state pairs one per slot (slots 0..n-1): the keys become the
    /// embedded observations o Q + b and the values the states, so that at high delta
    /// recalling a stored observation returns its state. Single-headed memories only.
    member internal this.Store(o: torch.Tensor, states: torch.Tensor) =
        this.Check o
        let n = o.shape[0]
        if spec.Heads <> 1 then invalidArg "heads" "storing pairs slot by slot needs a single-headed memory"
        if n > int64 spec.Slots then invalidArg "observation" (sprintf "%d states do not fit in %d slots" n spec.Slots)
        use _ = torch.NewDisposeScope()
        use _ = torch.no_grad ()
        k.narrow(0L, 0L, n).copy_(Ops.plus (o.mm(q)) b) |> ignore
        v.narrow(0L, 0L, n).copy_(states.reshape(n, -1L)) |> ignore
        valuesInitialised <- true

    /// One Adam step of the memory's parameters on `lossOf (recall o)` (a scalar that may
    /// pass the recall through layers above the memory; see `Memory.loss`); returns the
    /// loss. Only the memory's parameters receive gradients.
    member this.Learn(o: torch.Tensor, lossOf: torch.Tensor -> torch.Tensor) : float =
        use _ = torch.NewDisposeScope()
        optimizer.ZeroGrad()
        let loss = lossOf (this.Recall(o.detach()))
        loss.backward(null, false, false, gradientTargets)
        optimizer.Step()
        Scope.scalar loss

    /// The memory's own optimiser (Adam on Q, b, K, V).
    member _.Optimizer = optimizer

    interface IDisposable with
        member _.Dispose() =
            (optimizer :> IDisposable).Dispose()
            for p in parameters do p.Dispose()

/// The memory initializer's equations as functions.
module Memory =
    /// Eq. 8: h^(0) = softmax(delta (o Q + b) K^T) V, the recalled states `[n; d]`.
    let recall (m: HopfieldMemory) (o: torch.Tensor) : torch.Tensor = m.Recall o

    /// Eq. 9: sum_l ||h_l^(0) - h_l^(T)||^2 / n over the memory's layer and the
    /// forward-initialised layers above it, whose h^(0) the recall sets through the
    /// network's predictions: `recall` is the memory's h^(0), `above` the blocks from
    /// the memory's layer up (f_l, f_{l+1}, ...), `targets` the inferred states of the
    /// memory's layer and of each layer above (detached here).
    let loss (recall: torch.Tensor) (above: (torch.Tensor -> torch.Tensor) list) (targets: torch.Tensor list) : torch.Tensor =
        match targets with
        | [] -> invalidArg "targets" "Eq. 9 needs the inferred states of at least the memory's layer"
        | first :: rest ->
            if above.Length <> rest.Length then invalidArg "above" (sprintf "%d blocks above for %d layers above" above.Length rest.Length)
            let distance (h: torch.Tensor) (target: torch.Tensor) = (Ops.minus h (target.detach().reshape(h.shape))).square().sum()
            let h0 = recall.reshape(first.shape)
            let _, total =
                List.zip above rest
                |> List.fold (fun (h, acc) (f, target) -> let h' = f h in h', Ops.plus acc (distance h' target)) (h0, distance h0 first)
            Ops.div total (float first.shape[0])

    /// One Adam step of the memory on Eq. 9; returns the loss.
    let learn (m: HopfieldMemory) (o: torch.Tensor) (above: (torch.Tensor -> torch.Tensor) list) (targets: torch.Tensor list) : float =
        m.Learn(o, fun r -> loss r above targets)
