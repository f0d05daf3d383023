/// Hierarchical associative memory (SPEC.md 3) solved as a deep equilibrium
/// model. Layers x_0..x_L with x_0 clamped to the input, activations
/// g(x) = sigmoid(4 (x - 1/2)) (the gradient of the Lagrangian
/// L(x) = softplus(4 (x - 1/2)) / 4), symmetric weights between adjacent layers:
///
///     E = sum_A [x_A.g_A - L(x_A)] - sum_A g_{A+1}.W_A g_A - sum_A b_A.g_A
///     x_A = f_A(x) = W_{A-1} g_{A-1} + W_A^T g_{A+1} + b_A       (fixed point)
///
/// dE/dx_A = g'(x_A) (x_A - f_A(x)), and f_A does not depend on x_A, so setting
/// all odd (or all even) layers to f is an exact block minimisation: the even/odd
/// solver never increases E.
module Hybrid.Ham

open System
open System.Diagnostics
open TorchSharp

/// The activation rho(s) = sigmoid(4 (s - 1/2)).
let activation (x: torch.Tensor) =
    let z = Ops.mul x 4.0
    use c = (-2.0).ToScalar()
    torch.sigmoid(z.add_(c))

/// The Lagrangian whose gradient is the activation, per unit.
let lagrangian (x: torch.Tensor) = Ops.mul (torch.nn.functional.softplus(Ops.mul (Ops.add x -0.5) 4.0)) 0.25

/// A HAM: layer sizes, weights between adjacent layers (`W[A]` maps layer A to A+1)
/// and biases of layers 1..L. Owns its parameters.
type Network =
    { Sizes: int[]
      Weights: Modules.Parameter[]
      Biases: Modules.Parameter[] }

    /// L, the index of the last layer.
    member this.Top = this.Sizes.Length - 1

    /// Every parameter.
    member this.Parameters: Modules.Parameter list = List.ofArray this.Weights @ List.ofArray this.Biases

    interface IDisposable with
        member this.Dispose() =
            for p in this.Parameters do p.Dispose()

/// Solvers of the fixed point.
[<RequireQualifiedAccess>]
type Solver =
    /// x <- f(x), all layers at once.
    | Picard
    /// x <- x + damping (f(x) - x): forward Euler with dt/tau = damping.
    | Damped of damping: float
    /// Anderson acceleration of the synchronous map with `memory` past iterates and
    /// Tikhonov `regularisation`; a step whose residual is worse than Picard's is
    /// replaced by the Picard step.
    | Anderson of memory: int * regularisation: float
    /// Odd layers from the even ones, then even layers from the odd ones.
    | EvenOdd
    /// Anderson acceleration of the map on the even layers alone (odd layers substituted).
    | EvenOddAnderson of memory: int * regularisation: float

    override this.ToString() =
        match this with
        | Picard -> "picard"
        | Damped d -> sprintf "damped(%g)" d
        | Anderson(m, _) -> sprintf "anderson(m=%d)" m
        | EvenOdd -> "even-odd"
        | EvenOddAnderson(m, _) -> sprintf "even-odd+anderson(m=%d)" m

/// The outcome of solving for the fixed point of a batch.
type Solution =
    { /// Layers 0..L at the end (x_0 the input).
      States: torch.Tensor[]
      /// Iterations per sample until the criterion held (the cap when it did not).
      Iterations: int[]
      /// Whether each sample met the criterion.
      Converged: bool[]
      /// Map evaluations spent (a full sweep counts one).
      Evaluations: int }

