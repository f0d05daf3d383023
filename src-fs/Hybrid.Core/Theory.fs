/// Instruments for the theory of predictive coding (Innocenti's thesis and its papers):
/// the energy at the inference equilibrium F*(θ) = min_h F(h, θ), in closed form for
/// deep linear networks and by inference for any network; Hessians of the loss and of
/// F* with respect to the weights (full matrices, Hessian-vector products, Lanczos);
/// the activity Hessians of sPC's and ePC's energies; and the trust-region step.
///
/// Conventions: every function of the weights is the batch mean (1/n, like the weight
/// gradients of `Learning`), so F*(θ) = 1/(2n) sum_i r_i^T S^{-1} r_i for a linear chain.
/// "The weights" are each dense or conv block's weight and every parameter of a module
/// block (`weights`); biases stay where they are. Returned tensors belong to the caller's
/// dispose scope.
module Hybrid.Theory

open System
open TorchSharp

type private T = torch.Tensor

let weights (net: Network) : Modules.Parameter[][] =
    net.Blocks
    |> Array.map (fun b ->
        match b.Kind with
        | BlockKind.Dense _
        | BlockKind.Conv _ -> [| b.Weight |]
        | BlockKind.Module _ -> Array.ofList b.Parameters)

let private leaves (net: Network) : T[] =
    weights net |> Array.concat |> Array.map (fun p -> p :> T)

let parameterCount (net: Network) : int64 = leaves net |> Array.sumBy (fun p -> p.numel ())

let flatten (parts: T[]) : T =
    torch.cat(parts |> Array.map (fun t -> t.reshape(-1L)), 0L)

/// Gradients of `f` with respect to `xs`, zeros where `f` does not depend on one.
let private gradients (f: T) (xs: T[]) (createGraph: bool) (retain: bool) : T[] =
    // libtorch aborts the process on a gradient with respect to nothing (a chain of one
    // block has no hidden state).
    if xs.Length = 0 then [||]
    elif not f.requires_grad then xs |> Array.map torch.zeros_like
    else
        let gs = torch.autograd.grad([| f |], xs, retain_graph = retain, create_graph = createGraph, allow_unused = true)
        Array.init xs.Length (fun i -> if isNull gs[i] then torch.zeros_like xs[i] else gs[i])

// ---------------------------------------------------------------- deep linear networks

let private linearMatrices (net: Network) : T[] =
    if net.Loss <> Loss.SquaredError then
        invalidArg "net" "the closed-form equilibrated energy needs a squared-error output"
    net.Blocks
    |> Array.mapi (fun i b ->
        match b.Kind with
        | BlockKind.Dense(Activation.Identity, Activation.Identity, scale, false) ->
            let w = b.Weight :> T
            if scale = 1.0 then w else Ops.mul w scale
        | _ ->
            invalidArg "net" (sprintf "the closed-form equilibrated energy needs a linear chain: %s is not a plain linear block" (Network.blockLabel net i)))

let linearRescaling (net: Network) : T =
    let ms = linearMatrices net
    let dy = int64 net.Outputs
    let eye = torch.eye(dy, dtype = net.Precision.ScalarType, device = net.Device)
    let mutable product = eye
    let mutable s = eye
    // W_{L:l} = W_L ... W_l for l = L down to 2 (blocks L-1 down to 1).
    for i in ms.Length - 1 .. -1 .. 1 do
        product <- product.mm(ms[i])
        s <- Ops.plus s (product.mm(product.t()))
    s

let linearEquilibratedEnergy (net: Network) (x: T) (y: T) : T =
    let s = linearRescaling net
    let n = x.shape[0]
    let r = (Ops.minus y (net.Forward x)).reshape(n, -1L)
    let z = torch.linalg.solve(s, r.t())
    Ops.div ((r.t() * z).sum()) (2.0 * float n)

// ---------------------------------------------------------------- equilibria by inference

type EquilibriumOptions =
    { StepSize: float
      Tolerance: float
      MaxSteps: int }

    member o.Validate() =
        if not (o.StepSize > 0.0 && Double.IsFinite o.StepSize) then
            invalidArg "StepSize" (sprintf "the step size must be positive and finite, got %g" o.StepSize)
        if not (o.Tolerance > 0.0 && Double.IsFinite o.Tolerance) then
            invalidArg "Tolerance" (sprintf "the tolerance must be positive and finite, got %g" o.Tolerance)
        if o.MaxSteps < 1 then invalidArg "MaxSteps" (sprintf "at least one step is needed, got %d" o.MaxSteps)

