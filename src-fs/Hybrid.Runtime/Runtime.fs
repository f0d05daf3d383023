/// Runtime services: native loading, device and precision selection, explicit
/// random generators, and the tensor scope discipline the rest of the code follows.
namespace Hybrid

open System
open System.Runtime.InteropServices
open TorchSharp

/// A TorchSharp tensor.
type Tensor = torch.Tensor
/// A TorchSharp device.
type Device = torch.Device
/// A TorchSharp random generator.
type Generator = torch.Generator
/// A TorchSharp element type.
type ScalarType = torch.ScalarType

/// Which device to compute on. `Auto` picks CUDA when it is available, else the CPU.
[<RequireQualifiedAccess>]
type DeviceChoice =
    | Auto
    | Cpu
    | Cuda

    override this.ToString() =
        match this with
        | Auto -> "auto"
        | Cpu -> "cpu"
        | Cuda -> "cuda"

/// Floating-point precision of parameters and states.
[<RequireQualifiedAccess>]
type Precision =
    | Float32
    | Float64

    override this.ToString() =
        match this with
        | Float32 -> "float32"
        | Float64 -> "float64"

    /// The TorchSharp scalar type.
    member this.ScalarType =
        match this with
        | Float32 -> torch.ScalarType.Float32
        | Float64 -> torch.ScalarType.Float64

/// Process-wide runtime services.
module Runtime =
    /// Loads the native libraries (see `Hybrid.Native`). Every entry point calls
    /// this before touching TorchSharp; calling it again is free.
    let init () = Native.ensureLoaded () |> ignore

    /// True when a CUDA device can be used.
    let cudaAvailable () =
        init ()
        try torch.cuda.is_available () with _ -> false

    /// Resolves a device choice. `Cuda` without a CUDA device is an error; `Auto` falls back to the CPU.
    let device (choice: DeviceChoice) : torch.Device =
        init ()
        match choice with
        | DeviceChoice.Cpu -> torch.CPU
        | DeviceChoice.Cuda ->
            if cudaAvailable () then torch.CUDA
            else invalidArg "device" "device 'cuda' was requested but no CUDA device is available (this build ships the CPU natives of libtorch; see README, 'CUDA')"
        | DeviceChoice.Auto -> if cudaAvailable () then torch.CUDA else torch.CPU

    /// Number of intra-op threads libtorch uses.
    let threads () = init (); torch.get_num_threads ()

    /// Sets the number of intra-op threads (values below 1 are ignored).
    let setThreads (n: int) = init (); if n >= 1 then torch.set_num_threads n

    /// libtorch's version string.
    let libtorchVersion () = init (); torch.__version__

    let mutable private trimmable = RuntimeInformation.IsOSPlatform OSPlatform.Linux

    /// Returns memory that is no longer used: a full garbage collection with its
    /// finalizers (TorchSharp objects that were not disposed free their native memory
    /// there), then glibc's `malloc_trim`, which hands free pages back to the system.
    /// Long runs call it once per epoch, so that their memory stays flat.
    let releaseMemory () =
        GC.Collect()
        GC.WaitForPendingFinalizers()
        // Aggressive: compacts and hands the heap's free space back (the first epochs
        // otherwise keep their peak for a while).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, true, true)
        if trimmable then
            try Native.mallocTrim 0un |> ignore
            with :? EntryPointNotFoundException | :? DllNotFoundException -> trimmable <- false

    /// Hybrid's version.
    let version =
        let v = typeof<DeviceChoice>.Assembly.GetName().Version
        sprintf "%d.%d.%d" v.Major v.Minor v.Build