module Network =
    /// A HAM with the given layer sizes; weights U(-1/sqrt(n_A), 1/sqrt(n_A)), biases zero.
    let create (sizes: int list) (precision: Precision) (device: torch.Device) (seed: int64) : Network =
        Runtime.init ()
        if sizes.Length < 2 then invalidArg "sizes" (sprintf "a HAM needs at least 2 layers, got %d" sizes.Length)
        sizes |> List.iteri (fun i n -> if n < 1 then invalidArg "sizes" (sprintf "layer %d must have at least 1 unit, got %d" i n))
        let sizes = Array.ofList sizes
        use g = Rng.generator seed torch.CPU
        let dtype = precision.ScalarType
        let param (t: torch.Tensor) = (new Modules.Parameter(t.``to``(device), true)).DetachFromDisposeScope() :?> Modules.Parameter
        use _ = torch.NewDisposeScope()
        { Sizes = sizes
          Weights =
            [| for a in 0 .. sizes.Length - 2 ->
                   let bound = 1.0 / sqrt (float sizes[a])
                   param (Ops.add (Ops.mul (torch.rand([| int64 sizes[a + 1]; int64 sizes[a] |], dtype = dtype, generator = g)) (2.0 * bound)) (-bound)) |]
          Biases = [| for a in 1 .. sizes.Length - 1 -> param (torch.zeros([| int64 sizes[a] |], dtype = dtype)) |] }

    /// Checks that weights and biases fit the layer sizes.
    let validate (net: Network) =
        if net.Sizes.Length < 2 then invalidArg "sizes" "a HAM needs at least 2 layers"
        if net.Weights.Length <> net.Sizes.Length - 1 then
            invalidArg "weights" (sprintf "%d layers need %d weight matrices, got %d" net.Sizes.Length (net.Sizes.Length - 1) net.Weights.Length)
        net.Weights |> Array.iteri (fun a w ->
            let expected = [| int64 net.Sizes[a + 1]; int64 net.Sizes[a] |]
            if w.shape <> expected then
                invalidArg "weights" (sprintf "W_%d has shape [%s] but layers %d and %d need [%s]" a (String.Join(", ", w.shape)) a (a + 1) (String.Join(", ", expected))))
        net.Biases |> Array.iteri (fun i b ->
            if b.shape <> [| int64 net.Sizes[i + 1] |] then
                invalidArg "biases" (sprintf "b_%d has shape [%s] but layer %d has %d units" (i + 1) (String.Join(", ", b.shape)) (i + 1) net.Sizes[i + 1]))

/// f_A(x) for one layer A >= 1, from the activations of its neighbours. Layer 1's
/// drive from the clamped input, W_0 g(x_0) + b_1, is passed in when known (it does
/// not change during a solve).
let private layerMapWith (net: Network) (drive1: torch.Tensor option) (gs: torch.Tensor[]) (a: int) =
    let below =
        match drive1 with
        | Some d when a = 1 -> d
        | _ -> torch.nn.functional.linear(gs[a - 1], net.Weights[a - 1], net.Biases[a - 1])
    if a < net.Top then Ops.plus below (gs[a + 1].mm(net.Weights[a])) else below

let private layerMap (net: Network) (gs: torch.Tensor[]) (a: int) = layerMapWith net None gs a

/// The synchronous map f on layers 1..L (index 0 passes the input through).
let map (net: Network) (states: torch.Tensor[]) : torch.Tensor[] =
    let gs = states |> Array.map activation
    Array.init states.Length (fun a -> if a = 0 then states[0] else layerMap net gs a)

/// The energy per sample (`[B]`).
let energy (net: Network) (states: torch.Tensor[]) : torch.Tensor =
    let gs = states |> Array.map activation
    let own = Array.map2 (fun (x: torch.Tensor) (g: torch.Tensor) -> (Ops.minus (x * g) (lagrangian x)).sum(1L)) states gs |> Ops.sum
    let pairs = [| for a in 0 .. net.Top - 1 -> (gs[a + 1] * gs[a].mm(net.Weights[a].t())).sum(1L) |] |> Ops.sum
    let bias = [| for a in 1 .. net.Top -> gs[a].mv(net.Biases[a - 1]) |] |> Ops.sum
    Ops.minus (Ops.minus own pairs) bias

