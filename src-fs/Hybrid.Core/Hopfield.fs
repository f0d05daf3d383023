/// Modern Hopfield networks (SPEC.md 2): stored patterns X (one per row), the
/// energy, the CCCP update, batched retrieval, and the analysis of fixed points
/// across the inverse temperature beta (the phase transition of the centroid).
module Hybrid.Hopfield

open System
open TorchSharp

/// Stored patterns, one per row (`[N; d]`), in float64 on the CPU unless given otherwise.
type Patterns =
    { X: torch.Tensor }

    /// N, the number of patterns.
    member this.Count = int this.X.shape[0]
    /// d, their dimension.
    member this.Dimension = int this.X.shape[1]
    /// M = max_i ||x_i||.
    member this.MaxNorm = Scope.run (fun () -> Scope.scalar (this.X.norm(1).max()))

let private checkBeta (beta: float) =
    if not (beta > 0.0) || Double.IsNaN beta then invalidArg "beta" (sprintf "the inverse temperature beta must be positive, got %g" beta)

let private checkDim (p: Patterns) (xi: torch.Tensor) =
    if xi.dim () <> 2L || int xi.shape[1] <> p.Dimension then
        invalidArg "state"
            (sprintf "states of shape [%s] do not match patterns of dimension %d (expected [batch; %d])"
                (String.Join(", ", xi.shape)) p.Dimension p.Dimension)
    if not (Scope.run (fun () -> xi.isfinite().all().item<bool> ())) then invalidArg "state" "states contain non-finite values"

module Patterns =
    /// Wraps a `[N; d]` tensor of patterns (copied to float64 on the CPU).
    let ofTensor (x: torch.Tensor) : Patterns =
        Runtime.init ()
        if x.dim () <> 2L || x.shape[0] < 1L || x.shape[1] < 1L then
            invalidArg "patterns" (sprintf "patterns must be a [count; dimension] matrix with at least one row, got shape [%s]" (String.Join(", ", x.shape)))
        if not (Scope.run (fun () -> x.isfinite().all().item<bool> ())) then invalidArg "patterns" "patterns contain non-finite values"
        { X = x.to_type(torch.float64).cpu().detach().clone().DetachFromDisposeScope() }

    /// Rows of equal length: a list of vectors of the same dimension.
    let ofRows (rows: float[] list) : Patterns =
        match rows with
        | [] -> invalidArg "patterns" "no patterns"
        | first :: _ ->
            rows |> List.iteri (fun i r ->
                if r.Length <> first.Length then
                    invalidArg "patterns" (sprintf "pattern %d has dimension %d but pattern 0 has %d" i r.Length first.Length))
            Scope.run (fun () ->
                ofTensor (torch.tensor(Array.concat rows, dtype = torch.float64).reshape(int64 rows.Length, int64 first.Length)))

    /// N equidistant patterns of norm M: a regular simplex centred at the origin,
    /// x_i . x_j = -M^2/(N-1) for i <> j, embedded in `dimension` >= N dimensions by a
    /// random rotation drawn from `seed`.
    let simplex (count: int) (norm: float) (dimension: int) (seed: int64) : Patterns =
        if count < 2 then invalidArg "count" (sprintf "a simplex needs at least 2 patterns, got %d" count)
        if not (norm > 0.0) then invalidArg "norm" (sprintf "the pattern norm must be positive, got %g" norm)
        if dimension < count then invalidArg "dimension" (sprintf "%d simplex patterns need at least %d dimensions, got %d" count count dimension)
        Scope.run (fun () ->
            let n = int64 count
            let e = torch.eye(n, dtype = torch.float64)
            let centred = e - e.mean([| 0L |], keepdim = true)
            let unit = centred / centred.norm(1, keepdim = true)
            let padded = torch.cat([| unit; torch.zeros([| n; int64 (dimension - count) |], dtype = torch.float64) |], 1L)
            use g = Rng.generator seed torch.CPU
            let struct (q, _) = torch.linalg.qr(torch.randn([| int64 dimension; int64 dimension |], dtype = torch.float64, generator = g))
            ofTensor (Ops.mul (padded.mm(q)) norm))

    /// N orthogonal patterns of norm M in `dimension` >= N dimensions.
    let orthogonal (count: int) (norm: float) (dimension: int) (seed: int64) : Patterns =
        if count < 1 || dimension < count then invalidArg "count" (sprintf "%d orthogonal patterns need 1 <= count <= dimension (%d)" count dimension)
        Scope.run (fun () ->
            use g = Rng.generator seed torch.CPU
            let struct (q, _) = torch.linalg.qr(torch.randn([| int64 dimension; int64 dimension |], dtype = torch.float64, generator = g))
            ofTensor (Ops.mul (q.narrow(0L, 0L, int64 count)) norm))

    /// N Gaussian patterns N(0, 1/d) per entry (norm about 1), scaled by `norm`.
    let random (count: int) (norm: float) (dimension: int) (seed: int64) : Patterns =
        if count < 1 || dimension < 1 then invalidArg "count" "count and dimension must be at least 1"
        Scope.run (fun () ->
            use g = Rng.generator seed torch.CPU
            ofTensor (Ops.mul (torch.randn([| int64 count; int64 dimension |], dtype = torch.float64, generator = g)) (norm / sqrt (float dimension))))

    /// The centroid (mean pattern), `[1; d]`.
    let centroid (p: Patterns) = p.X.mean([| 0L |], keepdim = true)

    /// The largest off-diagonal inner product c (equal for equidistant patterns).
    let innerProduct (p: Patterns) =
        Scope.run (fun () ->
            let g = p.X.mm(p.X.t())
            let n = int64 p.Count
            if n < 2L then 0.0
            else
                let off = g.masked_select(torch.eye(n, dtype = torch.ScalarType.Bool).logical_not())
                Scope.scalar (off.max()))

