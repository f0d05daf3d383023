namespace Hybrid
    
    /// The weight optimiser.
    [<RequireQualifiedAccess>]
    type OptimizerSpec =
        
        /// AdamW with learning rate, weight decay and the usual betas (0.9, 0.999).
        | AdamW of lr: float * weightDecay: float
        
        /// SGD with learning rate and momentum.
        | Sgd of lr: float * momentum: float
        
        override ToString: unit -> string
        
        /// Checks the settings.
        member Validate: unit -> unit
        
        /// The learning rate.
        member LearningRate: float
    
    /// An optimiser over a fixed list of parameters. Owns its state tensors.
    type Optimizer =
        interface System.IDisposable
        
        new: spec: OptimizerSpec * parameters: TorchSharp.Modules.Parameter list ->
               Optimizer
        
        /// Restores the state from named tensors and a step count (checkpoints).
        member
          LoadState: prefix: string * tensors: Map<string,Tensor> *
                     stepCount: int64 -> unit
        
        /// The state as named tensors (`{prefix}{i}.m`, `{prefix}{i}.v` for parameters that have it).
        member StateTensors: prefix: string -> (string * Tensor) list
        
        /// One update of every parameter that has a gradient.
        member Step: unit -> unit
        
        /// Sets every gradient to zero.
        member ZeroGrad: unit -> unit
        
        /// The settings.
        member Spec: OptimizerSpec
        
        /// Steps taken.
        member Steps: int64