/// The initial state: the input clamped, every other layer at zero.
let initial (net: Network) (x: torch.Tensor) : torch.Tensor[] =
    Array.init net.Sizes.Length (fun a ->
        if a = 0 then x else torch.zeros([| x.shape[0]; int64 net.Sizes[a] |], dtype = x.dtype, device = x.device))

/// The Anderson mixing weights per sample from the Gram matrix of the residual
/// history G = (F - X)(F - X)^T (`[B; m; m]`): min a^T G a + reg scale ||a||^2 with
/// sum a = 1, where scale is the mean of G's diagonal. Returns `[B; m; 1]`.
let andersonWeights (gram: torch.Tensor) (reg: float) : torch.Tensor =
    let m = gram.shape[1]
    let eye = torch.eye(m, dtype = gram.dtype, device = gram.device).unsqueeze(0L)
    let scale = Ops.clampMin (gram.diagonal(dim1 = 1L, dim2 = 2L).mean([| 1L |], keepdim = true).unsqueeze(2L)) 1e-30
    let system = Ops.plus gram (Ops.mul (eye * scale) reg)
    let ones = torch.ones([| gram.shape[0]; m; 1L |], dtype = gram.dtype, device = gram.device)
    let w = torch.linalg.solve(system, ones)
    w / w.sum(1L, keepdim = true)

/// Per-sample squared norm summed over layers (`[B]`), without concatenating them.
let private rowSquares (ts: torch.Tensor seq) = ts |> Seq.map (fun t -> t.square().sum(1L)) |> Array.ofSeq |> Ops.sum

let private odds (net: Network) = [ for a in 1 .. 2 .. net.Top -> a ]
let private evens (net: Network) = [ for a in 2 .. 2 .. net.Top -> a ]

/// A copy of `states` whose layers `set` are f_A(x) from the activations of their
/// neighbours (layers `set` must not be neighbours of each other).
let private halfStep (net: Network) (drive1: torch.Tensor option) (set: int list) (states: torch.Tensor[]) =
    let gs: torch.Tensor[] = Array.zeroCreate states.Length
    for a in set do
        for n in [ a - 1; a + 1 ] do
            if n >= 1 && n <= net.Top && isNull gs[n] then gs[n] <- activation states[n]
    if set |> List.contains 1 && drive1.IsNone then gs[0] <- activation states[0]
    let next = Array.copy states
    for a in set do next[a] <- layerMapWith net drive1 gs a
    next

/// The odd half of the even/odd update: every odd layer set to its closed-form optimum
/// x_A = W_{A-1} g_{A-1} + W_A^T g_{A+1} + b_A given the even layers (an exact block
/// minimisation: E never increases).
let oddHalfStep (net: Network) (states: torch.Tensor[]) : torch.Tensor[] = halfStep net None (odds net) states

/// The even half of the even/odd update: every even layer set to its optimum given the odd layers.
let evenHalfStep (net: Network) (states: torch.Tensor[]) : torch.Tensor[] = halfStep net None (evens net) states

/// The convergence criterion of SPEC.md 3 per sample: ||x_{k+1} - x_k|| / ||x_{k+1}||
/// over layers 1..L.
let relativeChange (net: Network) (previous: torch.Tensor[]) (next: torch.Tensor[]) : float[] =
    let moved = rowSquares [ for a in 1 .. net.Top -> Ops.minus next[a] previous[a] ]
    let size = rowSquares [ for a in 1 .. net.Top -> next[a] ]
    (moved.sqrt() / Ops.clampMin (size.sqrt()) 1e-30).to_type(torch.float64).data<float>().ToArray()

/// One solver's update of the working set (the samples still moving): the next states
/// from the current ones, given layer 1's drive from the input. Samples leave the
/// working set as they converge; `Keep` narrows what the solver carries to them.
type private Stepper =
    inherit IDisposable
    abstract Next: drive1: torch.Tensor -> states: torch.Tensor[] -> torch.Tensor[]
    abstract Keep: positions: torch.Tensor -> unit

