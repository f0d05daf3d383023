namespace Hybrid
    
    /// A TorchSharp tensor.
    type Tensor = TorchSharp.torch.Tensor
    
    /// A TorchSharp device.
    type Device = TorchSharp.torch.Device
    
    /// A TorchSharp random generator.
    type Generator = TorchSharp.torch.Generator
    
    /// A TorchSharp element type.
    type ScalarType = TorchSharp.torch.ScalarType
    
    /// Which device to compute on. `Auto` picks CUDA when it is available, else the CPU.
    [<RequireQualifiedAccess>]
    type DeviceChoice =
        | Auto
        | Cpu
        | Cuda
        
        override ToString: unit -> string
    
    /// Floating-point precision of parameters and states.
    [<RequireQualifiedAccess>]
    type Precision =
        | Float32
        | Float64
        
        override ToString: unit -> string
        
        /// The TorchSharp scalar type.
        member ScalarType: TorchSharp.torch.ScalarType
    
    /// Process-wide runtime services.
    module Runtime =
        
        /// Loads the native libraries (see `Hybrid.Native`). Every entry point calls
        /// this before touching TorchSharp; calling it again is free.
        val init: unit -> unit
        
        /// True when a CUDA device can be used.
        val cudaAvailable: unit -> bool
        
        /// Resolves a device choice. `Cuda` without a CUDA device is an error; `Auto` falls back to the CPU.
        val device: choice: DeviceChoice -> TorchSharp.torch.Device
        
        /// Number of intra-op threads libtorch uses.
        val threads: unit -> int
        
        /// Sets the number of intra-op threads (values below 1 are ignored).
        val setThreads: n: int -> unit
        
        /// libtorch's version string.
        val libtorchVersion: unit -> string
        
        /// Returns memory that is no longer used: a full garbage collection with its
        /// finalizers, then glibc's `malloc_trim` (where there is one). Long runs call it
        /// once per epoch, so that their memory stays flat.
        val releaseMemory: unit -> unit
        
        /// Hybrid's version.
        val version: string
    
    /// Tensor-with-number arithmetic that is safe under garbage collection.
    /// TorchSharp turns a number into a native `Scalar` that has a finalizer; when
    /// the temporary is passed straight into a native call the collector may free it
    /// during that call (seen as "toDouble" errors under parallel load). These
    /// helpers hold the scalar with `use` until the call has returned. Hybrid's code
    /// uses them instead of `tensor * 0.5`-style operators.
    module Ops =

        /// a + b (TorchSharp's `+` passes a temporary alpha = 1).
        val plus: a: Tensor -> b: Tensor -> Tensor
        
        /// a - b.
        val minus: a: Tensor -> b: Tensor -> Tensor
        
        /// The sum of several tensors.
        val sum: ts: Tensor array -> Tensor
        
        /// t * v
        val mul: t: Tensor -> v: float -> Tensor
        
        /// t + v
        val add: t: Tensor -> v: float -> Tensor
        
        /// t / v
        val div: t: Tensor -> v: float -> Tensor
        
        /// 1/2 ||t||^2, summed over every element.
        val halfSquaredNorm: t: Tensor -> Tensor
        
        /// t > v, element-wise.
        val gt: t: Tensor -> v: float -> Tensor
        
        /// max(t, v), element-wise.
        val clampMin: t: Tensor -> v: float -> Tensor
        
        /// Leaky ReLU with the given negative slope.
        val leakyRelu: t: Tensor -> slope: float -> Tensor
        
        /// ELU with alpha = 1.
        val elu: t: Tensor -> Tensor
    
    /// Explicit random generators. Nothing in Hybrid uses torch's global seed, so
    /// runs are reproducible from their seed and tests can run in parallel.
    module Rng =
        
        /// A torch generator seeded with `seed` on `device`.
        val generator:
          seed: int64 ->
            device: TorchSharp.torch.Device -> TorchSharp.torch.Generator
        
        /// Derives a child seed from a seed and a stream name (stable across runs
        /// and platforms; FNV-1a over the name mixed with the seed by SplitMix64).
        val derive: seed: int64 -> stream: string -> int64
        
        /// A .NET random number generator derived from a seed and a stream name.
        val random: seed: int64 -> stream: string -> System.Random
    
    /// The tensor scope discipline: each step runs inside a dispose scope; values
    /// that must outlive it are moved out explicitly.
    module Scope =
        
        /// Runs `f` inside a fresh dispose scope; tensors created in it and not moved
        /// out are disposed when it ends. Use for steps that return .NET values.
        val run: f: (unit -> 'T) -> 'T
        
        /// Runs `f` inside a fresh dispose scope and moves the returned tensor out of it.
        val keep:
          f: (unit -> TorchSharp.torch.Tensor) -> TorchSharp.torch.Tensor
        
        /// Replaces a long-lived tensor: detaches the new value from every scope and
        /// disposes the old one.
        val replace:
          slot: byref<TorchSharp.torch.Tensor> ->
            value: TorchSharp.torch.Tensor -> unit
        
        /// Reads a scalar tensor as a float.
        val scalar: t: TorchSharp.torch.Tensor -> float
        
        /// True when two tensors are views of the same memory with the same layout (so
        /// they are equal element by element); a check of pointers, without reading data.
        val sameData: a: TorchSharp.torch.Tensor -> b: TorchSharp.torch.Tensor -> bool
