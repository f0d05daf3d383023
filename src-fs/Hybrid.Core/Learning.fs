/// Learning: one weight update after inference (SPEC.md 1.1), or one
/// backpropagation step, with Hybrid's optimisers (see Optimizer.fs).
namespace Hybrid

open System
open TorchSharp

module Learning =
    /// Sets the gradients to dF/dθ / n; returns F. A prediction without a graph (sPC's
    /// sparse path: its error is exactly zero) has a zero weight gradient: its block gets
    /// zeros, as the full computation gives.
    let private differentiate (net: Network) (F: Tensor) (n: float) (mus: Tensor[]) (target: Tensor option) : float =
        for p in net.Parameters do
            if not (isNull p.grad) then p.grad.zero_() |> ignore
        if F.requires_grad then (Ops.div F n).backward()
        for i in 0 .. net.Depth - 1 do
            if not mus[i].requires_grad && (i < net.Depth - 1 || target.IsSome) then
                for p in net.Blocks[i].Parameters do
                    if isNull p.grad then p.grad <- torch.zeros_like(p).DetachFromDisposeScope()
        Scope.scalar F

    /// Creates the optimiser over the network's parameters.
    let optimizer (spec: OptimizerSpec) (net: Network) : Optimizer = new Optimizer(spec, net.Parameters)

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
        differentiate net (Energy.total (Energy.terms net states mus target)) (float states[0].shape[0]) mus target

    /// `weightGradients` for an inference result: its final energy terms when it has them.
    let weightGradientsOf (net: Network) (r: InferenceResult) (target: Tensor option) : float =
        match r.Terms, r.Predictions with
        | Some terms, Some mus ->
            use _ = torch.NewDisposeScope()
            differentiate net (Energy.total terms) (float r.States[0].shape[0]) mus target
        | _ -> weightGradients net r.States r.Predictions target

    /// The backpropagation gradient of the forward loss / n. Returns the summed loss.
    let backpropGradients (net: Network) (x: Tensor) (target: Tensor) : float =
        use _ = torch.NewDisposeScope()
        for p in net.Parameters do
            if not (isNull p.grad) then p.grad.zero_() |> ignore
        // The forward pass of `Energy.forwardLoss`, refusing a block without a graph by name
        // (its parameters would otherwise get no gradient and stay as they are).
        let loss = Network.outputLoss net.Loss (Network.forwardChecked net x "backpropagation") target
        (Ops.div loss (float x.shape[0])).backward()
        Scope.scalar loss

    /// The current gradients of the parameters, cloned (block order).
    let gradients (net: Network) : Tensor[] =
        net.Parameters |> List.map (fun p -> if isNull p.grad then torch.zeros_like p else p.grad.clone()) |> Array.ofList
