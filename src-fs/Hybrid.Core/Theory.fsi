/// Instruments for the theory of predictive coding (Innocenti's thesis and its papers):
/// the energy at the inference equilibrium F*(θ) = min_h F(h, θ), in closed form for deep
/// linear networks and by inference for any network; Hessians of the loss and of F* with
/// respect to the weights (full matrices, Hessian-vector products, Lanczos); the activity
/// Hessians of sPC's and ePC's energies; and the trust-region step on the loss.
///
/// Conventions: every function of the weights is a batch mean (1/n, as `Learning`'s weight
/// gradients are), so a linear chain's F*(θ) = 1/(2n) sum_i r_i^T S^{-1} r_i. "The weights"
/// are each dense or conv block's weight and every parameter of a module block (`weights`);
/// biases are held where they are. Flat vectors list the weights in that order. Returned
/// tensors belong to the caller's dispose scope (run these inside `Scope.run`).
module Hybrid.Theory

/// The weights the instruments differentiate, per block: a dense or conv block's weight,
/// every parameter of a module block.
val weights: net: Network -> TorchSharp.Modules.Parameter array array

/// The number of scalar weights (the size of the flat vectors and of the Hessians).
val parameterCount: net: Network -> int64

/// Concatenates tensors into one flat vector (the order of the flat weight vectors).
val flatten: parts: Tensor array -> Tensor

/// S = I + sum_{l=2..L} W_{L:l} W_{L:l}^T with W_{L:l} = W_L ... W_l (eq. `rescaling`), for a
/// linear chain: every block a plain dense linear map (its scale folded into W), squared-error
/// output. The message names a block that is not.
val linearRescaling: net: Network -> Tensor

/// The closed-form equilibrated energy of a linear chain (eq. `linear-equilibrated-energy`):
/// F*(θ) = 1/(2n) sum_i r_i^T S^{-1} r_i with r_i = y_i - f(x_i) (the forward pass, biases
/// included), as a scalar with its graph to the weights.
val linearEquilibratedEnergy: net: Network -> x: Tensor -> y: Tensor -> Tensor

/// How inference to the equilibrium runs: gradient descent on the states from the forward
/// pass, the step halved whenever the energy would rise, until every sample's state gradient
/// has norm at most `Tolerance` (or `MaxSteps`).
type EquilibriumOptions =
    {
      StepSize: float
      Tolerance: float
      MaxSteps: int
    }

    /// Checks the settings; the message names the bad value.
    member Validate: unit -> unit

module EquilibriumOptions =

    /// Step 0.2, tolerance 1e-9, at most 20000 steps.
    val defaults: EquilibriumOptions

/// An inference equilibrium.
type Equilibrium =
    {
      /// The states (L entries, the input first), detached.
      States: Tensor array

      /// F(h*, θ) / n.
      Energy: float

      /// The largest per-sample norm of the state gradient at h*.
      GradientNorm: float

      /// Steps taken.
      Steps: int

      /// Whether the tolerance was met.
      Converged: bool
    }

/// Runs inference to the equilibrium from the forward pass (eq. `equilibrated-energy`);
/// `target` None leaves the output free. Raises ArithmeticException when it diverges.
val equilibrate:
  net: Network -> x: Tensor -> target: Tensor option -> opts: EquilibriumOptions -> Equilibrium

/// `equilibrate` from given states (L entries, the input first).
val equilibrateFrom:
  net: Network -> init: Tensor array -> target: Tensor option -> opts: EquilibriumOptions -> Equilibrium

/// The loss of the forward pass, batch mean: 1/(2n) sum_i ||f(x_i) - y_i||^2 (or mean
/// cross-entropy), with its graph.
val loss: net: Network -> x: Tensor -> y: Tensor -> Tensor

/// dL/dθ, one tensor per weight (BP's gradient).
val lossGradient: net: Network -> x: Tensor -> y: Tensor -> Tensor array