/// A stepper without memory of past iterates.
let private memoryless (next: torch.Tensor -> torch.Tensor[] -> torch.Tensor[]) =
    { new Stepper with
        member _.Next drive1 states = next drive1 states
        member _.Keep _ = ()
      interface IDisposable with
        member _.Dispose() = () }

let private synchronous (net: Network) (drive1: torch.Tensor) (s: torch.Tensor[]) =
    let gs = s |> Array.mapi (fun a t -> if a = 0 then null else activation t)
    Array.init s.Length (fun a -> if a = 0 then s[0] else layerMapWith net (Some drive1) gs a)

let private damped (net: Network) (d: float) (drive1: torch.Tensor) (s: torch.Tensor[]) =
    let f = synchronous net drive1 s
    Array.init s.Length (fun a -> if a = 0 then s[0] else Ops.plus s[a] (Ops.mul (Ops.minus f[a] s[a]) d))

/// Odd half then even half; the odd half is skipped when the odd layers are already
/// the optimum given the even ones.
let private evenOdd (net: Network) (oddsCurrent: bool) (drive1: torch.Tensor) (s: torch.Tensor[]) =
    let s = if oddsCurrent then s else halfStep net (Some drive1) (odds net) s
    halfStep net (Some drive1) (evens net) s

/// Anderson acceleration of a map (the synchronous one, or the even/odd sweep on the
/// even layers with the odd layers substituted). The last m iterates X and map values
/// F of each layer it mixes are kept in ring buffers `[active; m; n_a]` (their order
/// does not matter to the extrapolation). When the residual of a step is worse than
/// the one before, the history restarts from the plain step.
type private AndersonStepper(net: Network, memory: int, regularisation: float, overEvenOdd: bool) =
    let layers =
        if not overEvenOdd then [ 1 .. net.Top ]
        elif (evens net).IsEmpty then odds net
        else evens net
    let histX: torch.Tensor[] = Array.zeroCreate (net.Top + 1)
    let histF: torch.Tensor[] = Array.zeroCreate (net.Top + 1)
    let mutable count = 0
    let mutable ring = 0
    let mutable lastResidual: torch.Tensor = null
    // After an even/odd + Anderson step the odd layers are re-derived from the
    // extrapolated even ones, so the next sweep need not recompute them.
    let mutable oddsCurrent = false

    let swap (slot: byref<torch.Tensor>) (fresh: torch.Tensor) =
        if not (isNull slot) then slot.Dispose()
        slot <- fresh.DetachFromDisposeScope()

    let record (states: torch.Tensor[]) (f: torch.Tensor[]) =
        for a in layers do
            if isNull histX[a] then
                let shape = [| states[a].shape[0]; int64 memory; states[a].shape[1] |]
                histX[a] <- torch.empty(shape, dtype = states[a].dtype, device = states[a].device).DetachFromDisposeScope()
                histF[a] <- torch.empty(shape, dtype = states[a].dtype, device = states[a].device).DetachFromDisposeScope()
            histX[a].select(1L, int64 ring).copy_(states[a]) |> ignore
            histF[a].select(1L, int64 ring).copy_(f[a]) |> ignore
        ring <- (ring + 1) % memory
        count <- min (count + 1) memory

    let extrapolate (f: torch.Tensor[]) =
        if count < 2 then f
        else
            let fs = [ for a in layers -> histF[a].narrow(1L, 0L, int64 count) ]
            let gram =
                [| for a, fa in List.zip layers fs ->
                       let d = Ops.minus fa (histX[a].narrow(1L, 0L, int64 count))
                       d.bmm(d.transpose(1L, 2L)) |] |> Ops.sum
            let alpha = (andersonWeights gram regularisation).transpose(1L, 2L)
            let c = Array.copy f
            List.iteri (fun i a -> c[a] <- alpha.bmm(fs[i]).squeeze(1L)) layers
            c

    interface Stepper with
        member _.Next drive1 states =
            let f = if overEvenOdd then evenOdd net oddsCurrent drive1 states else synchronous net drive1 states
            let residual = (rowSquares [ for a in layers -> Ops.minus f[a] states[a] ]).sqrt()
            if not (isNull lastResidual) && (residual.gt(lastResidual)).any().item<bool> () then
                count <- 0
                ring <- 0
            swap &lastResidual (residual.detach().clone())
            record states f
            let candidate = extrapolate f
            if overEvenOdd then
                oddsCurrent <- true
                halfStep net (Some drive1) (odds net) candidate
            else candidate

        member _.Keep positions =
            for a in 0 .. histX.Length - 1 do
                if not (isNull histX[a]) then
                    swap &histX[a] (histX[a].index_select(0L, positions))
                    swap &histF[a] (histF[a].index_select(0L, positions))
            if not (isNull lastResidual) then swap &lastResidual (lastResidual.index_select(0L, positions))

    interface IDisposable with
        member _.Dispose() =
            for t in Array.append histX histF do
                if not (isNull t) then t.Dispose()
            if not (isNull lastResidual) then lastResidual.Dispose()

