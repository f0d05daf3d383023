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
                invalidArg "weights" (sprintf "W_%d has shape [%s] but layers %d and %d need [%s]" a (String.Join("; ", w.shape)) a (a + 1) (String.Join("; ", expected))))
        net.Biases |> Array.iteri (fun i b ->
            if b.shape <> [| int64 net.Sizes[i + 1] |] then
                invalidArg "biases" (sprintf "b_%d has shape [%s] but layer %d has %d units" (i + 1) (String.Join("; ", b.shape)) (i + 1) net.Sizes[i + 1]))

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
let private andersonWeights (gram: torch.Tensor) (reg: float) =
    let m = gram.shape[1]
    let eye = torch.eye(m, dtype = gram.dtype, device = gram.device).unsqueeze(0L)
    let scale = Ops.clampMin (gram.diagonal(dim1 = 1L, dim2 = 2L).mean([| 1L |], keepdim = true).unsqueeze(2L)) 1e-30
    let system = Ops.plus gram (Ops.mul (eye * scale) reg)
    let ones = torch.ones([| gram.shape[0]; m; 1L |], dtype = gram.dtype, device = gram.device)
    let w = torch.linalg.solve(system, ones)
    w / w.sum(1L, keepdim = true)

/// Per-sample squared norm summed over layers (`[B]`), without concatenating them.
let private rowSquares (ts: torch.Tensor seq) = ts |> Seq.map (fun t -> t.square().sum(1L)) |> Array.ofSeq |> Ops.sum