/// E(xi) = -1/beta logsumexp(beta X xi) + 1/2 xi.xi + 1/beta log N + 1/2 M^2, per state (`[B]`).
let energy (p: Patterns) (beta: float) (xi: torch.Tensor) : torch.Tensor =
    checkBeta beta
    checkDim p xi
    let m = p.MaxNorm
    let lse = torch.logsumexp(Ops.mul (xi.mm(p.X.t())) beta, 1L)
    Ops.add (Ops.mul (xi.square().sum(1L)) 0.5 - Ops.div lse beta) (log (float p.Count) / beta + 0.5 * m * m)

/// The retrieval weights softmax(beta X xi), `[B; N]`.
let weights (p: Patterns) (beta: float) (xi: torch.Tensor) : torch.Tensor =
    torch.nn.functional.softmax(Ops.mul (xi.mm(p.X.t())) beta, 1L)

/// One CCCP step: xi <- X^T softmax(beta X xi). The energy never increases.
let update (p: Patterns) (beta: float) (xi: torch.Tensor) : torch.Tensor =
    checkBeta beta
    checkDim p xi
    (weights p beta xi).mm(p.X)

/// The result of retrieval.
type Retrieval =
    { /// Final states, `[B; d]`.
      States: torch.Tensor
      /// Iterations each state took (the cap when it did not converge).
      Iterations: int[]
      /// Whether each state met the tolerance before the cap.
      Converged: bool[] }

/// Iterates the update until every state moves less than `tolerance` (max-norm) or
/// `maxIterations` are done; a state that has not converged is reported as such.
let retrieve (p: Patterns) (beta: float) (xi: torch.Tensor) (tolerance: float) (maxIterations: int) : Retrieval =
    checkBeta beta
    checkDim p xi
    if maxIterations < 1 then invalidArg "maxIterations" (sprintf "maxIterations must be at least 1, got %d" maxIterations)
    if not (tolerance >= 0.0) then invalidArg "tolerance" (sprintf "the tolerance must be a number >= 0, got %g" tolerance)
    let b = int xi.shape[0]
    let iterations = Array.create b maxIterations
    let converged = Array.create b false
    let mutable state = xi.to_type(torch.float64).detach().clone().DetachFromDisposeScope()
    let mutable k = 0
    while k < maxIterations && not (Array.forall id converged) do
        use _ = torch.NewDisposeScope()
        let next = update p beta state
        let moved = (Ops.minus next state).abs().amax([| 1L |]).data<float>().ToArray()
        k <- k + 1
        for i in 0 .. b - 1 do
            if not converged[i] && moved[i] <= tolerance then
                converged[i] <- true
                iterations[i] <- k
        Scope.replace &state next
    { States = state; Iterations = iterations; Converged = converged }

/// The Hessian of E at a single state xi (`[d]` or `[1; d]`): I - beta X^T (diag p - p p^T) X.
let hessian (p: Patterns) (beta: float) (xi: torch.Tensor) : torch.Tensor =
    let xi = xi.reshape(1L, -1L)
    checkDim p xi
    let w = (weights p beta xi).reshape(-1L)
    let cov = Ops.minus (torch.diag(w)) (torch.outer(w, w))
    torch.eye(int64 p.Dimension, dtype = torch.float64) - Ops.mul (p.X.t().mm(cov).mm(p.X)) beta

/// The smallest eigenvalue of the Hessian at xi: positive at a strict local minimum.
let minCurvature (p: Patterns) (beta: float) (xi: torch.Tensor) : float =
    Scope.run (fun () -> Scope.scalar (torch.linalg.eigvalsh(hessian p beta xi).min()))

/// What kind of fixed point a state is.
[<RequireQualifiedAccess>]
type FixedPointKind =
    /// The centroid of all patterns (uniform weights).
    | Global
    /// A mixture concentrated on a subset of the patterns.
    | Metastable of size: int
    /// One stored pattern.
    | Pattern of index: int

    override this.ToString() =
        match this with
        | Global -> "global"
        | Metastable k -> sprintf "metastable(%d)" k
        | Pattern i -> sprintf "pattern %d" i

/// A distinct fixed point found at some beta.
type FixedPoint =
    { State: float[]
      Kind: FixedPointKind
      /// Whether it is a strict local minimum (Hessian positive definite).
      IsMinimum: bool
      /// The largest retrieval weight.
      MaxWeight: float
      /// How many starts converged to it.
      Basin: int }

