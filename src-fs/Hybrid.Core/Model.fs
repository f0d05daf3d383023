/// Networks as chains of blocks f_0..f_{L-1} (SPEC.md 1.1): block l maps the
/// state h_l to the prediction mu_{l+1} of the layer above. The same network is
/// trained by backpropagation (a plain forward pass) or by predictive coding.
namespace Hybrid

open System
open TorchSharp
open TorchSharp.Modules

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

    override this.ToString() =
        match this with
        | Identity -> "identity"
        | Relu -> "relu"
        | LeakyRelu -> "leaky_relu"
        | Gelu -> "gelu"
        | Elu -> "elu"
        | Tanh -> "tanh"
        | Sigmoid -> "sigmoid"

    /// All activations, in a fixed order.
    static member All = [ Identity; Relu; LeakyRelu; Gelu; Elu; Tanh; Sigmoid ]

    /// Applies the activation.
    member this.Apply(x: Tensor) : Tensor =
        match this with
        | Identity -> x
        | Relu -> torch.nn.functional.relu x
        | LeakyRelu -> Ops.leakyRelu x 0.01
        | Gelu -> torch.nn.functional.gelu x
        | Elu -> Ops.elu x
        | Tanh -> torch.tanh x
        | Sigmoid -> torch.sigmoid x

/// The output term of the energy.
[<RequireQualifiedAccess>]
type Loss =
    /// 1/2 ||mu_L - y||^2 (Gaussian output; y clamped at the output).
    | SquaredError
    /// Cross-entropy of softmax(mu_L) against y (one-hot or probabilities).
    | CrossEntropy

    override this.ToString() =
        match this with
        | SquaredError -> "mse"
        | CrossEntropy -> "ce"

/// Scalings of a residual MLP (SPEC.md 1.5): `Sp` standard, `MuPC` depth-stable, `Ntp` neural tangent.
[<RequireQualifiedAccess>]
type Parameterisation =
    | Sp
    | MuPC
    | Ntp

    override this.ToString() =
        match this with
        | Sp -> "sp"
        | MuPC -> "mupc"
        | Ntp -> "ntp"

    /// The scalings (a_1, a_hidden, a_L) for input dimension D, width N and L weight layers.
    member this.Scalings(inputDim: int, width: int, layers: int) =
        match this with
        | Sp -> 1.0, 1.0, 1.0
        | MuPC -> 1.0 / sqrt (float inputDim), 1.0 / sqrt (float width * float layers), 1.0 / float width
        | Ntp -> 1.0 / sqrt (float inputDim), 1.0 / sqrt (float width), 1.0 / sqrt (float width)

/// A convolutional layer of a `ConvNet`: output channels and whether a 2x2 max-pool follows.
type ConvLayer = { Channels: int; Pool: bool }

