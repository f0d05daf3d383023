/// Learning: one weight update after inference (SPEC.md 1.1), or one
/// backpropagation step, with any torch optimiser.
namespace Hybrid

open System
open TorchSharp

/// The weight optimiser.
[<RequireQualifiedAccess>]
type OptimizerSpec =
    /// AdamW with learning rate, weight decay and the usual betas (0.9, 0.999).
    | AdamW of lr: float * weightDecay: float
    /// SGD with learning rate and momentum.
    | Sgd of lr: float * momentum: float

    /// The learning rate.
    member this.LearningRate =
        match this with
        | AdamW(lr, _)
        | Sgd(lr, _) -> lr

    override this.ToString() =
        match this with
        | AdamW(lr, wd) -> sprintf "adamw(lr=%g, wd=%g)" lr wd
        | Sgd(lr, m) -> sprintf "sgd(lr=%g, momentum=%g)" lr m

    /// Checks the settings.
    member this.Validate() =
        if not (this.LearningRate > 0.0) then invalidArg "lr" (sprintf "the weight learning rate must be positive, got %g" this.LearningRate)
        match this with
        | AdamW(_, wd) when wd < 0.0 -> invalidArg "weightDecay" (sprintf "weight decay must be >= 0, got %g" wd)
        | Sgd(_, m) when m < 0.0 || m >= 1.0 -> invalidArg "momentum" (sprintf "SGD momentum must be in [0,1), got %g" m)
        | _ -> ()

module Learning =
    /// Creates the optimiser over the network's parameters.
    let optimizer (spec: OptimizerSpec) (net: Network) : torch.optim.Optimizer =
        spec.Validate()
        let ps = net.Parameters |> Seq.cast<Modules.Parameter>
        match spec with
        | OptimizerSpec.AdamW(lr, wd) -> torch.optim.AdamW(ps, lr, 0.9, 0.999, 1e-8, wd)
        | OptimizerSpec.Sgd(lr, m) -> torch.optim.SGD(ps, lr, m, 0.0, 0.0, false, false)

    /// Sets the parameters' gradients to dF/dθ / n at the (detached) final states:
    /// the local, Hebbian gradient -J_θ f(h)^T e divided by the batch size.
    /// Uses `predictions` when given (they must hold the graph to the parameters).
    /// Returns F at the final states (summed over the batch).
    let weightGradients (net: Network) (states: Tensor[]) (predictions: Tensor[] option) (target: Tensor option) : float =
        use _ = torch.NewDisposeScope()
        let states = states |> Array.map (fun s -> s.detach())
        let mus =
            match predictions with
            | Some p -> p
            | None -> Energy.predictions net states
        let F = Energy.total (Energy.terms net states mus target)
        let n = float states[0].shape[0]
        for p in net.Parameters do
            if not (isNull p.grad) then p.grad.zero_() |> ignore
        (Ops.div F n).backward()
        Scope.scalar F

    /// The backpropagation gradient of the forward loss / n. Returns the summed loss.
    let backpropGradients (net: Network) (x: Tensor) (target: Tensor) : float =
        use _ = torch.NewDisposeScope()
        for p in net.Parameters do
            if not (isNull p.grad) then p.grad.zero_() |> ignore
        let loss = Energy.forwardLoss net x target
        (Ops.div loss (float x.shape[0])).backward()
        Scope.scalar loss

    /// The current gradients of the parameters, cloned (block order).
    let gradients (net: Network) : Tensor[] =
        net.Parameters |> List.map (fun p -> if isNull p.grad then torch.zeros_like p else p.grad.clone()) |> Array.ofList
