using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid info`: version, device, threads, libtorch, datasets found.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var cmd = new Command("info", "Show Hybrid's version, the compute device, threads, libtorch and the datasets found.");
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var dataRoot = pr.GetValue(CommonOptions.Data);
            var info = HybridRuntime.Info(CommonOptions.GivenDevice(pr) ?? Device.Auto);
            var datasets = Datasets.List(dataRoot);
            var roots = Datasets.Roots(dataRoot);
            var node = new JsonObject
            {
                ["version"] = info.Version,
                ["libtorch"] = info.LibTorch,
                ["device"] = info.Device,
                ["cudaAvailable"] = info.CudaAvailable,
                ["threads"] = info.Threads,
                ["nativeShim"] = info.NativeShim,
                ["nativePatched"] = new JsonArray(info.NativePatched.Select(w => (JsonNode)JsonValue.Create(w)!).ToArray()),
                ["hostLibStdCxx"] = info.HostLibStdCxx,
                ["dataRoots"] = new JsonArray(roots.Select(r => (JsonNode)JsonValue.Create(r)!).ToArray()),
                ["datasets"] = new JsonArray(datasets.Select(d => (JsonNode)new JsonObject { ["name"] = d.Name, ["found"] = d.Found }).ToArray()),
            };
            if (json) { Output.Json(node); return 0; }
            Output.Table("Hybrid", ["item", "value"], [
                ["version", info.Version],
                ["libtorch", info.LibTorch],
                ["device", info.Device],
                ["CUDA available", info.CudaAvailable.ToString()],
                ["threads", info.Threads.ToString()],
                ["native shim", info.NativeShim],
                ["patched versions", info.NativePatched.Count == 0 ? "(none: host libstdc++ is new enough)" : string.Join(", ", info.NativePatched)],
                ["host libstdc++", info.HostLibStdCxx],
                ["data roots", string.Join(", ", roots)],
            ]);
            DataCommands.PrintList(datasets);
            return 0;
        });
        return cmd;
    }
}