/// Network architectures. Input shape and number of outputs come from the data.
[<RequireQualifiedAccess>]
type Architecture =
    /// Fully connected: hidden widths; h_l = act(W_l h_{l-1} + b_l), a linear output layer.
    | Mlp of widths: int list * activation: Activation
    /// Residual MLP with `layers` weight layers of width `width` (SPEC.md 1.5):
    /// z_1 = a_1 W_1 x, z_l = z_{l-1} + a_l W_l act(z_{l-1}), z_L = a_L W_L act(z_{L-1}).
    | ResidualMlp of width: int * layers: int * activation: Activation * parameterisation: Parameterisation
    /// Convolutional: 3x3 same-padding convolutions (each followed by the activation
    /// and an optional 2x2 max-pool), then fully connected layers.
    | ConvNet of convs: ConvLayer list * dense: int list * activation: Activation
    /// ResNet-18 for small images (28x28, 32x32): a 3x3 stem convolution of 64 channels,
    /// eight basic blocks (two 3x3 convolutions and a skip) in four stages of 64, 128,
    /// 256 and 512 channels (stride 2 at the first block of stages 2-4, with a 1x1
    /// projection on the skip), then global average pooling and a linear layer. Each
    /// of the ten blocks is one layer of the predictive coding network.
    | ResNet18 of width: int * activation: Activation
    /// A network of the user's own TorchSharp modules (`Network.ofModules`), by name.
    | Custom of name: string

    /// VGG-5 of the PCX benchmarks: four 3x3 convolutions of 128, 256, 512 and 512
    /// channels, each followed by the activation and a 2x2 max-pool, then a linear layer.
    static member Vgg5(activation: Activation) =
        ConvNet([ for c in [ 128; 256; 512; 512 ] -> { Channels = c; Pool = true } ], [], activation)

    /// VGG-7: six 3x3 convolutions (128, 128, 256, 256, 512, 512 channels; a 2x2 max-pool
    /// after every second), then a linear layer.
    static member Vgg7(activation: Activation) =
        ConvNet([ for c in [ 128; 256; 512 ] do
                      yield { Channels = c; Pool = false }
                      yield { Channels = c; Pool = true } ], [], activation)

    /// The AlexNet-style network for 32x32x3 inputs used in the paper's CIFAR-10 experiment.
    static member AlexNet(activation: Activation) =
        ConvNet(
            [ { Channels = 64; Pool = true }
              { Channels = 192; Pool = true }
              { Channels = 384; Pool = false }
              { Channels = 256; Pool = false }
              { Channels = 256; Pool = true } ],
            [ 1024; 1024 ],
            activation)

    /// The paper's 5-layer MLP (four hidden layers) of the given width.
    static member PaperMlp(width: int, activation: Activation) = Mlp(List.replicate 4 width, activation)

    override this.ToString() =
        match this with
        | Mlp(ws, a) -> sprintf "mlp[%s] %O" (String.Join(",", ws)) a
        | ResidualMlp(w, l, a, p) -> sprintf "resmlp width %d, %d layers, %O, %O" w l a p
        | ConvNet(cs, ds, a) ->
            let c = cs |> List.map (fun c -> if c.Pool then sprintf "%dp" c.Channels else string c.Channels)
            sprintf "conv[%s] dense[%s] %O" (String.Join(",", c)) (String.Join(",", ds)) a
        | ResNet18(64, a) -> sprintf "resnet18 %O" a
        | ResNet18(w, a) -> sprintf "resnet18 width %d %O" w a
        | Custom name -> sprintf "custom '%s'" name

    /// Checks the architecture; the message names what is wrong.
    member this.Validate() =
        let positive what (v: int) = if v < 1 then invalidArg "architecture" (sprintf "%s must be at least 1, got %d" what v)
        match this with
        | Mlp(ws, _) -> ws |> List.iteri (fun i w -> positive (sprintf "width of hidden layer %d" (i + 1)) w)
        | ResidualMlp(w, l, _, _) ->
            positive "width" w
            if l < 3 then invalidArg "architecture" (sprintf "a residual MLP needs at least 3 weight layers (input, residual, output), got %d" l)
        | ConvNet(cs, ds, _) ->
            if cs.IsEmpty then invalidArg "architecture" "a conv net needs at least one convolution"
            cs |> List.iteri (fun i c -> positive (sprintf "channels of convolution %d" (i + 1)) c.Channels)
            ds |> List.iteri (fun i w -> positive (sprintf "width of dense layer %d" (i + 1)) w)
        | ResNet18(w, _) -> positive "width" w
        | Custom name -> if String.IsNullOrWhiteSpace name then invalidArg "architecture" "a custom network needs a name"

/// How the weights of plain (non-residual) networks are drawn.
[<RequireQualifiedAccess>]
type WeightInit =
    /// PyTorch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (the paper's choice).
    | Default
    /// He: N(0, 2/fan_in), zero biases (variance-preserving for ReLU-like activations).
    | Kaiming
    /// LeCun: N(0, 1/fan_in), zero biases (variance-preserving for tanh near 0 and linear layers).
    | Lecun

    override this.ToString() =
        match this with
        | Default -> "default"
        | Kaiming -> "kaiming"
        | Lecun -> "lecun"

/// How a block computes mu = f(h).
[<RequireQualifiedAccess>]
type BlockKind =
    /// `residual? h : 0 + post(scale * (W pre(h) + b))`, image states flattened first.
    | Dense of pre: Activation * post: Activation * scale: float * residual: bool
    /// `pool?(post(conv3x3(h) + b))`, same padding, a 2x2 max-pool when `pool`.
    | Conv of post: Activation * pool: bool
    /// Any other TorchSharp module: one the user wrote, or a built-in composite (a
    /// ResNet basic block), by name.
    | Module of name: string

