namespace Hybrid
    
    /// Element-wise activation functions.
    [<RequireQualifiedAccess>]
    type Activation =
        | Identity
        | Relu
        | LeakyRelu
        | Gelu
        | Elu
        | Tanh
        | Sigmoid
        
        /// Applies the activation.
        member Apply: x: Tensor -> Tensor
        
        override ToString: unit -> string
        
        /// All activations, in a fixed order.
        static member All: Activation list
    
    /// The output term of the energy.
    [<RequireQualifiedAccess>]
    type Loss =
        
        /// 1/2 ||mu_L - y||^2 (Gaussian output; y clamped at the output).
        | SquaredError
        
        /// Cross-entropy of softmax(mu_L) against y (one-hot or probabilities).
        | CrossEntropy
        
        override ToString: unit -> string
    
    /// Scalings of a residual MLP (SPEC.md 1.5): `Sp` standard, `MuPC` depth-stable, `Ntp` neural tangent.
    [<RequireQualifiedAccess>]
    type Parameterisation =
        | Sp
        | MuPC
        | Ntp
        
        /// The scalings (a_1, a_hidden, a_L) for input dimension D, width N and L weight layers.
        member
          Scalings: inputDim: int * width: int * layers: int ->
                      float * float * float
        
        override ToString: unit -> string
    
    /// A convolutional layer of a `ConvNet`: output channels and whether a 2x2 max-pool follows.
    type ConvLayer =
        {
          Channels: int
          Pool: bool
        }
    
    /// Network architectures. Input shape and number of outputs come from the data.
    [<RequireQualifiedAccess>]
    type Architecture =
        
        /// Fully connected: hidden widths; h_l = act(W_l h_{l-1} + b_l), a linear output layer.
        | Mlp of widths: int list * activation: Activation
        
        /// Residual MLP with `layers` weight layers of width `width` (SPEC.md 1.5):
        /// z_1 = a_1 W_1 x, z_l = z_{l-1} + a_l W_l act(z_{l-1}), z_L = a_L W_L act(z_{L-1}).
        | ResidualMlp of
          width: int * layers: int * activation: Activation *
          parameterisation: Parameterisation
        
        /// Convolutional: 3x3 same-padding convolutions (each followed by the activation
        /// and an optional 2x2 max-pool), then fully connected layers.
        | ConvNet of
          convs: ConvLayer list * dense: int list * activation: Activation
        
        /// ResNet-18 for small images (28x28, 32x32): a 3x3 stem convolution of `width`
        /// channels (64 in the standard network), eight basic blocks (two 3x3 convolutions
        /// and a skip) in four stages of width, 2 width, 4 width and 8 width channels
        /// (stride 2 at the first block of stages 2-4, with a 1x1 projection on the skip),
        /// then global average pooling and a linear layer. Each of the ten blocks is one
        /// layer of the predictive coding network.
        | ResNet18 of width: int * activation: Activation
        
        /// A network of the user's own TorchSharp modules (`Network.ofModules`), by name.
        | Custom of name: string
        
        /// VGG-5 of the PCX benchmarks: four 3x3 convolutions of 128, 256, 512 and 512
        /// channels, each followed by the activation and a 2x2 max-pool, then a linear layer.
        static member Vgg5: activation: Activation -> Architecture
        
        /// VGG-7: six 3x3 convolutions (128, 128, 256, 256, 512, 512 channels; a 2x2 max-pool
        /// after every second), then a linear layer.
        static member Vgg7: activation: Activation -> Architecture
        
        /// The AlexNet-style network for 32x32x3 inputs used in the paper's CIFAR-10 experiment.
        static member AlexNet: activation: Activation -> Architecture
        
        /// The paper's 5-layer MLP (four hidden layers) of the given width.
        static member
          PaperMlp: width: int * activation: Activation -> Architecture
        
        override ToString: unit -> string
        
        /// Checks the architecture; the message names what is wrong.
        member Validate: unit -> unit
    
    /// How the weights of plain (non-residual) networks are drawn.
    [<RequireQualifiedAccess>]
    type WeightInit =
        
        /// PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (the paper's choice).
        | Default
        
        /// He: N(0, 2/fan_in), zero biases (variance-preserving for ReLU-like activations).
        | Kaiming
        
        /// LeCun: N(0, 1/fan_in), zero biases (variance-preserving for tanh near 0 and linear layers).
        | Lecun
        
        override ToString: unit -> string
    
    /// How a block computes mu = f(h).
    [<RequireQualifiedAccess>]
    type BlockKind =
        
        /// `residual? h : 0 + post(scale * (W pre(h) + b))`, image states flattened first.
        | Dense of
          pre: Activation * post: Activation * scale: float * residual: bool
        
        /// `pool?(post(conv3x3(h) + b))`, same padding, a 2x2 max-pool when `pool`.
        | Conv of post: Activation * pool: bool
        
        /// Any other TorchSharp module: one the user wrote, or a built-in composite (a
        /// ResNet basic block), by name.
        | Module of name: string
    
    /// One block f_l: a TorchSharp module from a batch of states h_l to the predictions
    /// mu_{l+1}, and the per-sample shape of its output.
    type Block =
        {
          Kind: BlockKind
          Module: TorchSharp.torch.nn.Module<Tensor, Tensor>
          
          /// Per-sample shape of the block's output.
          OutShape: int64 array
        }
        
        /// Applies the block to a batch.
        member Forward: h: Tensor -> Tensor
        
        /// The block's parameters by name: `weight` and `bias` for dense and conv blocks, a
        /// module's own names otherwise (checkpoints store them as `block{l}.{name}`).
        member Named: (string * TorchSharp.Modules.Parameter) list
        
        /// The block's parameters.
        member Parameters: TorchSharp.Modules.Parameter list
        
        /// The weight of a dense or conv block.
        member Weight: TorchSharp.Modules.Parameter
        
        /// The bias of a dense or conv block, if it has one.
        member Bias: TorchSharp.Modules.Parameter option
    
    /// A network: blocks f_0..f_{L-1}, its loss and where its tensors live. Owns its parameters.
    type Network =
        {
          Architecture: Architecture
          
          /// Per-sample input shape.
          InputShape: int64 array
          
          /// Number of outputs.
          Outputs: int
          Blocks: Block array
          Loss: Loss
          Device: Device
          Precision: Precision
        }
        interface System.IDisposable
        
        /// The plain forward pass: mu_L from x.
        member Forward: x: Tensor -> Tensor
        
        /// Per-sample shape of state l (0 = input, L = output).
        member StateShape: l: int -> int64 array
        
        /// L, the number of blocks (weight layers). Hidden layers are 1..L-1.
        member Depth: int
        
        /// Number of scalar parameters.
        member ParameterCount: int64
        
        /// All parameters in block order.
        member Parameters: TorchSharp.Modules.Parameter list
    
    module Network =

        /// "block i (name)", as messages name a block.
        val blockLabel: net: Network -> i: int -> string

        /// Refuses (InvalidOperationException) an output `mu` of block `i` without an autograd
        /// graph when its `input` requires grad or the block has trainable parameters: the
        /// block's forward ran under no_grad or detached its output, and `purpose` (inference,
        /// backpropagation) would train on a wrong gradient, or end the process in libtorch.
        val requireGraph: net: Network -> i: int -> input: Tensor -> mu: Tensor -> purpose: string -> unit

        /// The forward pass with `requireGraph` at every block: mu_L from x.
        val forwardChecked: net: Network -> x: Tensor -> purpose: string -> Tensor

        /// Builds a network for inputs of per-sample shape `inputShape` and `outputs`
        /// outputs, with parameters drawn from `seed` by `weightInit` (residual MLPs take
        /// theirs from the parameterisation).
        val createWith:
          weightInit: WeightInit ->
            architecture: Architecture ->
            loss: Loss ->
            inputShape: int64 array ->
            outputs: int ->
            precision: Precision -> device: Device -> seed: int64 -> Network
        
        /// A network of the user's own blocks: block l is any TorchSharp module from a batch
        /// of states h_l (per-sample shape `inputShape` for l = 0) to the predictions of the
        /// layer above; the last block's output is the network's output (its size is the
        /// number of outputs). The modules are moved to `device` and `precision`, and the
        /// shapes of the states are found by one forward pass of a zero sample. The network
        /// owns the modules from then on (disposing it disposes them).
        val ofModules:
          name: string ->
            modules: TorchSharp.torch.nn.Module<Tensor, Tensor> list ->
            loss: Loss ->
            inputShape: int64 array ->
            precision: Precision -> device: Device -> Network
        
        /// `createWith` PyTorch's default initialisation.
        val create:
          architecture: Architecture ->
            loss: Loss ->
            inputShape: int64 array ->
            outputs: int ->
            precision: Precision -> device: Device -> seed: int64 -> Network
        
        /// The output term of the energy, summed over the batch: 1/2 ||mu - y||^2 or
        /// cross-entropy of softmax(mu) against the target distribution y.
        val outputLoss: loss: Loss -> mu: Tensor -> y: Tensor -> Tensor
        
        /// Copies the parameter values of `source` into `target` (same architecture).
        val copyParameters: source: Network -> target: Network -> unit