module EquilibriumOptions =
    let defaults = { StepSize = 0.2; Tolerance = 1e-9; MaxSteps = 20000 }

type Equilibrium =
    { States: T[]
      Energy: float
      GradientNorm: float
      Steps: int
      Converged: bool }

/// The largest per-sample norm of a gradient given layer by layer ([n, ...] each).
let private sampleNorm (gs: T[]) =
    let n = gs[0].shape[0]
    let sq = gs |> Array.map (fun g -> g.reshape(n, -1L).square().sum(1L)) |> Ops.sum
    Scope.scalar (sq.sqrt().max())

let private forwardStates (net: Network) (x: T) : T[] =
    use _ = torch.no_grad ()
    let states = Array.zeroCreate (net.Depth)
    states[0] <- x.detach()
    for l in 1 .. net.Depth - 1 do
        states[l] <- net.Blocks[l - 1].Forward(states[l - 1]).detach()
    states

let equilibrateFrom (net: Network) (init: T[]) (target: T option) (opts: EquilibriumOptions) : Equilibrium =
    opts.Validate()
    if init.Length <> net.Depth then
        invalidArg "init" (sprintf "a network of %d blocks has %d states (the input first), got %d" net.Depth net.Depth init.Length)
    let n = float init[0].shape[0]
    let evaluate (hidden: T[]) =
        use scope = torch.NewDisposeScope()
        let vars = hidden |> Array.map (fun h -> h.detach().requires_grad_(true))
        let f = Energy.spc net (Array.append [| init[0] |] vars) target
        let g = gradients f vars false false
        let e = Scope.scalar f
        let norm = if g.Length = 0 then 0.0 else sampleNorm g
        e, norm, g |> Array.map (fun t -> t.detach().MoveToOuterDisposeScope())
    let mutable hidden = init[1..] |> Array.map (fun h -> h.detach().clone())
    let mutable energy, norm, grad = evaluate hidden
    let mutable step = opts.StepSize
    let mutable steps = 0
    while norm > opts.Tolerance && steps < opts.MaxSteps && Double.IsFinite energy do
        let trial = Array.map2 (fun (h: T) (g: T) -> (Ops.minus h (Ops.mul g step)).detach()) hidden grad
        let e, nm, g = evaluate trial
        steps <- steps + 1
        if e <= energy + 1e-12 * abs energy || not (Double.IsFinite energy) then
            hidden <- trial
            energy <- e
            norm <- nm
            grad <- g
        else
            // The energy rose: this step was too long for the curvature here.
            step <- step / 2.0
            if step < opts.StepSize * 1e-12 then steps <- opts.MaxSteps
    if not (Double.IsFinite energy) then
        raise (ArithmeticException(sprintf "inference to the equilibrium diverged (energy %g)" energy))
    { States = Array.append [| init[0].detach() |] hidden
      Energy = energy / n
      GradientNorm = norm
      Steps = steps
      Converged = norm <= opts.Tolerance }

let equilibrate (net: Network) (x: T) (target: T option) (opts: EquilibriumOptions) : Equilibrium =
    equilibrateFrom net (forwardStates net x) target opts

// ---------------------------------------------------------------- functions of the weights

let loss (net: Network) (x: T) (y: T) : T =
    Ops.div (Network.outputLoss net.Loss (net.Forward x) y) (float x.shape[0])

let lossGradient (net: Network) (x: T) (y: T) : T[] = gradients (loss net x y) (leaves net) false false

/// F(h*, θ) / n with its graph to the weights (the states held fixed).
let private energyAt (net: Network) (eq: Equilibrium) (target: T) : T =
    Ops.div (Energy.spc net eq.States (Some target)) (float eq.States[0].shape[0])

let equilibratedGradient (net: Network) (eq: Equilibrium) (target: T) : T[] =
    gradients (energyAt net eq target) (leaves net) false false

let layerNorms (net: Network) (grads: T[]) : float[] =
    let counts = weights net |> Array.map Array.length
    if Array.sum counts <> grads.Length then
        invalidArg "grads" (sprintf "expected %d gradients (one per weight), got %d" (Array.sum counts) grads.Length)
    let starts = Array.scan (+) 0 counts
    Array.init counts.Length (fun b ->
        sqrt (Array.sum [| for k in starts[b] .. starts[b + 1] - 1 -> Scope.scalar (grads[k].square().sum()) |]))