let private stepper (net: Network) (solver: Solver) : Stepper =
    match solver with
    | Solver.Picard -> memoryless (synchronous net)
    | Solver.Damped d -> memoryless (damped net d)
    | Solver.EvenOdd -> memoryless (evenOdd net false)
    | Solver.Anderson(m, reg) -> new AndersonStepper(net, max 1 m, reg, false)
    | Solver.EvenOddAnderson(m, reg) -> new AndersonStepper(net, max 1 m, reg, true)

/// The samples still moving: their states, layer 1's drive and their rows in the batch.
type private WorkingSet =
    { States: torch.Tensor[]
      Drive: torch.Tensor
      Rows: int64[] }

    member this.Dispose() =
        for a in 1 .. this.States.Length - 1 do this.States[a].Dispose()
        this.Drive.Dispose()

/// Solves for the fixed point of a batch from `start`, stopping each sample when
/// ||x_{k+1} - x_k|| / ||x_{k+1}|| < `tolerance` or after `maxIterations`.
/// Samples that did not converge are reported, never silently returned as fixed points.
let solve (net: Network) (solver: Solver) (start: torch.Tensor[]) (tolerance: float) (maxIterations: int) : Solution =
    Network.validate net
    if maxIterations < 1 then invalidArg "maxIterations" (sprintf "maxIterations must be at least 1, got %d" maxIterations)
    if start.Length <> net.Sizes.Length then invalidArg "start" (sprintf "%d layers expected, got %d" net.Sizes.Length start.Length)
    if not (tolerance >= 0.0) || Double.IsInfinity tolerance then invalidArg "tolerance" (sprintf "the tolerance must be a finite number >= 0 (0: run every iteration), got %g" tolerance)
    if not (Scope.run (fun () -> start[0].isfinite().all().item<bool> ())) then invalidArg "start" "the input contains non-finite values"
    use _ = torch.no_grad ()
    let b = int start[0].shape[0]
    let device = start[0].device
    let iterations = Array.create b maxIterations
    let converged = Array.create b false
    // Every sample's latest state; converged samples stop being computed.
    let result = start |> Array.map (fun t -> t.detach().clone().DetachFromDisposeScope())
    // The clamped input's drive of layer 1 is computed once per solve.
    let drive = torch.nn.functional.linear(activation result[0], net.Weights[0], net.Biases[0]).DetachFromDisposeScope()
    let mutable work =
        { States = result |> Array.mapi (fun a t -> if a = 0 then t else t.alias().DetachFromDisposeScope())
          Drive = drive
          Rows = Array.init b int64 }
    use step = stepper net solver
    let mutable k = 0
    while k < maxIterations && work.Rows.Length > 0 do
        use _ = torch.NewDisposeScope()
        let next = step.Next work.Drive work.States
        k <- k + 1
        let change = relativeChange net work.States next
        let rows = torch.tensor(work.Rows, device = device)
        for a in 1 .. net.Top do result[a].index_copy_(0L, rows, next[a]) |> ignore
        let moving = [| for j in 0 .. work.Rows.Length - 1 do if change[j] < tolerance then () else yield j |]
        for j in 0 .. work.Rows.Length - 1 do
            if change[j] < tolerance then
                converged[int work.Rows[j]] <- true
                iterations[int work.Rows[j]] <- k
        let fresh (t: torch.Tensor) = t.detach().DetachFromDisposeScope()
        let old = work
        work <-
            if moving.Length = work.Rows.Length then
                { work with States = next |> Array.mapi (fun a t -> if a = 0 then t else fresh t); Drive = work.Drive.alias().DetachFromDisposeScope() }
            else
                // Narrow the working set (and what the solver carries) to the samples still moving.
                let pos = torch.tensor(moving |> Array.map int64, device = device)
                step.Keep pos
                { States = next |> Array.mapi (fun a t -> if a = 0 then t else fresh (t.index_select(0L, pos)))
                  Drive = fresh (work.Drive.index_select(0L, pos))
                  Rows = moving |> Array.map (fun j -> work.Rows[j]) }
        old.Dispose()
    work.Dispose()
    { States = result; Iterations = iterations; Converged = converged; Evaluations = k }

