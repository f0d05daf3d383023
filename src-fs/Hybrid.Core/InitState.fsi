namespace Hybrid
    
    /// What an initializer needs to know about the current batch.
    type InitContext =
        {
          Network: Network
          
          /// The clamped input h_0, or None when h_0 is a free latent (generative networks).
          Input: Tensor option
          
          /// Number of samples in the batch.
          BatchSize: int
          
          /// Labels of the batch (int64), when known (training).
          Labels: Tensor option
          
          /// The observation o of each sample (`[n; o]`), for memory initializers:
          /// (input, sqrt(d_x) x one-hot label) when supervised, the clamped image when generative.
          Observation: Tensor option
          
          /// Number of classes, for the stream average.
          Classes: int
          
          /// Generator for random initialisation.
          Generator: Generator
        }
    
    module InitContext =
        
        /// The context of a supervised batch: clamped input, labels, and the observation
        /// o = (x, sqrt(d_x) one-hot y) for memories: scaled so that the label, 10 of
        /// ~800 inputs, counts in the recall as much as the image does.
        val supervised:
          net: Network ->
            x: Tensor ->
            labels: Tensor ->
            classes: int -> generator: Generator -> InitContext
        
        /// The context of a generative batch: h_0 free, the image is the observation.
        val generative:
          net: Network -> image: Tensor -> generator: Generator -> InitContext
        
        /// A context with only a clamped input (no labels, no observation).
        val input:
          net: Network -> x: Tensor -> generator: Generator -> InitContext
    
    /// h^(0) and the predictions the forward sweep computed along the way.
    type InitResult =
        {
          
          /// L entries: the input (or the latent h_0), then hidden layers 1..L-1. Free
          /// states are leaves that require gradients when `leaves` was asked for.
          States: Tensor array
          
          /// `Predictions[l-1]` = mu_l = f_{l-1}(States[l-1]) with its graph, when the
          /// forward sweep computed it (layer l forward-initialised, or the layer above).
          Predictions: Tensor option array
        }
    
    /// The stream-aligned average (Eq. 7) as functions: class means of the inferred states.
    module StreamAverage =
        
        /// Eq. 7: the class means `[C; shape]` of each layer after a batch. Classes present
        /// in the batch take the mean of their samples' final states; the others keep their
        /// previous mean (zero before any). Returns new tensors; the inputs are not changed.
        val update:
          classes: int ->
            previous: Tensor array option ->
            states: Tensor array -> labels: Tensor -> Tensor array
        
        /// The classes present in a batch's labels.
        val present: classes: int -> labels: Tensor -> bool array
        
        /// h_l^(0) = the mean of each sample's class, `[n; shape]`.
        val recall: means: Tensor -> labels: Tensor -> Tensor
    
    /// A copy of the state an initializer carries (kept states, class means, which classes
    /// have a mean), for checkpoints. The tensors are clones owned by the holder.
    type InitSnapshot =
        {
          Kept: Tensor array
          Means: Tensor array
          Seen: bool array
        }
    
    /// The state an initializer carries across batches: kept states, class means and
    /// memories. It is the one owner of these tensors: it hands out copies, never the
    /// live tensors. Memories are seeded from `seed` (one stream per layer).
    type InitState =
        interface System.IDisposable
        
        new: classes: int * seed: int64 -> InitState
        
        /// The memory of layer `l`, created on first use (seeded from the state's seed and the layer).
        member
          MemoryFor: l: int * spec: MemorySpec * observationSize: int *
                     stateSize: int * dtype: ScalarType * device: Device ->
                       HopfieldMemory
        
        /// Records a batch's final states (L entries) of `net` for the initializer's next
        /// use: keeps them, updates the class means (Eq. 7), and trains the memories
        /// towards them (Eq. 9), each on its own layer and the forward-initialised layers
        /// directly above it (through the network's predictions, whose parameters it
        /// leaves unchanged).
        member
          Record: net: Network * init: Initializer * states: Tensor array *
                  labels: Tensor option * observation: Tensor option -> unit
        
        /// Replaces the kept states, class means and seen classes (checkpoint restore).
        /// The tensors are cloned onto `device`.
        member Restore: snapshot: InitSnapshot * device: Device -> unit
        
        /// Copies of the kept states, class means and seen classes.
        member Snapshot: unit -> InitSnapshot
        
        /// Number of classes.
        member Classes: int
        
        /// The previous batch's final states (index l for layer l), if any.
        member internal Kept: Tensor array
        
        /// The per-class means of each layer (index l; `[C; shape]`), if any.
        member internal Means: Tensor array
        
        /// The memories, by layer.
        member
          Memories: System.Collections.Generic.IReadOnlyDictionary<int,
                                                                   HopfieldMemory>
        
        /// The seed of the memories.
        member Seed: int64
        
        /// Which classes have a mean (a copy).
        member Seen: bool array
    
    module InitApply =
        
        /// Computes h^(0) for a batch, bottom-up. Forward layers take the prediction of
        /// the layer below; `Keep` and `StreamAverage` fall back to forward where they
        /// have nothing yet (first batch, a batch of another size, an unseen class), and
        /// to zero for the latent layer of a generative network, which has no forward
        /// pass. Memories are created on first use, with V set so that they recall the
        /// forward initialisation of that first batch (zero for the latent layer).
        /// With `leaves`, free states are fresh leaves requiring gradients and the
        /// forward sweep's predictions keep their graph, so inference can reuse them.
        /// Nothing the state holds is changed, except that a memory is created on first use.
        val apply:
          init: Initializer ->
            state: InitState -> ctx: InitContext -> leaves: bool -> InitResult
