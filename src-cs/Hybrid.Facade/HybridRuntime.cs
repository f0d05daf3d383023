using System.Runtime.CompilerServices;

namespace Hybrid.Facade;

/// <summary>Process-wide services: native loading, devices, versions.</summary>
public static class HybridRuntime
{
    /// <summary>Loads TorchSharp's natives as soon as the facade is loaded, so that C#
    /// applications need no explicit initialisation call.</summary>
    // CA2255 warns that module initializers in libraries run implicitly; running
    // implicitly is the point here: natives must load before TorchSharp is touched.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void LoadNatives() => Hybrid.Runtime.init();
#pragma warning restore CA2255

    /// <summary>Loads the native libraries (idempotent). Call before touching TorchSharp directly.</summary>
    public static void Init() => Hybrid.Runtime.init();

    /// <summary>Hybrid's version.</summary>
    public static string Version => Hybrid.Runtime.version;

    /// <summary>libtorch's version.</summary>
    public static string LibTorchVersion => Hybrid.Runtime.libtorchVersion();

    /// <summary>True when a CUDA device is usable.</summary>
    public static bool CudaAvailable => Hybrid.Runtime.cudaAvailable();
}