/// dF*/dθ = ∂F/∂θ at h* (eq. `equilibrated-gradient`, the envelope theorem): the gradient PC
/// learns on, one tensor per weight.
val equilibratedGradient: net: Network -> eq: Equilibrium -> target: Tensor -> Tensor array

/// Per-block norms of gradients given one tensor per weight (index l-1: block l).
val layerNorms: net: Network -> grads: Tensor array -> float array

/// The full Hessian of a scalar function of `ps` by differentiating its gradient row by row
/// (one backward pass per coordinate), symmetrised.
val hessian: ps: Tensor array -> f: (unit -> Tensor) -> Tensor

/// The Hessian of the loss with respect to the weights.
val lossHessian: net: Network -> x: Tensor -> y: Tensor -> Tensor

/// The Hessian of the closed-form F* of a linear chain with respect to the weights.
val linearEquilibratedHessian: net: Network -> x: Tensor -> y: Tensor -> Tensor

/// The Hessian of F* at an equilibrium for any network (eq. `equilibrated-hessian`): the
/// Schur complement F_θθ - F_θh F_hh^{-1} F_hθ of the energy's joint Hessian at h*.
val equilibratedHessian: net: Network -> eq: Equilibrium -> target: Tensor -> Tensor

/// v -> (d²L/dθ²) v for flat vectors v.
val lossHvp: net: Network -> x: Tensor -> y: Tensor -> (Tensor -> Tensor)

/// v -> (d²F*/dθ²) v at an equilibrium, F_hh^{-1} by conjugate gradients.
val equilibratedHvp: net: Network -> eq: Equilibrium -> target: Tensor -> (Tensor -> Tensor)

/// The smallest and largest eigenvalues of a symmetric operator.
type Extremes =
    {
      Smallest: float
      Largest: float
    }

    /// Largest / Smallest; infinity unless Smallest > 0 (not positive definite).
    member Condition: float

/// The extreme eigenvalues of a symmetric matrix, or over a batch of them ([.., D, D]).
val extremes: symmetric: Tensor -> Extremes

/// The extreme eigenvalues of a symmetric operator on vectors of `dim` elements by Lanczos
/// with full reorthogonalisation, `iterations` steps from a seeded random start (exact when
/// iterations >= dim).
val lanczos:
  dim: int64 ->
    op: (Tensor -> Tensor) ->
    iterations: int -> seed: int64 -> dtype: TorchSharp.torch.ScalarType -> device: TorchSharp.torch.Device -> Extremes

/// The activity Hessians at `states` (L entries, the input first), one per sample [n, D, D]
/// (eq. `activity-hessian`): of sPC's energy F(h) with respect to the hidden states, or of
/// ePC's E(e) with respect to the errors e_l = h_l - f_{l-1}(h_{l-1}) of those states.
val activityHessian: net: Network -> reparam: Reparam -> states: Tensor array -> target: Tensor option -> Tensor

/// The activity Hessian as an operator on the batch's flat variables: (its size, v -> H v).
val activityHvp:
  net: Network -> reparam: Reparam -> states: Tensor array -> target: Tensor option -> int64 * (Tensor -> Tensor)

/// The Gauss-Newton matrix J^T J / n of the network's outputs with respect to the weights
/// (the curvature of a squared-error loss without the residual term).
val gaussNewton: net: Network -> x: Tensor -> Tensor

/// The trust-region step on a quadratic model (eq. `trust-region-step`): argmin over
/// ||d|| <= radius of g^T d + 1/2 d^T C d, as d = -(C + λI)^{-1} g with the smallest
/// λ >= max(0, -λ_min(C)) that keeps it inside.
val trustRegionStep: curvature: Tensor -> gradient: Tensor -> radius: float -> Tensor

/// The angle between two vectors in degrees (NaN when one is zero).
val angle: a: Tensor -> b: Tensor -> float