/// Tensor-with-number arithmetic that is safe under garbage collection.
/// TorchSharp turns a number into a native `Scalar` that has a finalizer; when
/// the temporary is passed straight into a native call the collector may free it
/// during that call (seen as "toDouble" errors under parallel load). These
/// helpers hold the scalar with `use` until the call has returned. Hybrid's code
/// uses them instead of `tensor * 0.5`-style operators.
module Ops =
    // Process-lifetime scalars: rooted, so never finalized.
    let private one = lazy ((1.0).ToScalar())
    let private minusOne = lazy ((-1.0).ToScalar())

    /// a + b (TorchSharp's `+` passes a temporary alpha = 1).
    let plus (a: Tensor) (b: Tensor) : Tensor = a.add(b, one.Value)

    /// a - b.
    let minus (a: Tensor) (b: Tensor) : Tensor = a.add(b, minusOne.Value)

    /// The sum of several tensors.
    let sum (ts: Tensor[]) : Tensor = Array.reduce plus ts

    /// t * v
    let mul (t: Tensor) (v: float) : Tensor =
        use s = v.ToScalar()
        t.mul(s)

    /// t + v
    let add (t: Tensor) (v: float) : Tensor =
        use s = v.ToScalar()
        t.add(s)

    /// t / v
    let div (t: Tensor) (v: float) : Tensor =
        use s = v.ToScalar()
        t.div(s)

    /// 1/2 ||t||^2, summed over every element.
    let halfSquaredNorm (t: Tensor) : Tensor = mul (t.square().sum()) 0.5

    /// t > v, element-wise.
    let gt (t: Tensor) (v: float) : Tensor =
        use s = v.ToScalar()
        t.gt(s)

    /// max(t, v), element-wise.
    let clampMin (t: Tensor) (v: float) : Tensor =
        use s = v.ToScalar()
        t.clamp_min(s)

    /// Leaky ReLU with the given negative slope.
    let leakyRelu (t: Tensor) (slope: float) : Tensor =
        use s = slope.ToScalar()
        t.leaky_relu(s)

    /// ELU with alpha = 1.
    let elu (t: Tensor) : Tensor =
        use one = (1.0).ToScalar()
        t.elu(one, one, one)

/// Explicit random generators. Nothing in Hybrid uses torch's global seed, so
/// runs are reproducible from their seed and tests can run in parallel.
module Rng =
    /// A torch generator seeded with `seed` on `device`.
    let generator (seed: int64) (device: torch.Device) : torch.Generator =
        Runtime.init ()
        new torch.Generator(uint64 seed, device)

    /// Derives a child seed from a seed and a stream name (stable across runs
    /// and platforms; FNV-1a over the name mixed with the seed by SplitMix64).
    let derive (seed: int64) (stream: string) : int64 =
        let mutable h = 14695981039346656037UL
        for c in stream do
            h <- (h ^^^ uint64 c) * 1099511628211UL
        let mutable z = uint64 seed + h + 0x9E3779B97F4A7C15UL
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        int64 ((z ^^^ (z >>> 31)) &&& 0x7FFFFFFFFFFFFFFFUL)

    /// A .NET random number generator derived from a seed and a stream name.
    let random (seed: int64) (stream: string) = Random(int (derive seed stream % int64 Int32.MaxValue))

/// The tensor scope discipline: each step runs inside a dispose scope; values
/// that must outlive it are moved out explicitly.
module Scope =
    /// Runs `f` inside a fresh dispose scope; tensors created in it and not moved
    /// out are disposed when it ends. Use for steps that return .NET values.
    let run (f: unit -> 'T) : 'T =
        Runtime.init ()
        use _ = torch.NewDisposeScope()
        f ()

    /// Runs `f` inside a fresh dispose scope and moves the returned tensor out of it.
    let keep (f: unit -> torch.Tensor) : torch.Tensor =
        Runtime.init ()
        use _ = torch.NewDisposeScope()
        (f ()).MoveToOuterDisposeScope()

    /// Replaces a long-lived tensor: detaches the new value from every scope and
    /// disposes the old one.
    let replace (slot: byref<torch.Tensor>) (value: torch.Tensor) =
        let old = slot
        slot <- value.DetachFromDisposeScope()
        if not (isNull old) && not (obj.ReferenceEquals(old, value)) then old.Dispose()

    /// Reads a scalar tensor as a float.
    let scalar (t: torch.Tensor) : float = t.to_type(torch.ScalarType.Float64).item<float> ()

    /// True when two tensors are views of the same memory with the same layout (so
    /// they are equal element by element); a check of pointers, without reading data.
    let sameData (a: torch.Tensor) (b: torch.Tensor) : bool =
        let pointer (t: torch.Tensor) =
            match t.dtype with
            | torch.ScalarType.Float32 ->
                use s = t.storage<float32> ()
                Some(s.data_ptr ())
            | torch.ScalarType.Float64 ->
                use s = t.storage<float> ()
                Some(s.data_ptr ())
            | _ -> None
        obj.ReferenceEquals(a, b)
        || (a.dtype = b.dtype
            && a.device_type = b.device_type
            && a.shape = b.shape
            && a.stride() = b.stride()
            && a.storage_offset() = b.storage_offset()
            && (match pointer a, pointer b with
                | Some p, Some q -> p = q
                | _ -> false))
