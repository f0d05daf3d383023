/// Signal decay in sPC versus ePC (SPEC.md 1.4): on deep chains, how many
/// inference steps each reparameterisation needs to reach the exact linear
/// equilibrium, each at its own best stable step size, and how the per-layer
/// updates evolve step by step.
module Hybrid.Experiments.Decay

open System
open TorchSharp
open Hybrid

/// How the chain's weights are drawn.
[<RequireQualifiedAccess>]
type ChainWeights =
    /// PyTorch's default U(-1/sqrt(n), 1/sqrt(n)) with biases: each layer shrinks the signal (gain about 1/sqrt 3).
    | Default
    /// Random orthogonal matrices without biases: gain 1, the signal keeps its size through the chain.
    | Orthogonal

    override this.ToString() =
        match this with
        | Default -> "default"
        | Orthogonal -> "orthogonal"

/// The chain weights by name.
let chainWeights: Choice<ChainWeights> = { What = "chain weights"; Values = [ "default", ChainWeights.Default; "orthogonal", ChainWeights.Orthogonal ]; Aliases = [] }

/// A chain to study: `Depth` blocks of width `Width`, all with `Activation`.
type Chain =
    { Depth: int
      Width: int
      Activation: Activation
      Precision: Precision
      Weights: ChainWeights }

    override this.ToString() = sprintf "L=%d %O %O %O weights" this.Depth this.Activation this.Precision this.Weights

/// One tried step size.
type Attempt =
    { StepSize: float
      /// Steps to reach the tolerance (None: not reached within the budget).
      Steps: int option
      /// Whether the energy blew up.
      Diverged: bool }

/// The search's outcome for one reparameterisation.
type MethodResult =
    { Reparam: Reparam
      /// The fastest attempt that reached the tolerance, if any did.
      Best: Attempt option
      /// Every attempt, in the order tried.
      Attempts: Attempt list
      /// Per step, ||h_l^(t) - h_l^(t-1)|| for each hidden layer, at the chosen step size.
      UpdateNorms: float[][]
      /// Per step, the relative distance to the exact equilibrium (linear chains only).
      Distances: float[] }

/// sPC and ePC on one chain.
type CaseResult =
    { Chain: Chain
      Spc: MethodResult
      Epc: MethodResult }

    /// sPC steps / ePC steps, when both reached the tolerance.
    member this.Ratio =
        match this.Spc.Best, this.Epc.Best with
        | Some { Steps = Some s }, Some { Steps = Some e } -> Some(float s / float e)
        | _ -> None

/// The step sizes searched: 2 down to 2^-8 by factors of sqrt 2.
let stepGrid = [ for k in 0 .. 18 -> 2.0 * Math.Pow(2.0, -float k / 2.0) ]