/// Solves for the fixed point of a batch from `start`, stopping each sample when
/// ||x_{k+1} - x_k|| / ||x_{k+1}|| < `tolerance` or after `maxIterations`.
/// Samples that did not converge are reported, never silently returned as fixed points.
let solve (net: Network) (solver: Solver) (start: torch.Tensor[]) (tolerance: float) (maxIterations: int) : Solution =
    Network.validate net
    if maxIterations < 1 then invalidArg "maxIterations" (sprintf "maxIterations must be at least 1, got %d" maxIterations)
    if start.Length <> net.Sizes.Length then invalidArg "start" (sprintf "%d layers expected, got %d" net.Sizes.Length start.Length)
    use _ = torch.no_grad ()
    let b = int start[0].shape[0]
    let device = start[0].device
    let iterations = Array.create b maxIterations
    let converged = Array.create b false
    let evens = [ for a in 2 .. 2 .. net.Top -> a ]
    let odds = [ for a in 1 .. 2 .. net.Top -> a ]
    let all = [ 1 .. net.Top ]
    // The result: every sample's latest state; samples that converged stop being
    // computed (the criterion is measured per sample on every free layer).
    let result = start |> Array.map (fun t -> t.detach().clone().DetachFromDisposeScope())
    // The clamped input's drive of layer 1 is computed once per solve.
    let driveAll = torch.nn.functional.linear(activation result[0], net.Weights[0], net.Biases[0]).DetachFromDisposeScope()
    let mutable active = Array.init b int64
    let mutable state = result |> Array.map (fun t -> t.alias().DetachFromDisposeScope())
    let mutable drive1 = driveAll.alias().DetachFromDisposeScope()
    // Replaces the working states by `fresh`; layer 0 (the input, unused after the
    // drive is known) is replaced only when a different tensor is given.
    let replace (slot: torch.Tensor[]) (fresh: torch.Tensor[]) =
        let detached = fresh |> Array.mapi (fun a t -> if a = 0 && obj.ReferenceEquals(t, slot[0]) then t else t.detach().DetachFromDisposeScope())
        for a in 0 .. slot.Length - 1 do
            if not (obj.ReferenceEquals(slot[a], detached[a])) then slot[a].Dispose()
        Array.blit detached 0 slot 0 slot.Length
    let layer (gs: torch.Tensor[]) a = layerMapWith net (Some drive1) gs a
    let activations (s: torch.Tensor[]) = s |> Array.mapi (fun a t -> if a = 0 then null else activation t)
    let synchronous (s: torch.Tensor[]) =
        let gs = activations s
        Array.init s.Length (fun a -> if a = 0 then s[0] else layer gs a)
    // Whether the working state's odd layers are already the closed-form optimum
    // given its even layers (true after an even/odd + Anderson step re-derived them):
    // the next sweep's odd half would recompute exactly those values, so it is skipped.
    let mutable oddsCurrent = false
    // A copy of `s` whose odd layers are the closed-form optimum given its even ones.
    let deriveOdds (s: torch.Tensor[]) =
        let gs: torch.Tensor[] = Array.zeroCreate s.Length
        for a in evens do gs[a] <- activation s[a]
        let c = Array.copy s
        for a in odds do c[a] <- layer gs a
        c
    let evenOddSweep (s: torch.Tensor[]) =
        // Each layer's activation is computed once: the even layers' for the odd
        // update, then the new odd layers' for the even update.
        let s = if oddsCurrent then Array.copy s else deriveOdds s
        let gs: torch.Tensor[] = Array.zeroCreate s.Length
        for a in odds do gs[a] <- activation s[a]
        for a in evens do s[a] <- layer gs a
        s
    let memory =
        match solver with
        | Solver.Anderson(m, _)
        | Solver.EvenOddAnderson(m, _) -> max 1 m
        | _ -> 0
    let onLayers = match solver with Solver.EvenOddAnderson _ -> (if evens.IsEmpty then odds else evens) | _ -> all
    // Anderson's history, per layer in onLayers: ring buffers `[active; m; n_a]` of
    // the last m iterates X and map values F (their order does not matter to the
    // extrapolation), `count` slots filled, the next write at `ring`.
    let histX: torch.Tensor[] = Array.zeroCreate net.Sizes.Length
    let histF: torch.Tensor[] = Array.zeroCreate net.Sizes.Length
    let mutable count = 0
    let mutable ring = 0
    let clearHistory () =
        count <- 0
        ring <- 0
    let disposeHistory () =
        for a in 0 .. histX.Length - 1 do
            if not (isNull histX[a]) then histX[a].Dispose()
            if not (isNull histF[a]) then histF[a].Dispose()
            histX[a] <- null
            histF[a] <- null
    let mutable lastResidual: torch.Tensor = null
    let mutable evaluations = 0
    let mutable k = 0
    while k < maxIterations && active.Length > 0 do
        use _ = torch.NewDisposeScope()
        let next =
            match solver with
            | Solver.Picard -> synchronous state
            | Solver.Damped d ->
                let f = synchronous state
                Array.init state.Length (fun a -> if a = 0 then state[0] else Ops.plus state[a] (Ops.mul (Ops.minus f[a] state[a]) d))
            | Solver.EvenOdd -> evenOddSweep state
            | Solver.Anderson _
            | Solver.EvenOddAnderson _ ->
                let f = (match solver with Solver.Anderson _ -> synchronous state | _ -> evenOddSweep state)
                let residual = (rowSquares [ for a in onLayers -> Ops.minus f[a] state[a] ]).sqrt()
                // Safeguard: if the last extrapolation made the residual worse than the
                // Picard step it replaced, restart the history from the plain step.
                if not (isNull lastResidual) && (residual.gt(lastResidual)).any().item<bool> () then clearHistory ()
                if not (isNull lastResidual) then lastResidual.Dispose()
                lastResidual <- residual.detach().clone().DetachFromDisposeScope()
                for a in onLayers do
                    if isNull histX[a] then
                        histX[a] <- torch.empty([| state[a].shape[0]; int64 memory; state[a].shape[1] |], dtype = state[a].dtype, device = device).DetachFromDisposeScope()
                        histF[a] <- torch.empty([| state[a].shape[0]; int64 memory; state[a].shape[1] |], dtype = state[a].dtype, device = device).DetachFromDisposeScope()
                    histX[a].select(1L, int64 ring).copy_(state[a]) |> ignore
                    histF[a].select(1L, int64 ring).copy_(f[a]) |> ignore
                ring <- (ring + 1) % memory
                count <- min (count + 1) memory
                let candidate =
                    if count < 2 then f
                    else
                        let reg = match solver with Solver.Anderson(_, r) | Solver.EvenOddAnderson(_, r) -> r | _ -> 0.0
                        let fs = [| for a in onLayers -> histF[a].narrow(1L, 0L, int64 count) |]
                        let gram =
                            [| for (a, fa) in List.zip onLayers (List.ofArray fs) ->
                                   let d = Ops.minus fa (histX[a].narrow(1L, 0L, int64 count))
                                   d.bmm(d.transpose(1L, 2L)) |] |> Ops.sum
                        let alpha = (andersonWeights gram reg).transpose(1L, 2L)
                        let c = Array.copy f
                        List.iteri (fun i a -> c[a] <- alpha.bmm(fs[i]).squeeze(1L)) onLayers
                        c
                match solver with
                | Solver.EvenOddAnderson _ ->
                    // Re-derive the odd layers from the extrapolated even ones (the
                    // next sweep starts from them instead of recomputing them).
                    oddsCurrent <- true
                    deriveOdds candidate
                | _ -> candidate
        evaluations <- evaluations + 1
        k <- k + 1
        let moved = rowSquares [ for a in all -> Ops.minus next[a] state[a] ]
        let size = rowSquares [ for a in all -> next[a] ]
        let change = (moved.sqrt() / Ops.clampMin (size.sqrt()) 1e-30).to_type(torch.float64).data<float>().ToArray()
        // Write the active samples' new states into the result.
        let rows = torch.tensor(active, device = device)
        for a in 1 .. net.Top do result[a].index_copy_(0L, rows, next[a]) |> ignore
        let keep = ResizeArray<int64>()
        let keepPos = ResizeArray<int64>()
        for j in 0 .. active.Length - 1 do
            let i = int active[j]
            if change[j] < tolerance then
                converged[i] <- true
                iterations[i] <- k
            else
                keep.Add active[j]
                keepPos.Add(int64 j)
        if keep.Count = active.Length then replace state next
        else
            // Shrink the working set (and the Anderson history) to the samples still moving.
            let pos = torch.tensor(keepPos.ToArray(), device = device)
            replace state (next |> Array.map (fun t -> t.index_select(0L, pos)))
            let d = drive1.index_select(0L, pos).DetachFromDisposeScope()
            drive1.Dispose()
            drive1 <- d
            for a in 0 .. histX.Length - 1 do
                if not (isNull histX[a]) then
                    let nx = histX[a].index_select(0L, pos).DetachFromDisposeScope()
                    let nf = histF[a].index_select(0L, pos).DetachFromDisposeScope()
                    histX[a].Dispose()
                    histF[a].Dispose()
                    histX[a] <- nx
                    histF[a] <- nf
            if not (isNull lastResidual) then
                let r = lastResidual.index_select(0L, pos).DetachFromDisposeScope()
                lastResidual.Dispose()
                lastResidual <- r
            active <- keep.ToArray()
    disposeHistory ()
    if not (isNull lastResidual) then lastResidual.Dispose()
    for t in state do t.Dispose()
    drive1.Dispose()
    driveAll.Dispose()
    { States = result; Iterations = iterations; Converged = converged; Evaluations = evaluations }

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
