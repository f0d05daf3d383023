module Hybrid.Ham

/// The activation rho(s) = sigmoid(4 (s - 1/2)).
val activation: x: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// The Lagrangian whose gradient is the activation, per unit.
val lagrangian: x: TorchSharp.torch.Tensor -> Tensor

/// A HAM: layer sizes, weights between adjacent layers (`W[A]` maps layer A to A+1)
/// and biases of layers 1..L. Owns its parameters.
type Network =
    {
      Sizes: int array
      Weights: TorchSharp.Modules.Parameter array
      Biases: TorchSharp.Modules.Parameter array
    }
    interface System.IDisposable
    
    /// Every parameter.
    member Parameters: TorchSharp.Modules.Parameter list
    
    /// L, the index of the last layer.
    member Top: int

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
    
    override ToString: unit -> string

/// The outcome of solving for the fixed point of a batch.
type Solution =
    {
      
      /// Layers 0..L at the end (x_0 the input).
      States: TorchSharp.torch.Tensor array
      
      /// Iterations per sample until the criterion held (the cap when it did not).
      Iterations: int array
      
      /// Whether each sample met the criterion.
      Converged: bool array
      
      /// Map evaluations spent (a full sweep counts one).
      Evaluations: int
    }

module Network =
    
    /// A HAM with the given layer sizes; weights U(-1/sqrt(n_A), 1/sqrt(n_A)), biases zero.
    val create:
      sizes: int list ->
        precision: Precision ->
        device: TorchSharp.torch.Device -> seed: int64 -> Network
    
    /// Checks that weights and biases fit the layer sizes.
    val validate: net: Network -> unit

/// The synchronous map f on layers 1..L (index 0 passes the input through).
val map:
  net: Network ->
    states: TorchSharp.torch.Tensor array -> TorchSharp.torch.Tensor array

/// The energy per sample (`[B]`).
val energy:
  net: Network ->
    states: TorchSharp.torch.Tensor array -> TorchSharp.torch.Tensor

/// The initial state: the input clamped, every other layer at zero.
val initial:
  net: Network -> x: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor array

/// The Anderson mixing weights per sample from the Gram matrix of the residual
/// history G = (F - X)(F - X)^T (`[B; m; m]`): min a^T G a + reg scale ||a||^2 with
/// sum a = 1, where scale is the mean of G's diagonal. Returns `[B; m; 1]`.
val andersonWeights: gram: TorchSharp.torch.Tensor -> reg: float -> TorchSharp.torch.Tensor

/// The odd half of the even/odd update: every odd layer set to its closed-form optimum
/// x_A = W_{A-1} g_{A-1} + W_A^T g_{A+1} + b_A given the even layers (an exact block
/// minimisation: E never increases).
val oddHalfStep:
  net: Network ->
    states: TorchSharp.torch.Tensor array -> TorchSharp.torch.Tensor array

/// The even half of the even/odd update: every even layer set to its optimum given the odd layers.
val evenHalfStep:
  net: Network ->
    states: TorchSharp.torch.Tensor array -> TorchSharp.torch.Tensor array

/// The convergence criterion of SPEC.md 3 per sample: ||x_{k+1} - x_k|| / ||x_{k+1}||
/// over layers 1..L.
val relativeChange:
  net: Network ->
    previous: TorchSharp.torch.Tensor array ->
    next: TorchSharp.torch.Tensor array -> float array

/// Solves for the fixed point of a batch from `start`, stopping each sample when
/// ||x_{k+1} - x_k|| / ||x_{k+1}|| < `tolerance` or after `maxIterations`.
/// Samples that did not converge are reported, never silently returned as fixed points.
val solve:
  net: Network ->
    solver: Solver ->
    start: TorchSharp.torch.Tensor array ->
    tolerance: float -> maxIterations: int -> Solution

/// Mean squared error of the top layer against targets, per batch (mean over samples and units).
val loss:
  top: TorchSharp.torch.Tensor ->
    target: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

/// Gradients of the readout loss at the fixed point by implicit differentiation:
/// u = (I - J^T)^{-1} dL/dx* by the fixed-point iteration u <- J^T u + dL/dx*, then
/// dL/dtheta = u . df/dtheta. Sets the parameters' `.grad`; returns the loss and
/// whether the adjoint iteration converged.
val implicitGradients:
  net: Network ->
    fixedPoint: TorchSharp.torch.Tensor array ->
    target: TorchSharp.torch.Tensor ->
    tolerance: float -> maxIterations: int -> float * bool

/// Accuracy (percent) of the argmax of the top layer.
val accuracy:
  top: TorchSharp.torch.Tensor -> labels: TorchSharp.torch.Tensor -> float