/// Classifies a fixed point by its retrieval weights: its support is the patterns
/// whose weight exceeds half the largest one. Support 1 is a single pattern;
/// support N with every weight within 1% of 1/N is the global average; anything
/// else is a metastable mixture of the supported patterns.
let classify (p: Patterns) (beta: float) (xi: torch.Tensor) =
    Scope.run (fun () ->
        let w = (weights p beta (xi.reshape(1L, -1L))).reshape(-1L).data<float>().ToArray()
        let n = float w.Length
        let mx = Array.max w
        let support = w |> Array.filter (fun v -> v > 0.5 * mx) |> Array.length
        let kind =
            if support = 1 then FixedPointKind.Pattern(Array.findIndex ((=) mx) w)
            elif w |> Array.forall (fun v -> abs (v * n - 1.0) < 0.01) then FixedPointKind.Global
            else FixedPointKind.Metastable support
        kind, mx)

/// Finds the distinct fixed points reached from `starts` (`[S; d]`), dedupes them
/// (max-norm distance below `dedupe`), and checks which are minima.
let fixedPoints (p: Patterns) (beta: float) (starts: torch.Tensor) (tolerance: float) (maxIterations: int) (dedupe: float) : FixedPoint list =
    Scope.run (fun () ->
        let r = retrieve p beta starts tolerance maxIterations
        use _ = r.States
        let rows = r.States.data<float>().ToArray() |> Array.chunkBySize p.Dimension
        let found = ResizeArray<float[] * int ref>()
        rows
        |> Array.iteri (fun i row ->
            if r.Converged[i] then
                match found |> Seq.tryFind (fun (s, _) -> Array.forall2 (fun a b -> abs (a - b) < dedupe) s row) with
                | Some(_, count) -> count.Value <- count.Value + 1
                | None -> found.Add(row, ref 1))
        [ for state, count in found ->
              let t = torch.tensor(state, dtype = torch.float64)
              let kind, mx = classify p beta t
              { State = state
                Kind = kind
                IsMinimum = minCurvature p beta t > 1e-9
                MaxWeight = mx
                Basin = count.Value } ])

/// Bisection on [lo, hi] for the boundary of a property that holds on one side:
/// `below` is true for betas below the boundary. Stops at relative width `tolerance`.
let private bisect (below: float -> bool) (lo: float) (hi: float) (tolerance: float) =
    let mutable a = lo
    let mutable b = hi
    while (b - a) > tolerance * b do
        let m = 0.5 * (a + b)
        if below m then a <- m else b <- m
    0.5 * (a + b)

/// beta_c = N / (M^2 - c) for equidistant patterns (SPEC.md 2).
let predictedCriticalBeta (p: Patterns) =
    let m = p.MaxNorm
    float p.Count / (m * m - Patterns.innerProduct p)

/// beta_eff = beta (M^2 - c) / N: the dynamics of equidistant patterns depend on beta
/// only through it, with the transition at beta_eff = 1 (SPEC.md 2).
let effectiveBeta (p: Patterns) (beta: float) =
    let m = p.MaxNorm
    beta * (m * m - Patterns.innerProduct p) / float p.Count

/// The largest beta at which the centroid is still a minimum, by bisection on the
/// Hessian's smallest eigenvalue at the centroid (a fixed point for every beta when
/// the patterns are equidistant; checked). Searches (lo, hi] to relative `tolerance`.
let measuredCriticalBeta (p: Patterns) (lo: float) (hi: float) (tolerance: float) =
    let c = Patterns.centroid p
    let isMin b = minCurvature p b c > 0.0
    let isFixed b = Scope.run (fun () -> Scope.scalar ((update p b c - c).abs().max()) < 1e-9 * (1.0 + p.MaxNorm))
    if not (isFixed lo && isFixed hi) then invalidOp "the centroid is not a fixed point of these patterns (they are not equidistant)"
    if not (isMin lo) then invalidArg "lo" (sprintf "the centroid is not a minimum at beta = %g; lower the bracket" lo)
    if isMin hi then invalidArg "hi" (sprintf "the centroid is still a minimum at beta = %g; raise the bracket" hi)
    bisect isMin lo hi tolerance

/// The smallest beta at which retrieval started at pattern `index` ends at a
/// stable single-pattern minimum (bisection to relative `tolerance` over [lo, hi]).
let patternOnsetBeta (p: Patterns) (index: int) (lo: float) (hi: float) (tolerance: float) =
    let start = p.X.narrow(0L, int64 index, 1L)
    let stablePattern b =
        Scope.run (fun () ->
            let r = retrieve p b start 1e-12 20000
            if not r.Converged[0] then false
            else
                match classify p b r.States with
                | FixedPointKind.Pattern i, _ when i = index -> minCurvature p b r.States > 0.0
                | _ -> false)
    if stablePattern lo then invalidArg "lo" (sprintf "pattern %d is already a minimum at beta = %g; lower the bracket" index lo)
    if not (stablePattern hi) then invalidArg "hi" (sprintf "pattern %d is not a minimum at beta = %g; raise the bracket" index hi)
    bisect (stablePattern >> not) lo hi tolerance