/// The built-in blocks as TorchSharp modules. Parameters are read from the module at
/// every call, so that moving the module (`to`) moves what the block computes with.
module internal BlockModules =
    let private bias (m: torch.nn.Module) = match m.get_parameter "bias" with null -> null | b -> b :> Tensor

    type Dense(weight: Parameter, b: Parameter option, pre: Activation, post: Activation, scale: float, residual: bool) as this =
        inherit torch.nn.Module<Tensor, Tensor>("dense")
        do
            this.register_parameter("weight", weight)
            b |> Option.iter (fun b -> this.register_parameter("bias", b))

        override this.forward(h: Tensor) =
            let input = if h.dim () > 2L then h.flatten(1L) else h
            let z = torch.nn.functional.linear(pre.Apply input, this.get_parameter "weight", bias this)
            let z = if scale = 1.0 then z else Ops.mul z scale
            let y = post.Apply z
            if residual then Ops.plus input y else y

    type Conv(weight: Parameter, b: Parameter, post: Activation, pool: bool, stride: int64) as this =
        inherit torch.nn.Module<Tensor, Tensor>("conv")
        do
            this.register_parameter("weight", weight)
            this.register_parameter("bias", b)

        override this.forward(h: Tensor) =
            let w = this.get_parameter "weight"
            let pad = (w.shape[2] - 1L) / 2L
            let z = torch.nn.functional.conv2d(h, w, bias this, strides = [| stride; stride |], padding = [| pad; pad |])
            let y = post.Apply z
            if pool then torch.nn.functional.max_pool2d(y, 2L, 2L) else y

    /// ResNet's basic block: act(conv2(act(conv1 h)) + skip h), the skip a strided 1x1
    /// projection when the shape changes.
    type Basic(conv1: Conv, conv2: Conv, projection: Conv option, act: Activation) as this =
        inherit torch.nn.Module<Tensor, Tensor>("basic")
        do
            this.register_module("conv1", conv1)
            this.register_module("conv2", conv2)
            projection |> Option.iter (fun p -> this.register_module("projection", p))

        override _.forward(h: Tensor) =
            let y = conv2.forward (conv1.forward h)
            let skip = match projection with Some p -> p.forward h | None -> h
            act.Apply(Ops.plus y skip)

    /// Global average pooling, then a linear layer.
    type Head(weight: Parameter, b: Parameter) as this =
        inherit torch.nn.Module<Tensor, Tensor>("head")
        do
            this.register_parameter("weight", weight)
            this.register_parameter("bias", b)

        override this.forward(h: Tensor) =
            let pooled = if h.dim () > 2L then h.mean([| 2L; 3L |]) else h
            torch.nn.functional.linear(pooled, this.get_parameter "weight", bias this)

/// One block f_l: a TorchSharp module from a batch of states h_l to the predictions
/// mu_{l+1}, and the per-sample shape of its output.
type Block =
    { Kind: BlockKind
      Module: torch.nn.Module<Tensor, Tensor>
      /// Per-sample shape of the block's output.
      OutShape: int64[] }

    /// Applies the block to a batch.
    member this.Forward(h: Tensor) : Tensor = this.Module.forward h

    /// The block's parameters by name: `weight` and `bias` for dense and conv blocks, a
    /// module's own names otherwise (checkpoints store them as `block{l}.{name}`).
    member this.Named: (string * Parameter) list =
        [ for struct (name, p) in this.Module.named_parameters() -> name, p ]

    /// The block's parameters.
    member this.Parameters: Parameter list = this.Named |> List.map snd

    /// The weight of a dense or conv block.
    member this.Weight: Parameter =
        match this.Module.get_parameter "weight" with
        | null -> invalidOp (sprintf "a %A block has no single weight" this.Kind)
        | w -> w

    /// The bias of a dense or conv block, if it has one.
    member this.Bias: Parameter option =
        match this.Module.get_parameter "bias" with
        | null -> None
        | b -> Some b

/// Which live network of the user's own modules (`Network.ofModules`) holds each module
/// and parameter: a module in two networks would be trained by both.
module internal Owners =
    let private table = System.Runtime.CompilerServices.ConditionalWeakTable<obj, string>()

    /// The module itself, its submodules and its parameters (each once).
    let parts (m: torch.nn.Module) : obj list =
        let seen = Collections.Generic.HashSet<obj>(HashIdentity.Reference)
        [ for o in Seq.append (Seq.append [ box m ] (m.modules () |> Seq.map box)) (m.parameters () |> Seq.map box) do
              if seen.Add o then yield o ]

    let ownerOf (o: obj) =
        match table.TryGetValue o with
        | true, owner -> Some owner
        | _ -> None

    let claim (owner: string) (o: obj) = table.AddOrUpdate(o, owner)
    let release (o: obj) = table.Remove o |> ignore