// ---------------------------------------------------------------- Hessians

let hessian (ps: T[]) (f: unit -> T) : T =
    use scope = torch.NewDisposeScope()
    let g = flatten (gradients (f ()) ps true true)
    let count = g.shape[0]
    let rows =
        [| for k in 0L .. count - 1L ->
               use inner = torch.NewDisposeScope()
               let gk = g[k]
               (flatten (gradients gk ps false true)).detach().MoveToOuterDisposeScope() |]
    let h = torch.stack(rows, 0L)
    // Symmetrise away the round-off of the two orders of differentiation.
    (Ops.mul (Ops.plus h (h.t())) 0.5).MoveToOuterDisposeScope()

let lossHessian (net: Network) (x: T) (y: T) : T = hessian (leaves net) (fun () -> loss net x y)

let linearEquilibratedHessian (net: Network) (x: T) (y: T) : T =
    hessian (leaves net) (fun () -> linearEquilibratedEnergy net x y)

/// The hidden states of `eq` as one leaf z [n, D], the states as views of it.
let private stackedStates (eq: Equilibrium) =
    let n = eq.States[0].shape[0]
    let hidden = eq.States[1..]
    let z = torch.cat(hidden |> Array.map (fun h -> h.detach().reshape(n, -1L)), 1L).requires_grad_(true)
    let sizes = hidden |> Array.map (fun h -> h.numel () / n)
    let offsets = Array.scan (+) 0L sizes
    let views = hidden |> Array.mapi (fun i h -> z.narrow(1L, offsets[i], sizes[i]).reshape(h.shape))
    z, Array.append [| eq.States[0] |] views

let equilibratedHessian (net: Network) (eq: Equilibrium) (target: T) : T =
    use scope = torch.NewDisposeScope()
    let ps = leaves net
    let z, states = stackedStates eq
    let n = z.shape[0]
    let d = z.shape[1]
    let f = Ops.div (Energy.spc net states (Some target)) (float n)
    let all = Array.append [| z |] ps
    let g = gradients f all true true
    let gz, gtheta = g[0], flatten g[1..]
    let count = gtheta.shape[0]
    // Rows of F_θθ and F_θh, one weight coordinate at a time.
    let mixed, ftt =
        [| for k in 0L .. count - 1L ->
               use inner = torch.NewDisposeScope()
               let r = gradients gtheta[k] all false true
               r[0].detach().MoveToOuterDisposeScope(), (flatten r[1..]).detach().MoveToOuterDisposeScope() |]
        |> Array.unzip
    let ftt = torch.stack(ftt, 0L)
    let fth = torch.stack(mixed, 0L) // [P, n, D]
    // F_hh per sample: row j of every sample's block from one backward pass (samples are independent).
    let fhh =
        [| for j in 0L .. d - 1L ->
               use inner = torch.NewDisposeScope()
               let r = gradients (gz.select(1L, j).sum()) [| z |] false true
               r[0].detach().MoveToOuterDisposeScope() |]
    let fhh = torch.stack(fhh, 1L) // [n, D(row j), D]
    let c = fth.permute(1L, 2L, 0L) // [n, D, P]
    let solved = torch.linalg.solve(fhh, c)
    let h = Ops.minus ftt (c.transpose(1L, 2L).matmul(solved).sum(0L))
    (Ops.mul (Ops.plus h (h.t())) 0.5).MoveToOuterDisposeScope()

let lossHvp (net: Network) (x: T) (y: T) : T -> T =
    let ps = leaves net
    fun (v: T) ->
        use scope = torch.NewDisposeScope()
        let g = flatten (gradients (loss net x y) ps true true)
        let gv = (g * v).sum()
        (flatten (gradients gv ps false false)).detach().MoveToOuterDisposeScope()

let private conjugateGradient (op: T -> T) (b: T) (tolerance: float) (maxIterations: int) : T =
    let mutable xk = torch.zeros_like b
    let mutable r = b.clone()
    let mutable p = r.clone()
    let mutable rr = Scope.scalar (r.square().sum())
    let stop = tolerance * tolerance * max rr 1e-300
    let mutable k = 0
    while rr > stop && k < maxIterations do
        let ap = op p
        let alpha = rr / Scope.scalar ((p * ap).sum())
        xk <- Ops.plus xk (Ops.mul p alpha)
        r <- Ops.minus r (Ops.mul ap alpha)
        let next = Scope.scalar (r.square().sum())
        p <- Ops.plus r (Ops.mul p (next / rr))
        rr <- next
        k <- k + 1
    xk

