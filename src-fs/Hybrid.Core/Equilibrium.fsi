module Hybrid.Equilibrium

/// True when every block is a plain linear map (identity activations, no
/// residual, unit scale) and the output term is a squared error.
val isLinearChain: net: Network -> bool

/// The Hessian of F with respect to the stacked hidden states (the same for every sample).
val hessian: net: Network -> TorchSharp.torch.Tensor

/// The exact equilibrium states (L entries, the input first) of a linear chain
/// for inputs `x` and the clamped target `y`. (With the output free the
/// equilibrium is the forward pass.)
val linear:
  net: Network ->
    x: TorchSharp.torch.Tensor ->
    y: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor array

/// The map from errors to states of the perturbed forward pass is h = B^{-1}(e + c)
/// with B unit lower block-bidiagonal (identity blocks, -W_l below the diagonal).
/// Returns B, so that the Hessian of ePC's energy is B^{-T} H B^{-1}.
val errorMap: net: Network -> TorchSharp.torch.Tensor

/// Largest eigenvalues of the sPC and ePC energies' Hessians: (sPC, ePC).
/// Gradient descent is stable below 2 / lambda_max.
val curvatures: net: Network -> float * float

/// Relative distance ||h - h*|| / ||h*|| over all hidden layers.
val distance:
  states: TorchSharp.torch.Tensor array ->
    exact: TorchSharp.torch.Tensor array -> float
