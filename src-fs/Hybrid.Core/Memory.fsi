namespace Hybrid
    
    /// Settings of a memory initializer.
    type MemorySpec =
        {
          
          /// p, the number of memory slots.
          Slots: int
          
          /// delta, the inverse temperature of the recall.
          Delta: float
          
          /// e, the size of the query/key embedding (split evenly among the heads).
          Embedding: int
          
          /// a, the number of attention heads.
          Heads: int
          
          /// Adam learning rate of the memory's parameters.
          LearningRate: float
        }
        
        /// `mem(slots=..,delta=..,dim=..,lr=..)`, with `heads=..` when there is more than one.
        override ToString: unit -> string
        
        /// Checks the settings; the message names the bad value.
        member Validate: unit -> unit
        
        /// The paper's supervised setting: 16 slots, delta 1, embedding 128, one head, Adam 1e-3.
        static member Default: MemorySpec
    
    /// One Hopfield layer: query Q `[o; e]`, bias b `[e]`, keys K `[p; e]` (head h uses
    /// columns h e/a .. (h+1) e/a - 1 of the query and the keys), values V `[a p; d]`.
    /// Owns its parameters and its optimiser.
    type HopfieldMemory =
        interface System.IDisposable
        
        new: observationSize: int * stateSize: int * spec: MemorySpec *
             dtype: TorchSharp.torch.ScalarType *
             device: TorchSharp.torch.Device * seed: int64 -> HopfieldMemory
        
        /// The attention weights softmax(delta (o Q + b) K^T), `[n; a p]`: head h's
        /// softmax over the p slots in columns h p .. (h+1) p - 1.
        member Attention: o: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor

        /// Sets V = pinv(A) H so that the recall reproduces `target` (`[n; d]`) as well as
        /// p slots allow: with one slot per sample at high delta, exactly.
        member
          InitialiseValues: o: TorchSharp.torch.Tensor *
                            target: TorchSharp.torch.Tensor -> unit
        
        /// One Adam step of the memory's parameters on `lossOf (recall o)` (a scalar that may
        /// pass the recall through layers above the memory; see `Memory.loss`); returns the
        /// loss. Only the memory's parameters receive gradients.
        member
          Learn: o: TorchSharp.torch.Tensor *
                 lossOf: (TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor) ->
                   float
        
        /// Copies saved values of Q, b, K and V in (checkpoints); shapes must match.
        member Load: values: TorchSharp.torch.Tensor list -> unit
        
        /// Eq. 8: the recalled states `[n; d]`.
        member Recall: o: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor
        
        /// Stores observation/state pairs one per slot (slots 0..n-1): the keys become the
        /// embedded observations o Q + b and the values the states, so that at high delta
        /// recalling a stored observation returns its state. Single-headed memories only.
        member
          internal Store: o: TorchSharp.torch.Tensor *
                          states: TorchSharp.torch.Tensor -> unit
        
        /// Observation size.
        member ObservationSize: int
        
        /// The memory's own optimiser (Adam on Q, b, K, V).
        member Optimizer: Optimizer
        
        /// Q, b, K, V in that order.
        member Parameters: TorchSharp.Modules.Parameter list
        
        /// The settings.
        member Spec: MemorySpec
        
        /// State size.
        member StateSize: int
        
        /// Whether V has been set from a first batch (or loaded).
        member ValuesInitialised: bool
    
    /// The memory initializer's equations as functions.
    module Memory =
        
        /// Eq. 8: h^(0) = softmax(delta (o Q + b) K^T) V, the recalled states `[n; d]`.
        val recall:
          m: HopfieldMemory ->
            o: TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor
        
        /// Eq. 9: sum_l ||h_l^(0) - h_l^(T)||^2 / n over the memory's layer and the
        /// forward-initialised layers above it, whose h^(0) the recall sets through the
        /// network's predictions: `recall` is the memory's h^(0), `above` the blocks from
        /// the memory's layer up (f_l, f_{l+1}, ...), `targets` the inferred states of the
        /// memory's layer and of each layer above (detached here).
        val loss:
          recall: TorchSharp.torch.Tensor ->
            above: (TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor) list ->
            targets: TorchSharp.torch.Tensor list -> TorchSharp.torch.Tensor
        
        /// One Adam step of the memory on Eq. 9; returns the loss.
        val learn:
          m: HopfieldMemory ->
            o: TorchSharp.torch.Tensor ->
            above: (TorchSharp.torch.Tensor -> TorchSharp.torch.Tensor) list ->
            targets: TorchSharp.torch.Tensor list -> float
