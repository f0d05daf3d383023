namespace Hybrid
    
    /// Which variables inference descends on.
    [<RequireQualifiedAccess>]
    type Reparam =
        
        /// sPC: the hidden states h_1..h_{L-1}.
        | States
        
        /// ePC: the errors e_1..e_{L-1} of h_l = f(h_{l-1}) + e_l; dE/de by backpropagation.
        | Errors
        
        override ToString: unit -> string
    
    /// Inference settings.
    type InferenceOptions =
        {
          
          /// T, the number of steps (at least 1).
          Steps: int
          
          /// Step size alpha (sPC) or eta (ePC).
          StepSize: float
          
          /// Heavy-ball momentum on the variables (0: plain SGD).
          Momentum: float
          
          /// Stop early when the relative energy change of a step falls below this.
          Tolerance: float option
          
          /// Record per-step energies, per-layer energies and per-layer update norms.
          Record: bool
          
          /// Which variables to descend on.
          Reparam: Reparam
          
          /// The energy may not exceed this multiple of its starting value (divergence); ePC's
          /// may not exceed the smaller of this and 10 times it once above 1 (its errors start at
          /// zero and descend). Infinity turns both checks off (non-finite energies still diverge).
          DivergenceFactor: float
          
          /// Whether h_0 is a free variable too (generative models).
          InputFree: bool
          
          /// sPC only: recompute every prediction, error and vector-Jacobian product at every
          /// step (the reference path). By default sPC recomputes only what can have changed.
          Dense: bool
        }
        
        /// Checks the settings; the message names the bad value.
        member Validate: unit -> unit
    
    module InferenceOptions =
        
        /// T steps of plain SGD with step size `stepSize` on the states.
        val spc: steps: int -> stepSize: float -> InferenceOptions
        
        /// T steps of plain SGD with step size `stepSize` on the errors.
        val epc: steps: int -> stepSize: float -> InferenceOptions
    
    /// What made a run diverge, by what can be done about it.
    [<RequireQualifiedAccess>]
    type DivergenceCause =
        
        /// Inference grew the energy or made it non-finite: its step size is too large.
        | StepSize
        
        /// The energy was already non-finite when inference started: the weights (or the inputs) are.
        | Start
        
        /// A weight update made the loss or the energy non-finite: the weight learning rate is too large.
        | LearningRate of learningRate: float
    
    /// Where and why a run diverged.
    type DivergenceInfo =
        {
          
          /// The hidden layer (1-based; L for the output term) whose energy is bad, when one is.
          Layer: int option
          
          /// The inference step (1-based; 0 for backpropagation).
          Step: int
          
          /// The training batch (0-based), when known.
          Batch: int option
          
          /// The energy (or loss) that was seen.
          Energy: float
          
          /// The inference step size in use (0 for backpropagation).
          StepSize: float
          
          /// The reparameterisation in use.
          Reparam: Reparam
          
          /// What made it diverge.
          Cause: DivergenceCause
          
          /// The block that turned finite states into non-finite predictions ("block 1
          /// (name)"), when one did.
          Block: string option
        }
        
        member Message: string
    
    /// Inference (or training) left the finite, bounded region.
    exception DivergenceError of DivergenceInfo
    
    /// The outcome of inference.
    type InferenceResult =
        {
          
          /// Final states, detached: L entries, the input first.
          States: Tensor array
          
          /// Predictions at the final states with their graph to the parameters, when
          /// inference computed them on the way (ePC's closing sweep); else None.
          Predictions: Tensor array option
          
          /// Steps actually run (early stop may end before T).
          Steps: int
          
          /// F at the start of each step (recorded runs only).
          Energies: float array
          
          /// Per step, the energy terms (hidden layers, then the output; recorded runs only).
          LayerEnergies: float array array
          
          /// Per step, ||h_l^(t) - h_l^(t-1)|| for each hidden layer (recorded runs only; index 0 is h_0 when it is free).
          UpdateNorms: float array array
          
          /// Block products inference computed: block evaluations (predictions) and
          /// vector-Jacobian products to the states, including the final predictions it hands
          /// to the weight update (`Predictions`). Matrix products for an MLP.
          Products: int
          
          /// Blocks whose weight gradient can be nonzero at the final states (those whose
          /// output's energy term is not known to be exactly zero); the weight update
          /// computes one product for each.
          LiveBlocks: int
          
          /// The energy terms at the final states (hidden layers, then the output), with
          /// their graph to the parameters where they can be nonzero, when inference
          /// computed them (sPC's sparse path); else None.
          Terms: Tensor array option
        }

    module Inference =

        /// Runs inference from `init` towards the minimum of F for the clamped `target`
        /// (None: output free). `batch` is named in divergence errors.
        val run:
          net: Network ->
            opts: InferenceOptions ->
            init: InitResult ->
            target: Tensor option -> batch: int option -> InferenceResult
        
        /// `run`, calling `observe step states` after every step with the current states
        /// (L entries, detached, valid during the call); returning true stops inference.
        val observed:
          net: Network ->
            opts: InferenceOptions ->
            init: InitResult ->
            target: Tensor option ->
            observe: (int -> Tensor array -> bool) -> InferenceResult
