namespace Hybrid
    
    /// One way to initialise a layer.
    [<RequireQualifiedAccess>]
    type InitKind =
        
        /// Each unit drawn from N(mean, std^2).
        | Random of mean: float * std: float
        
        /// All zeros.
        | Zero
        
        /// The previous batch's final states (first batch, or a batch of another size: forward).
        | Keep
        
        /// The prediction of the layer below, computed bottom-up: all errors of these layers are 0.
        | Forward
        
        /// The mean final state of the previous batches' samples of the same class (Eq. 7).
        | StreamAverage
        
        /// Recall from a Hopfield-layer memory of the observation (Eq. 8), trained towards
        /// the inferred states after each batch (Eq. 9).
        | Memory of MemorySpec
        
        override ToString: unit -> string
    
    /// A contiguous range of layers initialised one way. `Last = None` runs to the top.
    type InitSegment =
        {
          Kind: InitKind
          Last: int option
        }
    
    /// An initializer: segments covering the free layers in order, from layer `Start`
    /// (1 for networks with a clamped input; 0 when the input h_0 is a free latent, as
    /// in generative networks). A single open segment covers every free layer.
    [<CustomEquality; NoComparison>]
    type Initializer =
        {
          Start: int
          Segments: InitSegment list
        }
        
        override Equals: other: obj -> bool
        
        override GetHashCode: unit -> int
        
        /// The kind used for hidden layer `l` (1-based) of a network with `hidden` hidden layers.
        member KindAt: l: int -> InitKind
        
        /// The canonical text form, e.g. `forward`, `forward[1..2] + avg[3..]`.
        override ToString: unit -> string
        
        /// True when some layer uses `kind` (compared by case).
        member Uses: test: (InitKind -> bool) -> bool
        
        /// Checks that the segments tile hidden layers 1..hidden (a clamped input).
        member Validate: hidden: int -> unit
        
        /// Checks that the segments tile the free layers `first`..`last` exactly.
        member Validate: firstFree: int * hidden: int -> unit
    
    module Init =

        /// N(mean, std^2) per unit.
        val random: mean: float -> std: float -> Initializer
        
        /// All zeros.
        val zero: Initializer
        
        /// The previous batch's final states.
        val keep: Initializer
        
        /// The forward sweep.
        val forward: Initializer
        
        /// The stream average (Eq. 7).
        val streamAverage: Initializer
        
        /// A Hopfield-layer memory per layer (Eq. 8).
        val memory: spec: MemorySpec -> Initializer
        
        /// `split m lower upper`: layers 1..m from `lower`, the rest from `upper`.
        val split:
          m: int -> lower: Initializer -> upper: Initializer -> Initializer