/// Mean squared error of the top layer against targets, per batch (mean over samples and units).
let loss (top: torch.Tensor) (target: torch.Tensor) = (Ops.minus top target).square().mean()

/// Gradients of the readout loss at the fixed point by implicit differentiation:
/// u = (I - J^T)^{-1} dL/dx* by the fixed-point iteration u <- J^T u + dL/dx*, then
/// dL/dtheta = u . df/dtheta. Sets the parameters' `.grad`; returns the loss and
/// whether the adjoint iteration converged.
let implicitGradients (net: Network) (fixedPoint: torch.Tensor[]) (target: torch.Tensor) (tolerance: float) (maxIterations: int) : float * bool =
    use _ = torch.NewDisposeScope()
    let top = net.Top
    let xs = fixedPoint |> Array.mapi (fun a t -> if a = 0 then t.detach() else t.detach().requires_grad_(true))
    let free = xs[1..]
    let f = (map net xs)[1..]
    let l = loss xs[top] target
    let dl = torch.autograd.grad([| l |], [| xs[top] |])[0]
    let rhs = Array.init top (fun i -> if i = top - 1 then dl else torch.zeros_like free[i])
    let mutable u = rhs
    let mutable k = 0
    let mutable ok = false
    while k < maxIterations && not ok do
        let ju = torch.autograd.grad(f, free, grad_outputs = u, retain_graph = true, allow_unused = true)
        let next = Array.init top (fun i -> (if isNull ju[i] then rhs[i] else Ops.plus ju[i] rhs[i]).detach())
        let num = Array.map2 (fun (a: torch.Tensor) (b: torch.Tensor) -> Scope.scalar ((Ops.minus a b).square().sum())) next u |> Array.sum
        let den = next |> Array.sumBy (fun a -> Scope.scalar (a.square().sum()))
        u <- next
        k <- k + 1
        ok <- sqrt num <= tolerance * max (sqrt den) 1e-30
    for p in net.Parameters do
        if not (isNull p.grad) then p.grad.zero_() |> ignore
    let ps = net.Parameters |> List.map (fun p -> p :> torch.Tensor) |> Array.ofList
    let grads = torch.autograd.grad(f, ps, grad_outputs = u, allow_unused = true)
    use _ = torch.no_grad ()
    for p, g in Seq.zip net.Parameters grads do
        if not (isNull g) then
            if isNull p.grad then p.grad <- g.detach().clone().DetachFromDisposeScope()
            else p.grad.copy_(g) |> ignore
    Scope.scalar l, ok

/// Accuracy (percent) of the argmax of the top layer.
let accuracy (top: torch.Tensor) (labels: torch.Tensor) =
    use _ = torch.NewDisposeScope()
    100.0 * Scope.scalar (top.argmax(1L).eq(labels).to_type(torch.float64).mean())
