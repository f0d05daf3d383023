module Hybrid.Energy

/// mu_1..mu_L from the states h_0..h_{L-1} (each block applied to its own input: parallel in l).
val predictions: net: Network -> states: Tensor array -> Tensor array

/// The prediction errors e_l = h_l - mu_l of the hidden layers 1..L-1 (index l-1).
val errors: states: Tensor array -> predictions: Tensor array -> Tensor array

/// The energy terms: index l-1 holds 1/2 ||e_l||^2 for hidden layer l = 1..L-1,
/// and the last index holds the output term Loss(mu_L, y) (zero when the output is free).
val terms:
  net: Network ->
    states: Tensor array ->
    predictions: Tensor array -> target: Tensor option -> Tensor array

/// F(h, θ): the sum of `terms`.
val total: terms: Tensor array -> Tensor

/// The sPC energy F(h, θ) = sum_{l=1}^{L-1} 1/2 ||h_l - f_{l-1}(h_{l-1})||^2 + Loss(f_{L-1}(h_{L-1}), y)
/// at the given states (predictions computed here).
val spc: net: Network -> states: Tensor array -> target: Tensor option -> Tensor

/// The ePC reparameterisation (SPEC.md 1.4): the states of the perturbed forward pass
/// h_l = f_{l-1}(h_{l-1}) + e_l from the input `x` and the errors e_1..e_{L-1}, with
/// the predictions mu_1..mu_L met on the way. `detachStates` cuts the graph at each state.
val statesOfErrors:
  net: Network ->
    x: Tensor ->
    errors: Tensor array -> detachStates: bool -> Tensor array * Tensor array

/// The ePC energy terms E(e): 1/2 ||e_l||^2 per hidden layer, then Loss(mu_L(e), y),
/// where mu_L is the top prediction of the perturbed forward pass (`statesOfErrors`).
/// E(e) = F(h(e)).
val epcTerms:
  net: Network ->
    errors: Tensor array ->
    topPrediction: Tensor -> target: Tensor option -> Tensor array

/// The ePC energy E(e) = sum_l 1/2 ||e_l||^2 + Loss(f(h_{L-1}(e)), y) for input `x`.
val epc:
  net: Network ->
    x: Tensor -> errors: Tensor array -> target: Tensor option -> Tensor

/// The per-layer energies as numbers (hidden layers 1..L-1, then the output term).
val values: terms: Tensor array -> float array

/// The loss of the plain forward pass, summed over the batch: F at forward
/// initialisation with the output clamped.
val forwardLoss: net: Network -> x: Tensor -> target: Tensor -> Tensor
