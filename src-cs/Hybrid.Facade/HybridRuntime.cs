using System.Runtime.CompilerServices;

namespace Hybrid.Facade;

/// <summary>What the runtime found: versions, the device, threads and how TorchSharp's natives were loaded.</summary>
/// <param name="Version">Hybrid's version.</param>
/// <param name="LibTorch">libtorch's version.</param>
/// <param name="Device">The device a run with this device choice uses.</param>
/// <param name="CudaAvailable">Whether a CUDA device is usable.</param>
/// <param name="Threads">libtorch's intra-op threads.</param>
/// <param name="NativeShim">The TorchSharp shim that was loaded.</param>
/// <param name="NativePatched">Version requirements marked weak in the loaded copy (empty: none).</param>
/// <param name="HostLibStdCxx">The host's libstdc++ that was checked.</param>
public sealed record RuntimeInfo(string Version, string LibTorch, string Device, bool CudaAvailable, int Threads, string NativeShim,
    IReadOnlyList<string> NativePatched, string HostLibStdCxx);

/// <summary>Process-wide services: native loading, devices, threads, versions.</summary>
public static class HybridRuntime
{
    /// <summary>Loads TorchSharp's natives as soon as the facade is loaded, so that C#
    /// applications need no explicit initialisation call.</summary>
    // CA2255 warns that module initializers in libraries run implicitly; running
    // implicitly is the point here: natives must load before TorchSharp is touched.
#pragma warning disable CA2255
    [ModuleInitializer]
    internal static void LoadNatives()
    {
        // A failure here would surface as a TypeInitializationException on the first use of the
        // facade; left alone, it is raised again, with its own message, by Init() or that first use.
        try { Hybrid.Runtime.init(); }
        catch (Exception) { }
    }
#pragma warning restore CA2255

    /// <summary>Loads the native libraries (idempotent). Call before touching TorchSharp directly.</summary>
    public static void Init() => Hybrid.Runtime.init();

    /// <summary>Hybrid's version.</summary>
    public static string Version => Hybrid.Runtime.version;

    /// <summary>libtorch's version.</summary>
    public static string LibTorchVersion => Hybrid.Runtime.libtorchVersion();

    /// <summary>True when a CUDA device is usable.</summary>
    public static bool CudaAvailable => Hybrid.Runtime.cudaAvailable();

    /// <summary>libtorch's intra-op threads (at least 1).</summary>
    public static int Threads
    {
        get => Hybrid.Runtime.threads();
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, $"threads must be at least 1, got {value}");
            Hybrid.Runtime.setThreads(value);
        }
    }

    /// <summary>What the runtime found, for a device choice (auto, cpu or cuda).</summary>
    public static RuntimeInfo Info(Device device = Device.Auto)
    {
        var report = Hybrid.Native.ensureLoaded();
        var d = Hybrid.Runtime.device(Core.Of(device));
        return new RuntimeInfo(Version, LibTorchVersion, d.ToString(), CudaAvailable, Threads, report.Loaded, report.Weakened.ToList(), report.HostLibStdCxx);
    }
}