let equilibratedHvp (net: Network) (eq: Equilibrium) (target: T) : T -> T =
    let ps = leaves net
    fun (v: T) ->
        use scope = torch.NewDisposeScope()
        let z, states = stackedStates eq
        let n = z.shape[0]
        let f = Ops.div (Energy.spc net states (Some target)) (float n)
        let all = Array.append [| z |] ps
        let g = gradients f all true true
        let gz, gtheta = g[0], flatten g[1..]
        let mixed = gradients ((gtheta * v).sum()) all false true
        let fhv, fttv = mixed[0].detach(), flatten mixed[1..]
        let fhh (w: T) = (gradients ((gz * w).sum()) [| z |] false true).[0].detach()
        let w = conjugateGradient fhh fhv 1e-10 (int (min 10000L (z.numel ())) + 10)
        let correction = flatten (gradients ((gz * w).sum()) ps false true)
        (Ops.minus fttv correction).detach().MoveToOuterDisposeScope()

type Extremes =
    { Smallest: float
      Largest: float }

    member e.Condition =
        if e.Smallest > 0.0 then e.Largest / e.Smallest else Double.PositiveInfinity

let extremes (symmetric: T) : Extremes =
    use scope = torch.NewDisposeScope()
    let ev = torch.linalg.eigvalsh(symmetric)
    let m = ev.shape[int (ev.dim ()) - 1]
    { Smallest = Scope.scalar (ev.narrow(-1L, 0L, 1L).min())
      Largest = Scope.scalar (ev.narrow(-1L, m - 1L, 1L).max()) }

let lanczos (dim: int64) (op: T -> T) (iterations: int) (seed: int64) (dtype: torch.ScalarType) (device: torch.Device) : Extremes =
    if dim < 1L then invalidArg "dim" "the operator needs at least one dimension"
    if iterations < 1 then invalidArg "iterations" (sprintf "at least one iteration is needed, got %d" iterations)
    use scope = torch.NewDisposeScope()
    let k = int (min (int64 iterations) dim)
    let gen = Rng.generator seed device
    let v0 = torch.randn([| dim |], dtype = dtype, device = device, generator = gen)
    let basis = Collections.Generic.List<T>()
    basis.Add(v0 / v0.norm())
    let alphas = Collections.Generic.List<float>()
    let betas = Collections.Generic.List<float>()
    let mutable stop = false
    while not stop && basis.Count <= k do
        let q = basis[basis.Count - 1]
        let mutable w = op q
        let a = Scope.scalar ((q * w).sum())
        alphas.Add a
        // Full reorthogonalisation against every earlier vector (twice, for round-off).
        for _ in 1 .. 2 do
            for b in basis do
                w <- Ops.minus w (b * (w * b).sum())
        let beta = Scope.scalar (w.norm())
        if basis.Count = k || beta <= 1e-12 * (abs a + 1e-300) then stop <- true
        else
            betas.Add beta
            basis.Add(Ops.div w beta)
    let m = alphas.Count
    let f64 = torch.ScalarType.Float64
    let diagonal = torch.diag(torch.tensor(alphas.ToArray(), dtype = f64))
    let t =
        if m = 1 then diagonal
        else
            let off = torch.tensor(betas.ToArray() |> Array.truncate (m - 1), dtype = f64)
            Ops.plus diagonal (Ops.plus (torch.diag(off, 1L)) (torch.diag(off, -1L)))
    extremes t

// ---------------------------------------------------------------- activity Hessians

