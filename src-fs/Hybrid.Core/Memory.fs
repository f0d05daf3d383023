/// Hopfield-layer memories (SPEC.md 1.6, Eq. 8 and 9): a per-layer associative
/// memory that recalls an initial state from the observation,
///
///     h^(0) = softmax(delta (o Q + b) K^T) V,
///
/// trained after each batch towards the inferred states by gradient descent on
/// ||h^(0) - h^(T)||^2.
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
      /// e, the size of the query/key embedding.
      Embedding: int
      /// Adam learning rate of the memory's parameters.
      LearningRate: float }

    /// The paper's supervised setting: 16 slots, delta 1, embedding 128, Adam 1e-3.
    static member Default = { Slots = 16; Delta = 1.0; Embedding = 128; LearningRate = 1e-3 }

    override this.ToString() =
        String.Format(CultureInfo.InvariantCulture, "mem(slots={0},delta={1},dim={2},lr={3})", this.Slots, this.Delta, this.Embedding, this.LearningRate)

    /// Checks the settings; the message names the bad value.
    member this.Validate() =
        if this.Slots < 1 then invalidArg "slots" (sprintf "a memory needs at least 1 slot (p >= 1), got %d" this.Slots)
        if not (this.Delta > 0.0) || Double.IsInfinity this.Delta then invalidArg "delta" (sprintf "the memory's inverse temperature delta must be positive and finite, got %g" this.Delta)
        if this.Embedding < 1 then invalidArg "dim" (sprintf "the memory embedding needs at least 1 dimension, got %d" this.Embedding)
        if not (this.LearningRate > 0.0) then invalidArg "lr" (sprintf "the memory learning rate must be positive, got %g" this.LearningRate)

/// One Hopfield layer: query Q `[o; e]`, bias b `[e]`, keys K `[p; e]`, values V `[p; d]`.
/// Owns its parameters and its optimiser.
type HopfieldMemory(observationSize: int, stateSize: int, spec: MemorySpec, dtype: torch.ScalarType, device: torch.Device, seed: int64) =
    do spec.Validate()
    do if observationSize < 1 || stateSize < 1 then invalidArg "size" (sprintf "observation and state sizes must be positive, got %d and %d" observationSize stateSize)
    let make (t: torch.Tensor) = (new Modules.Parameter(t.``to``(device), true)).DetachFromDisposeScope() :?> Modules.Parameter
    let q, b, k, v =
        use _ = torch.NewDisposeScope()
        use g = Rng.generator seed torch.CPU
        let e = int64 spec.Embedding
        make (Ops.div (torch.randn([| int64 observationSize; e |], dtype = dtype, generator = g)) (sqrt (float observationSize))),
        make (torch.zeros([| e |], dtype = dtype)),
        make (Ops.div (torch.randn([| int64 spec.Slots; e |], dtype = dtype, generator = g)) (sqrt (float spec.Embedding))),
        make (torch.zeros([| int64 spec.Slots; int64 stateSize |], dtype = dtype))
    let parameters = [ q; b; k; v ]
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
    member _.ValuesInitialised
        with get () = valuesInitialised
        and set value = valuesInitialised <- value

    member private _.Check(o: torch.Tensor) =
        if o.dim () <> 2L || int o.shape[1] <> observationSize then
            invalidArg "observation"
                (sprintf "observation of shape [%s] does not match the memory's observation size %d (expected [batch; %d])"
                    (String.Join("; ", o.shape)) observationSize observationSize)

    /// The attention weights softmax(delta (o Q + b) K^T), `[n; p]`.
    member this.Attention(o: torch.Tensor) : torch.Tensor =
        this.Check o
        let logits = Ops.mul ((Ops.plus (o.mm(q)) b).mm(k.t())) spec.Delta
        torch.nn.functional.softmax(logits, 1L)

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
    /// recalling a stored observation returns its state.
    member this.Store(o: torch.Tensor, states: torch.Tensor) =
        this.Check o
        let n = o.shape[0]
        if n > int64 spec.Slots then invalidArg "observation" (sprintf "%d states do not fit in %d slots" n spec.Slots)
        use _ = torch.NewDisposeScope()
        use _ = torch.no_grad ()
        k.narrow(0L, 0L, n).copy_(Ops.plus (o.mm(q)) b) |> ignore
        v.narrow(0L, 0L, n).copy_(states.reshape(n, -1L)) |> ignore
        valuesInitialised <- true

    /// Eq. 9: one Adam step on sum ||recall(o) - target||^2 / n; returns the loss.
    member this.Learn(o: torch.Tensor, target: torch.Tensor) : float =
        use _ = torch.NewDisposeScope()
        optimizer.ZeroGrad()
        let diff = Ops.minus (this.Recall(o.detach())) (target.detach().reshape(target.shape[0], -1L))
        let loss = Ops.div (diff.square().sum()) (float o.shape[0])
        loss.backward()
        optimizer.Step()
        Scope.scalar loss

    /// The memory's own optimiser (Adam on Q, b, K, V).
    member _.Optimizer = optimizer

    interface IDisposable with
        member _.Dispose() =
            (optimizer :> IDisposable).Dispose()
            for p in parameters do p.Dispose()
