using System.CommandLine;
using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Data;

namespace Hybrid.Cli;

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
            var deviceChoice = Choices.device.Parse(pr.GetValue(CommonOptions.Device) ?? "auto");
            var report = Native.ensureLoaded();
            var device = Runtime.device(deviceChoice);
            var datasets = DatasetModule.list(CommonOptions.Root(dataRoot)).ToList();
            var node = new JsonObject
            {
                ["version"] = Runtime.version,
                ["libtorch"] = Runtime.libtorchVersion(),
                ["device"] = device.ToString(),
                ["cudaAvailable"] = Runtime.cudaAvailable(),
                ["threads"] = Runtime.threads(),
                ["nativeShim"] = report.Loaded,
                ["nativePatched"] = new JsonArray(report.Weakened.Select(w => (JsonNode)JsonValue.Create(w)!).ToArray()),
                ["hostLibStdCxx"] = report.HostLibStdCxx,
                ["dataRoots"] = new JsonArray(DatasetModule.roots(CommonOptions.Root(dataRoot)).Select(r => (JsonNode)JsonValue.Create(r)!).ToArray()),
                ["datasets"] = new JsonArray(datasets.Select(d => (JsonNode)new JsonObject
                {
                    ["name"] = d.Name,
                    ["found"] = d.Found is null ? null : d.Found.Value,
                }).ToArray()),
            };
            if (json) { Output.Json(node); return 0; }
            Output.Table("Hybrid", ["item", "value"], [
                ["version", Runtime.version],
                ["libtorch", Runtime.libtorchVersion()],
                ["device", device.ToString()],
                ["CUDA available", Runtime.cudaAvailable().ToString()],
                ["threads", Runtime.threads().ToString()],
                ["native shim", report.Loaded],
                ["patched versions", report.Weakened.IsEmpty ? "(none: host libstdc++ is new enough)" : string.Join(", ", report.Weakened)],
                ["host libstdc++", report.HostLibStdCxx],
                ["data roots", string.Join(", ", DatasetModule.roots(CommonOptions.Root(dataRoot)))],
            ]);
            DataCommands.PrintList(datasets);
            return 0;
        });
        return cmd;
    }
}