/// The variables of inference as one leaf z [n, D], and the energy as a function of them.
let private activityEnergy (net: Network) (reparam: Reparam) (states: T[]) (target: T option) =
    if states.Length <> net.Depth then
        invalidArg "states" (sprintf "a network of %d blocks has %d states (the input first), got %d" net.Depth net.Depth states.Length)
    if net.Depth < 2 then invalidArg "net" "a network of one block has no hidden states"
    let n = states[0].shape[0]
    let x = states[0].detach()
    let hidden =
        match reparam with
        | Reparam.States -> states[1..] |> Array.map (fun h -> h.detach())
        | Reparam.Errors ->
            use _ = torch.no_grad ()
            [| for l in 1 .. net.Depth - 1 -> (Ops.minus states[l] (net.Blocks[l - 1].Forward(states[l - 1]))).detach() |]
    let sizes = hidden |> Array.map (fun h -> h.numel () / n)
    let offsets = Array.scan (+) 0L sizes
    let z = torch.cat(hidden |> Array.map (fun h -> h.reshape(n, -1L)), 1L).requires_grad_(true)
    let views = hidden |> Array.mapi (fun i h -> z.narrow(1L, offsets[i], sizes[i]).reshape(h.shape))
    let energy () =
        match reparam with
        | Reparam.States -> Energy.spc net (Array.append [| x |] views) target
        | Reparam.Errors -> Energy.epc net x views target
    z, energy

let activityHessian (net: Network) (reparam: Reparam) (states: T[]) (target: T option) : T =
    use scope = torch.NewDisposeScope()
    let z, energy = activityEnergy net reparam states target
    let g = gradients (energy ()) [| z |] true true
    let rows =
        [| for j in 0L .. z.shape[1] - 1L ->
               use inner = torch.NewDisposeScope()
               (gradients (g[0].select(1L, j).sum()) [| z |] false true).[0].detach().MoveToOuterDisposeScope() |]
    let h = torch.stack(rows, 1L)
    (Ops.mul (Ops.plus h (h.transpose(1L, 2L))) 0.5).MoveToOuterDisposeScope()

let activityHvp (net: Network) (reparam: Reparam) (states: T[]) (target: T option) : int64 * (T -> T) =
    let n = states[0].shape[0]
    let dim = states[1..] |> Array.sumBy (fun h -> h.numel ())
    dim,
    fun (v: T) ->
        use scope = torch.NewDisposeScope()
        let z, energy = activityEnergy net reparam states target
        let g = gradients (energy ()) [| z |] true true
        let hv = gradients ((g[0] * v.reshape(n, -1L)).sum()) [| z |] false false
        hv[0].reshape(-1L).detach().MoveToOuterDisposeScope()

// ---------------------------------------------------------------- trust region

let gaussNewton (net: Network) (x: T) : T =
    use scope = torch.NewDisposeScope()
    let ps = leaves net
    let out = net.Forward(x).reshape(x.shape[0], -1L)
    let rows =
        [| for i in 0L .. out.shape[0] - 1L do
               for k in 0L .. out.shape[1] - 1L ->
                   use inner = torch.NewDisposeScope()
                   (flatten (gradients out[i, k] ps false true)).detach().MoveToOuterDisposeScope() |]
    let j = torch.stack(rows, 0L)
    (Ops.div (j.t().mm(j)) (float x.shape[0])).MoveToOuterDisposeScope()

let trustRegionStep (curvature: T) (gradient: T) (radius: float) : T =
    if not (radius > 0.0 && Double.IsFinite radius) then
        invalidArg "radius" (sprintf "the trust-region radius must be positive and finite, got %g" radius)
    use scope = torch.NewDisposeScope()
    let sym = Ops.mul (Ops.plus curvature (curvature.t())) 0.5
    let struct (lam: T, q: T) = torch.linalg.eigh(sym)
    let gq = q.t().mv(gradient)
    let lmin = Scope.scalar (lam.min())
    let stepFor (damping: float) = (gq / Ops.add lam damping).neg()
    let length (damping: float) = Scope.scalar ((stepFor damping).norm())
    // The damping lambda >= max(0, -lambda_min) with ||step|| = radius (or the Newton step inside it).
    let low = max 0.0 (-lmin) + 1e-12 * (1.0 + abs lmin)
    let damping =
        if lmin > 0.0 && length 0.0 <= radius then 0.0
        else
            let mutable lo = low
            let mutable hi = max (2.0 * lo) 1.0
            while length hi > radius do hi <- hi * 2.0
            for _ in 1 .. 200 do
                let mid = (lo + hi) / 2.0
                if length mid > radius then lo <- mid else hi <- mid
            hi
    q.mv(stepFor damping).MoveToOuterDisposeScope()

let angle (a: T) (b: T) : float =
    let dot = Scope.scalar ((a * b).sum())
    let na = Scope.scalar (a.norm())
    let nb = Scope.scalar (b.norm())
    if na = 0.0 || nb = 0.0 then nan
    else Math.Acos(Math.Clamp(dot / (na * nb), -1.0, 1.0)) * 180.0 / Math.PI