/// Finds what a user's module computes with but did not register (a module, parameter or
/// trainable tensor held in a field): it would be left out of training, checkpoints and
/// the parameter count.
module internal Registration =
    let private torchAssembly = typeof<torch.nn.Module>.Assembly

    /// "module 'name'" or "parameter of shape [..]", for messages.
    let describe (o: obj) =
        match o with
        | :? Parameter as p -> sprintf "a parameter of shape [%s]" (String.Join(", ", p.shape))
        | :? torch.nn.Module as m -> sprintf "module '%s'" (m.GetName())
        | o -> string o

    /// A field's name as the source spells it (auto-properties' backing fields included).
    let private fieldName (f: Reflection.FieldInfo) =
        let n = f.Name
        if n.StartsWith "<" && n.Contains ">" then n.Substring(1, n.IndexOf '>' - 1) else n

    /// Fields set on `m` by classes outside TorchSharp (TorchSharp's own modules register theirs).
    let private fields (m: torch.nn.Module) =
        let flags = Reflection.BindingFlags.Instance ||| Reflection.BindingFlags.Public ||| Reflection.BindingFlags.NonPublic ||| Reflection.BindingFlags.DeclaredOnly
        let rec up (t: Type) =
            [ if not (isNull t) && t.Assembly <> torchAssembly then
                  yield! t.GetFields flags
                  yield! up t.BaseType ]
        up (m.GetType())

    /// Whether a collection of this type can hold modules or tensors (not a buffer of numbers).
    let private mayHold (t: Type) =
        let element =
            if t.IsArray then Some(t.GetElementType())
            else
                t.GetInterfaces()
                |> Array.append (if t.IsInterface then [| t |] else [||])
                |> Array.tryFind (fun i -> i.IsGenericType && i.GetGenericTypeDefinition() = typedefof<Collections.Generic.IEnumerable<_>>)
                |> Option.map (fun i -> i.GetGenericArguments()[0])
        match element with
        | Some e -> e = typeof<obj> || typeof<torch.nn.Module>.IsAssignableFrom e || typeof<torch.Tensor>.IsAssignableFrom e
        | None -> false

    /// Raises when `block` (named `label` in messages) or one of its submodules holds,
    /// in a field, a module, a parameter or a tensor that requires grad and that the
    /// block did not register.
    let check (label: string) (block: torch.nn.Module) =
        let registered = Collections.Generic.HashSet<obj>(HashIdentity.Reference)
        registered.Add(box block) |> ignore
        for m in block.modules () do registered.Add(box m) |> ignore
        for p in block.parameters () do registered.Add(box p) |> ignore
        for struct (_, b) in block.named_buffers () do registered.Add(box b) |> ignore
        let fix = "call RegisterComponents() at the end of its constructor (or register_module / register_parameter; nn.ModuleList for lists)"
        let refuse (owner: torch.nn.Module) (field: string) (what: string) =
            let where = if obj.ReferenceEquals(owner, block) then "" else sprintf " (in its submodule '%s')" (owner.GetName())
            invalidArg "modules"
                (sprintf "%s%s holds %s in field '%s' that it did not register: it would be left out of training, checkpoints and the parameter count; %s"
                    label where what field fix)
        let inspect (owner: torch.nn.Module) (field: string) (v: obj) =
            match v with
            | :? Parameter as p when not (registered.Contains(box p)) -> refuse owner field (describe p)
            | :? torch.nn.Module as sub when not (registered.Contains(box sub)) -> refuse owner field (describe sub)
            | :? torch.Tensor as t when not (t :? Parameter) && not t.IsInvalid && t.requires_grad && not (registered.Contains(box t)) ->
                refuse owner field (sprintf "a tensor of shape [%s] that requires grad (not a Parameter)" (String.Join(", ", t.shape)))
            | _ -> ()
        for m in Seq.append [ block ] (block.modules ()) do
            for f in fields m do
                match f.GetValue m with
                | null -> ()
                | :? torch.Tensor as t -> inspect m (fieldName f) t
                | :? torch.nn.Module as sub -> inspect m (fieldName f) sub
                | :? string -> ()
                | :? Collections.IEnumerable as items when mayHold f.FieldType ->
                    let mutable i = 0
                    for item in items do
                        match item with
                        | :? torch.Tensor
                        | :? torch.nn.Module -> inspect m (sprintf "%s[%d]" (fieldName f) i) item
                        | _ -> ()
                        i <- i + 1
                | _ -> ()

/// A network: blocks f_0..f_{L-1}, its loss and where its tensors live. Owns its parameters.
type Network =
    { Architecture: Architecture
      /// Per-sample input shape.
      InputShape: int64[]
      /// Number of outputs.
      Outputs: int
      Blocks: Block[]
      Loss: Loss
      Device: Device
      Precision: Precision }

    /// L, the number of blocks (weight layers). Hidden layers are 1..L-1.
    member this.Depth = this.Blocks.Length

    /// All parameters in block order.
    member this.Parameters: Parameter list = this.Blocks |> Array.toList |> List.collect (fun b -> b.Parameters)

    /// Per-sample shape of state l (0 = input, L = output).
    member this.StateShape(l: int) = if l = 0 then this.InputShape else this.Blocks[l - 1].OutShape

    /// The plain forward pass: mu_L from x.
    member this.Forward(x: Tensor) : Tensor = this.Blocks |> Array.fold (fun h b -> b.Forward h) x

    /// Number of scalar parameters.
    member this.ParameterCount = this.Parameters |> List.sumBy (fun p -> p.numel ())

    interface IDisposable with
        member this.Dispose() =
            for b in this.Blocks do
                for o in Owners.parts b.Module do
                    Owners.release o
            for p in this.Parameters do
                p.Dispose()
            for b in this.Blocks do
                b.Module.Dispose()

