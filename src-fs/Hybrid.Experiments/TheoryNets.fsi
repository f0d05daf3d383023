/// The networks and data the theory experiments share: bias-free dense chains with
/// Gaussian weights of a chosen scale, and Gaussian regression data, in float64.
module Hybrid.Experiments.TheoryNets

/// A chain of dense blocks through `sizes` (input first, output last) with `activation`
/// on the hidden layers, squared-error output, weights N(0, scale^2 / fan_in) drawn from
/// `seed`, biases zero (the instruments differentiate the weights only; an optimiser over
/// `Theory.weights` leaves the biases at zero).
val chain:
  sizes: int list -> activation: Hybrid.Activation -> scale: float -> seed: int64 -> Hybrid.Network

/// `n` samples of inputs N(0, I) and targets y = T x + noise (T with entries
/// N(0, 1/dIn), noise N(0, 0.1^2)), from `seed`: a realisable linear regression with a
/// nonzero input-output correlation.
val regression:
  n: int -> dIn: int -> dOut: int -> seed: int64 -> TorchSharp.torch.Tensor * TorchSharp.torch.Tensor
