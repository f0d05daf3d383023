/// The predictive-coding energy (SPEC.md 1.1) as pure functions of the network,
/// the states and the target. Per-layer terms are values that can be read,
/// logged and plotted.
///
/// Conventions: `states` has L entries, `states[0]` the input h_0 (clamped, or a
/// free latent in generative models) and `states[l]` the hidden layer l.
/// `predictions` has L entries, `predictions[l-1]` = mu_l = f_{l-1}(h_{l-1}).
/// Every term is summed over units and over the batch.
module Hybrid.Energy

open TorchSharp

/// mu_1..mu_L from the states h_0..h_{L-1} (each block applied to its own input: parallel in l).
let predictions (net: Network) (states: Tensor[]) : Tensor[] =
    Array.init net.Depth (fun l -> net.Blocks[l].Forward states[l])

/// The prediction errors e_l = h_l - mu_l of the hidden layers 1..L-1 (index l-1).
let errors (states: Tensor[]) (predictions: Tensor[]) : Tensor[] =
    Array.init (states.Length - 1) (fun i -> Ops.minus states[i + 1] predictions[i])

/// The energy terms: index l-1 holds 1/2 ||e_l||^2 for hidden layer l = 1..L-1,
/// and the last index holds the output term Loss(mu_L, y) (zero when the output is free).
let terms (net: Network) (states: Tensor[]) (predictions: Tensor[]) (target: Tensor option) : Tensor[] =
    let hidden = errors states predictions |> Array.map Ops.halfSquaredNorm
    let output =
        match target with
        | Some y -> Network.outputLoss net.Loss predictions[net.Depth - 1] y
        | None -> torch.zeros([||], dtype = net.Precision.ScalarType, device = net.Device)
    Array.append hidden [| output |]

/// F(h, θ): the sum of `terms`.
let total (terms: Tensor[]) : Tensor = Ops.sum terms

/// The sPC energy F(h, θ) = sum_{l=1}^{L-1} 1/2 ||h_l - f_{l-1}(h_{l-1})||^2 + Loss(f_{L-1}(h_{L-1}), y)
/// at the given states (predictions computed here).
let spc (net: Network) (states: Tensor[]) (target: Tensor option) : Tensor =
    total (terms net states (predictions net states) target)

/// The ePC reparameterisation (SPEC.md 1.4): the states of the perturbed forward pass
/// h_l = f_{l-1}(h_{l-1}) + e_l from the input `x` and the errors e_1..e_{L-1}, with
/// the predictions mu_1..mu_L met on the way. `detachStates` cuts the graph at each state.
let statesOfErrors (net: Network) (x: Tensor) (errors: Tensor[]) (detachStates: bool) : Tensor[] * Tensor[] =
    let L = net.Depth
    let hs = Array.zeroCreate<Tensor> L
    let mus = Array.zeroCreate<Tensor> L
    hs[0] <- x
    for l in 1 .. L do
        mus[l - 1] <- net.Blocks[l - 1].Forward hs[l - 1]
        if l < L then
            let h = Ops.plus mus[l - 1] errors[l - 1]
            hs[l] <- if detachStates then h.detach() else h
    hs, mus

/// The ePC energy terms E(e): 1/2 ||e_l||^2 per hidden layer, then Loss(mu_L(e), y),
/// where mu_L is the top prediction of the perturbed forward pass (`statesOfErrors`).
/// E(e) = F(h(e)).
let epcTerms (net: Network) (errors: Tensor[]) (topPrediction: Tensor) (target: Tensor option) : Tensor[] =
    let hidden = errors |> Array.map Ops.halfSquaredNorm
    let output =
        match target with
        | Some y -> Network.outputLoss net.Loss topPrediction y
        | None -> torch.zeros([||], dtype = net.Precision.ScalarType, device = net.Device)
    Array.append hidden [| output |]

/// The ePC energy E(e) = sum_l 1/2 ||e_l||^2 + Loss(f(h_{L-1}(e)), y) for input `x`.
let epc (net: Network) (x: Tensor) (errors: Tensor[]) (target: Tensor option) : Tensor =
    let _, mus = statesOfErrors net x errors false
    total (epcTerms net errors mus[net.Depth - 1] target)

/// The per-layer energies as numbers (hidden layers 1..L-1, then the output term).
let values (terms: Tensor[]) : float[] = terms |> Array.map Scope.scalar

/// The loss of the plain forward pass, summed over the batch: F at forward
/// initialisation with the output clamped.
let forwardLoss (net: Network) (x: Tensor) (target: Tensor) : Tensor =
    Network.outputLoss net.Loss (net.Forward x) target