module Network =
    /// "block i (name)", as messages name a block.
    let blockLabel (net: Network) (i: int) = sprintf "block %d (%s)" i (net.Blocks[i].Module.GetName())

    let private noGraph (label: string) (purpose: string) =
        sprintf "%s's output has no autograd graph to its input or parameters (its forward ran under no_grad or detached its output): %s needs its gradient" label purpose

    /// Refuses (InvalidOperationException) an output `mu` of block `i` without an autograd
    /// graph when its `input` requires grad or the block has trainable parameters: the
    /// block's forward ran under no_grad or detached its output, and `purpose` (inference,
    /// backpropagation) would train on a wrong gradient, or end the process in libtorch.
    let requireGraph (net: Network) (i: int) (input: Tensor) (mu: Tensor) (purpose: string) =
        if not mu.requires_grad && (input.requires_grad || net.Blocks[i].Parameters |> List.exists (fun p -> p.requires_grad)) then
            invalidOp (noGraph (blockLabel net i) purpose)

    /// The forward pass with `requireGraph` at every block: mu_L from x.
    let forwardChecked (net: Network) (x: Tensor) (purpose: string) : Tensor =
        net.Blocks |> Array.indexed |> Array.fold (fun h (i, b) -> let mu = b.Forward h in requireGraph net i h mu purpose; mu) x

    let private param (t: Tensor) = (new Parameter(t, true)).DetachFromDisposeScope() :?> Parameter

    /// An uninitialised tensor for parameters. A failed allocation is an error that names
    /// the tensor's size (libtorch's own random constructors hand back an unusable tensor
    /// instead, which ends the process at its first use).
    let private allocate (dtype: ScalarType) (device: Device) (shape: int64[]) =
        try torch.empty(shape, dtype = dtype, device = device)
        with :? System.Runtime.InteropServices.ExternalException as e ->
            let element = if dtype = ScalarType.Float64 then 8.0 else 4.0
            let gib = (shape |> Array.fold (fun a d -> a * float d) element) / 1073741824.0
            invalidArg "architecture"
                (sprintf "the network's parameters do not fit in memory: a [%s] %O tensor (%.1f GiB) cannot be allocated (%s); use a smaller network"
                    (String.Join("; ", shape)) dtype gib ((e.Message.Split('\n')[0]).Trim()))

    /// Kaiming-uniform (PyTorch's default): U(-1/sqrt(fan_in), 1/sqrt(fan_in)). The draw is
    /// torch.rand's (uniform_ on a fresh tensor), value for value.
    let private uniform (g: Generator) (dtype: ScalarType) (device: Device) (fanIn: int64) (shape: int64[]) =
        let bound = 1.0 / sqrt (float fanIn)
        Ops.add (Ops.mul ((allocate dtype device shape).uniform_(0.0, 1.0, g)) (2.0 * bound)) (-bound)

    /// N(0, 1) draws: torch.randn's (normal_ on a fresh tensor), value for value.
    let private gaussian (g: Generator) (dtype: ScalarType) (device: Device) (shape: int64[]) =
        (allocate dtype device shape).normal_(0.0, 1.0, g)

    /// How a dense layer's parameters are drawn: `Plain` by the weight initialisation
    /// (weight and bias), `Gaussian` N(0,1) weights (muPC and NTP).
    [<RequireQualifiedAccess>]
    type private Draw =
        | Plain
        | Gaussian

    /// A dense block to build: `residual? h : 0 + post(scale * (W pre(h) + b))`.
    type private Dense =
        { Inputs: int64
          Outputs: int64
          Pre: Activation
          Post: Activation
          Scale: float
          Residual: bool
          /// Whether the block keeps a bias (plain draws always draw one).
          Bias: bool
          Draw: Draw }

    /// A plain dense layer of an MLP or a conv net's head: a bias, the activation after.
    let private plainDense (inputs: int64) (outputs: int64) (post: Activation) =
        { Inputs = inputs; Outputs = outputs; Pre = Activation.Identity; Post = post; Scale = 1.0; Residual = false; Bias = true; Draw = Draw.Plain }

    /// Draws parameters in a fixed order from one generator, on the CPU, then moves them to `device`.
    type private Drawer(weightInit: WeightInit, g: Generator, dtype: ScalarType, device: Device) =
        member _.Param(t: Tensor) = param (t.``to``(device))

        /// Weight and bias of a plain layer with fan-in `fanIn`, by the weight initialisation.
        member _.Plain(fanIn: int64, shape: int64[]) =
            match weightInit with
            | WeightInit.Default -> uniform g dtype torch.CPU fanIn shape, uniform g dtype torch.CPU fanIn [| shape[0] |]
            | WeightInit.Kaiming -> Ops.mul (gaussian g dtype torch.CPU shape) (sqrt (2.0 / float fanIn)), torch.zeros([| shape[0] |], dtype = dtype)
            | WeightInit.Lecun -> Ops.mul (gaussian g dtype torch.CPU shape) (sqrt (1.0 / float fanIn)), torch.zeros([| shape[0] |], dtype = dtype)

        member this.Dense(d: Dense) =
            let w, b =
                match d.Draw with
                | Draw.Gaussian -> gaussian g dtype torch.CPU [| d.Outputs; d.Inputs |], null
                | Draw.Plain -> this.Plain(d.Inputs, [| d.Outputs; d.Inputs |])
            let bias = if d.Bias then Some(this.Param b) else None
            { Kind = BlockKind.Dense(d.Pre, d.Post, d.Scale, d.Residual)
              Module = new BlockModules.Dense(this.Param w, bias, d.Pre, d.Post, d.Scale, d.Residual)
              OutShape = [| d.Outputs |] }

        /// A k x k convolution with a bias (same padding, the given stride), drawn like a plain layer.
        member this.Conv(inC: int64, outC: int64, k: int64, post: Activation, pool: bool, stride: int64) =
            let weight, bias = this.Plain(inC * k * k, [| outC; inC; k; k |])
            new BlockModules.Conv(this.Param weight, this.Param bias, post, pool, stride)

    /// Dense layers through `sizes` (input, hidden widths, outputs), `act` after each but the last.
    let private denseChain (draw: Drawer) (sizes: int64 list) (act: Activation) =
        sizes
        |> List.pairwise
        |> List.mapi (fun i (a, b) -> draw.Dense(plainDense a b (if i = sizes.Length - 2 then Activation.Identity else act)))

    /// The residual MLP of SPEC.md 1.5 with the parameterisation's scalings (no biases).
    let private residualBlocks (draw: Drawer) (inputSize: int64) (outputs: int) (width: int) (layers: int) (act: Activation) (p: Parameterisation) =
        let a1, ah, aL = p.Scalings(int inputSize, width, layers)
        let how = if p = Parameterisation.Sp then Draw.Plain else Draw.Gaussian
        let n = int64 width
        let block inputs outputs pre scale residual =
            draw.Dense { Inputs = inputs; Outputs = outputs; Pre = pre; Post = Activation.Identity; Scale = scale; Residual = residual; Bias = false; Draw = how }
        [ yield block inputSize n Activation.Identity a1 false
          for _ in 2 .. layers - 1 do
              yield block n n act ah true
          yield block n (int64 outputs) act aL false ]

    /// 3x3 same convolutions (each with the activation and an optional 2x2 max-pool), then dense layers.
    let private convBlocks (draw: Drawer) (inputShape: int64[]) (outputs: int) (convs: ConvLayer list) (denses: int list) (act: Activation) =
        if inputShape.Length <> 3 then
            invalidArg "architecture" (sprintf "a conv net needs image inputs [channels; height; width], got a shape of rank %d" inputShape.Length)
        let conv (c, h, w) (cl: ConvLayer) =
            let outC = int64 cl.Channels
            if cl.Pool && (h < 2L || w < 2L) then invalidArg "architecture" (sprintf "input %dx%d is too small for another 2x2 pool" h w)
            let m = draw.Conv(c, outC, 3L, act, cl.Pool, 1L)
            let h, w = if cl.Pool then h / 2L, w / 2L else h, w
            { Kind = BlockKind.Conv(act, cl.Pool); Module = m; OutShape = [| outC; h; w |] }, (outC, h, w)
        let blocks, (c, h, w) = convs |> List.mapFold conv (inputShape[0], inputShape[1], inputShape[2])
        blocks @ denseChain draw ((c * h * w) :: (denses |> List.map int64) @ [ int64 outputs ]) act

    /// ResNet-18 for small images (see `Architecture.ResNet18`).
    let private resnetBlocks (draw: Drawer) (inputShape: int64[]) (outputs: int) (width: int) (act: Activation) =
        if inputShape.Length <> 3 then
            invalidArg "architecture" (sprintf "resnet18 needs image inputs [channels; height; width], got a shape of rank %d" inputShape.Length)
        let out (n: int64) (stride: int64) = (n - 1L) / stride + 1L
        let w = int64 width
        let stem = draw.Conv(inputShape[0], w, 3L, act, false, 1L)
        let first = { Kind = BlockKind.Conv(act, false); Module = stem; OutShape = [| w; inputShape[1]; inputShape[2] |] }
        let basic (c, h, w) (outC: int64, stride: int64) =
            let conv1 = draw.Conv(c, outC, 3L, act, false, stride)
            let conv2 = draw.Conv(outC, outC, 3L, Activation.Identity, false, 1L)
            let projection = if stride <> 1L || c <> outC then Some(draw.Conv(c, outC, 1L, Activation.Identity, false, stride)) else None
            let h, w = out h stride, out w stride
            { Kind = BlockKind.Module "basic"; Module = new BlockModules.Basic(conv1, conv2, projection, act); OutShape = [| outC; h; w |] }, (outC, h, w)
        let stages = [ w, 1L; w, 1L; 2L * w, 2L; 2L * w, 1L; 4L * w, 2L; 4L * w, 1L; 8L * w, 2L; 8L * w, 1L ]
        let blocks, (c, _, _) = stages |> List.mapFold basic (w, inputShape[1], inputShape[2])
        let weight, bias = draw.Plain(c, [| int64 outputs; c |])
        let head = { Kind = BlockKind.Module "head"; Module = new BlockModules.Head(draw.Param weight, draw.Param bias); OutShape = [| int64 outputs |] }
        first :: blocks @ [ head ]

    /// Builds a network for inputs of per-sample shape `inputShape` and `outputs`
    /// outputs, with parameters drawn from `seed` by `weightInit` (residual MLPs take
    /// theirs from the parameterisation).
    let createWith (weightInit: WeightInit) (architecture: Architecture) (loss: Loss) (inputShape: int64[]) (outputs: int) (precision: Precision) (device: Device) (seed: int64) : Network =
        Runtime.init ()
        architecture.Validate()
        match architecture, weightInit with
        | Architecture.ResidualMlp _, (WeightInit.Kaiming | WeightInit.Lecun) ->
            invalidArg "weightInit" "a residual MLP's initialisation is set by its parameterisation (sp, mupc, ntp); leave the weight initialisation at default"
        | _ -> ()
        if outputs < 1 then invalidArg "outputs" (sprintf "the network needs at least 1 output, got %d" outputs)
        use _ = torch.NewDisposeScope()
        use g = Rng.generator seed torch.CPU
        let draw = Drawer(weightInit, g, precision.ScalarType, device)
        let inputSize = inputShape |> Array.fold (*) 1L
        let blocks =
            match architecture with
            | Architecture.Mlp(widths, act) -> denseChain draw (inputSize :: (widths |> List.map int64) @ [ int64 outputs ]) act
            | Architecture.ResidualMlp(width, layers, act, p) -> residualBlocks draw inputSize outputs width layers act p
            | Architecture.ConvNet(convs, denses, act) -> convBlocks draw inputShape outputs convs denses act
            | Architecture.ResNet18(width, act) -> resnetBlocks draw inputShape outputs width act
            | Architecture.Custom name ->
                invalidArg "architecture" (sprintf "the custom network '%s' is built from its modules (Network.ofModules), not from a configuration" name)
        { Architecture = architecture
          InputShape = inputShape
          Outputs = outputs
          Blocks = Array.ofList blocks
          Loss = loss
          Device = device
          Precision = precision }

    /// A network of the user's own blocks: block l is any TorchSharp module from a batch
    /// of states h_l (per-sample shape `inputShape` for l = 0) to the predictions of the
    /// layer above; the last block's output is the network's output (its size is the
    /// number of outputs). The modules are moved to `device` and `precision`, and the
    /// shapes of the states are found by one forward pass of a zero sample. The network
    /// owns the modules from then on (disposing it disposes them).
    let ofModules (name: string) (modules: torch.nn.Module<Tensor, Tensor> list) (loss: Loss) (inputShape: int64[]) (precision: Precision) (device: Device) : Network =
        Runtime.init ()
        if String.IsNullOrWhiteSpace name then invalidArg "name" "a custom network needs a name"
        if modules.IsEmpty then invalidArg "modules" "a network needs at least one block"
        if modules |> List.exists isNull then invalidArg "modules" "a block is null"
        if inputShape.Length = 0 || inputShape |> Array.exists (fun d -> d < 1L) then
            invalidArg "inputShape" (sprintf "the input shape must have positive sizes, got [%s]" (String.Join(", ", inputShape)))
        // Before anything moves or runs: every module and parameter belongs to this network
        // only, and the blocks register what they compute with (checked on the fields the
        // constructors set, before a forward pass can cache tensors in fields).
        let parts = modules |> List.map Owners.parts
        modules
        |> List.iteri (fun i m ->
            let label = sprintf "block %d (%s)" i (m.GetName())
            for o in parts[i] do
                match Owners.ownerOf o with
                | Some owner ->
                    invalidArg "modules"
                        (sprintf "%s: %s is already part of %s: a module belongs to one network at a time (both would train the same weights); build new modules for this network, or dispose the other network first"
                            label (Registration.describe o) owner)
                | None -> ()
                for j in 0 .. i - 1 do
                    if parts[j] |> List.exists (fun p -> obj.ReferenceEquals(p, o)) then
                        invalidArg "modules"
                            (sprintf "%s: %s is also part of block %d: each block needs modules and parameters of its own" label (Registration.describe o) j)
            Registration.check label m)
        for m in modules do
            m.``to``(device) |> ignore
            m.``to``(precision.ScalarType) |> ignore
        // One probe sample through the chain (values from -1 to 1, so that an in-place
        // activation shows): the shapes of the states, and two checks that would otherwise
        // surface mid-inference, or end the process inside libtorch: each block must leave
        // its input as it was (states are kept and compared), and its output must carry an
        // autograd graph to its input (a free state) or to its trainable parameters.
        let shapes =
            use _ = torch.NewDisposeScope()
            let step (i, h: Tensor) (m: torch.nn.Module<Tensor, Tensor>) =
                let label = sprintf "block %d (%s)" i (m.GetName())
                let before = h.detach().clone()
                let next =
                    try m.forward h
                    with e ->
                        invalidArg "modules"
                            (sprintf "%s cannot take states of shape [%s]: %s" label (String.Join(", ", h.shape[1..])) (e.Message.Split('\n')[0]))
                if not (h.detach().allclose(before, rtol = 0.0, atol = 0.0, equal_nan = true)) then
                    invalidArg "modules" (sprintf "%s wrote into its input in place: its input is a state of the network and must stay as it is (use tanh rather than tanh_, or copy it first)" label)
                let trainable = m.parameters () |> Seq.exists (fun p -> p.requires_grad)
                if not next.requires_grad && (h.requires_grad || trainable) then
                    invalidArg "modules" (noGraph label "inference")
                // The next block's input: a free state, as in inference (not a leaf, so that an
                // in-place write is seen by the comparison rather than refused by autograd).
                let state = Ops.mul (next.detach().requires_grad_(true)) 1.0
                next.shape[1..], (i + 1, state)
            let count = Array.fold (*) 1L inputShape
            let probe = torch.linspace(-1.0, 1.0, count, dtype = precision.ScalarType, device = device).reshape(Array.append [| 1L |] inputShape)
            modules |> List.mapFold step (0, probe) |> fst
        let blocks =
            [| for m, shape in List.zip modules shapes -> { Kind = BlockKind.Module(m.GetName()); Module = m; OutShape = shape } |]
        let outputs = blocks[blocks.Length - 1].OutShape
        if outputs.Length <> 1 then
            invalidArg "modules" (sprintf "the last block must output a vector per sample (the network's outputs), got shape [%s]" (String.Join(", ", outputs)))
        blocks |> Array.iteri (fun i b -> for o in Owners.parts b.Module do Owners.claim (sprintf "block %d of network '%s'" i name) o)
        { Architecture = Architecture.Custom name
          InputShape = inputShape
          Outputs = int outputs[0]
          Blocks = blocks
          Loss = loss
          Device = device
          Precision = precision }

    /// `createWith` PyTorch's default initialisation.
    let create (architecture: Architecture) (loss: Loss) (inputShape: int64[]) (outputs: int) (precision: Precision) (device: Device) (seed: int64) : Network =
        createWith WeightInit.Default architecture loss inputShape outputs precision device seed

    /// The output term of the energy, summed over the batch: 1/2 ||mu - y||^2 or
    /// cross-entropy of softmax(mu) against the target distribution y.
    let outputLoss (loss: Loss) (mu: Tensor) (y: Tensor) : Tensor =
        match loss with
        | Loss.SquaredError -> Ops.halfSquaredNorm (Ops.minus mu y)
        | Loss.CrossEntropy -> -(y * torch.nn.functional.log_softmax(mu, 1L)).sum()

    /// Copies the parameter values of `source` into `target` (same architecture).
    let copyParameters (source: Network) (target: Network) =
        use _ = torch.no_grad ()
        for s, t in List.zip source.Parameters target.Parameters do
            t.copy_(s) |> ignore