/// The chain's network, its input and target (float64 draws cast to the chain's precision).
let private build (chain: Chain) (batch: int) (seed: int64) =
    let device = torch.CPU
    let arch = Architecture.Mlp(List.replicate (chain.Depth - 1) chain.Width, chain.Activation)
    let ref64 = Network.create arch Loss.SquaredError [| int64 chain.Width |] chain.Width Precision.Float64 device seed
    if chain.Weights = ChainWeights.Orthogonal then
        use _ = torch.no_grad ()
        use g = Rng.generator (Rng.derive seed "orthogonal") device
        for b in ref64.Blocks do
            let struct (q, _) = torch.linalg.qr(torch.randn(b.Weight.shape, dtype = torch.float64, generator = g))
            b.Weight.copy_(q) |> ignore
            match b.Bias with
            | Some bias -> bias.zero_() |> ignore
            | None -> ()
    let net =
        if chain.Precision = Precision.Float64 then ref64
        else
            let n = Network.create arch Loss.SquaredError [| int64 chain.Width |] chain.Width chain.Precision device seed
            Network.copyParameters ref64 n
            n
    use g = Rng.generator (Rng.derive seed "decay-data") device
    let x64 = torch.randn([| int64 batch; int64 chain.Width |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
    let y64 = torch.randn([| int64 batch; int64 chain.Width |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
    ref64, net, x64, y64

/// Runs inference from the forward pass and returns the steps to reach `tolerance`
/// relative distance to `exact` (None: not within `maxSteps`), or a divergence.
let private attempt (net: Network) (x: torch.Tensor) (y: torch.Tensor) (exact: torch.Tensor[]) (reparam: Reparam) (stepSize: float) (maxSteps: int) (tolerance: float) =
    use _ = torch.NewDisposeScope()
    use g = Rng.generator 0L torch.CPU
    use st = new InitState(1)
    let ctx = InitContext.input net x g
    let init = InitApply.apply Init.forward st ctx true
    let opts = { InferenceOptions.spc maxSteps stepSize with Reparam = reparam }
    let mutable reached = None
    try
        Inference.observed net opts init (Some y) (fun t states ->
            let d = Equilibrium.distance states exact
            if not (Double.IsFinite d) || d > 1e6 then
                raise (DivergenceError { Layer = None; Step = t; Batch = None; Energy = d; StepSize = stepSize; Reparam = reparam })
            if d <= tolerance then
                reached <- Some t
                true
            else false)
        |> ignore
        { StepSize = stepSize; Steps = reached; Diverged = false }
    with DivergenceError _ -> { StepSize = stepSize; Steps = None; Diverged = true }

/// Records per-layer update norms and distances for `steps` steps at `stepSize`.
let private trace (net: Network) (x: torch.Tensor) (y: torch.Tensor) (exact: torch.Tensor[] option) (reparam: Reparam) (stepSize: float) (steps: int) =
    use _ = torch.NewDisposeScope()
    use g = Rng.generator 0L torch.CPU
    use st = new InitState(1)
    let ctx = InitContext.input net x g
    let init = InitApply.apply Init.forward st ctx true
    let opts = { InferenceOptions.spc steps stepSize with Reparam = reparam; Record = true; DivergenceFactor = infinity }
    let distances = ResizeArray()
    let r =
        Inference.observed net opts init (Some y) (fun _ states ->
            match exact with
            | Some e -> distances.Add(Equilibrium.distance states e)
            | None -> ()
            false)
    r.UpdateNorms, distances.ToArray()

/// Searches each reparameterisation's step sizes (largest first; an attempt is cut
/// off once it needs more steps than the best so far) and traces the best one.
/// Nonlinear chains have no exact equilibrium: they are traced at the step size
/// found for the linear chain of the same depth and precision (`stepHint`).
let run (chain: Chain) (batch: int) (maxSteps: int) (tolerance: float) (traceSteps: int) (seed: int64) (stepHint: (Reparam -> float) option) : CaseResult =
    let ref64, net, x64, y64 = build chain batch seed
    try
        let x = x64.``to``(chain.Precision.ScalarType)
        let y = y64.``to``(chain.Precision.ScalarType)
        let linear = chain.Activation = Activation.Identity
        let exact = if linear then Some(Equilibrium.linear ref64 x64 y64 |> Array.map (fun t -> t.``to``(chain.Precision.ScalarType))) else None
        let search reparam =
            match exact with
            | Some e ->
                let attempts = ResizeArray<Attempt>()
                let mutable best: Attempt option = None
                let mutable worse = 0
                let mutable i = 0
                while i < stepGrid.Length && worse < 3 do
                    let budget =
                        match best with
                        | Some { Steps = Some s } -> s
                        | _ -> maxSteps
                    let a = attempt net x y e reparam stepGrid[i] budget tolerance
                    attempts.Add a
                    match a.Steps, best with
                    | Some s, Some { Steps = Some b } when s < b ->
                        best <- Some a
                        worse <- 0
                    | Some _, None -> best <- Some a
                    | _, Some _ -> worse <- worse + 1
                    | None, None -> ()
                    i <- i + 1
                best, List.ofSeq attempts
            | None -> None, []
        let spcBest, spcAttempts = search Reparam.States
        let epcBest, epcAttempts = search Reparam.Errors
        // Both traces run for the same number of steps: long enough for the slower
        // method to converge, at most `traceSteps`.
        let longest =
            [ spcBest; epcBest ] |> List.choose (function Some { Steps = Some s } -> Some s | _ -> None)
        let steps = if longest.IsEmpty then traceSteps else min traceSteps (List.max longest)
        let study reparam best attempts =
            let stepSize =
                match best, stepHint with
                | Some b, _ -> b.StepSize
                | None, Some h -> h reparam
                | None, None -> stepGrid[stepGrid.Length - 1]
            let norms, dists = trace net x y exact reparam stepSize steps
            { Reparam = reparam; Best = best; Attempts = attempts; UpdateNorms = norms; Distances = dists }
        { Chain = chain; Spc = study Reparam.States spcBest spcAttempts; Epc = study Reparam.Errors epcBest epcAttempts }
    finally
        (net :> IDisposable).Dispose()
        if not (obj.ReferenceEquals(net, ref64)) then (ref64 :> IDisposable).Dispose()
        x64.Dispose()
        y64.Dispose()
