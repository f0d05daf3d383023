namespace Hybrid
    
    module Learning =
        
        /// Creates the optimiser over the network's parameters.
        val optimizer: spec: OptimizerSpec -> net: Network -> Optimizer
        
        /// Sets the parameters' gradients to dF/dθ / n at the (detached) final states:
        /// the local, Hebbian gradient -J_θ f(h)^T e divided by the batch size.
        /// Uses `predictions` when given (they must hold the graph to the parameters).
        /// Returns F at the final states (summed over the batch).
        val weightGradients:
          net: Network ->
            states: Tensor array ->
            predictions: Tensor array option -> target: Tensor option -> float
        
        /// `weightGradients` for an inference result: differentiates the final energy terms
        /// inference handed over (sPC's sparse path: only those that can be nonzero carry
        /// a graph) or, without them, computes them from its states and predictions.
        val weightGradientsOf:
          net: Network -> r: InferenceResult -> target: Tensor option -> float
        
        /// The backpropagation gradient of the forward loss / n. Returns the summed loss.
        val backpropGradients:
          net: Network -> x: Tensor -> target: Tensor -> float
        
        /// The current gradients of the parameters, cloned (block order).
        val gradients: net: Network -> Tensor array
