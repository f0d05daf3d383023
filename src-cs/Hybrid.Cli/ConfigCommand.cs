using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid config schema [NAME]`: the JSON Schema of a configuration form, for editors.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var cmd = new Command("config", "Configuration files: their JSON Schemas.");
        var name = new Argument<string>("name")
        {
            Description = "The form: " + string.Join(", ", ConfigSchemas.Forms.Select(f => f.Name)) + " (default: train).",
            DefaultValueFactory = _ => "train",
        };
        var schema = new Command("schema", "Print the JSON Schema of a configuration form (e.g. hybrid config schema train > hybrid-train.schema.json).");
        schema.Arguments.Add(name);
        schema.SetAction(pr =>
        {
            Output.Json(ConfigSchemas.Get(pr.GetValue(name)!));
            return 0;
        });
        var list = new Command("list", "List the configuration forms and what reads each.");
        list.SetAction(pr =>
        {
            if (pr.GetValue(CommonOptions.Json))
                Output.Json(new System.Text.Json.Nodes.JsonObject
                {
                    ["forms"] = new System.Text.Json.Nodes.JsonArray(ConfigSchemas.Forms
                        .Select(f => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["name"] = f.Name, ["readBy"] = f.Title }).ToArray()),
                });
            else Output.Table("Configuration forms", ["name", "read by"], ConfigSchemas.Forms.Select(f => (IReadOnlyList<string>)[f.Name, f.Title]));
            return 0;
        });
        cmd.Subcommands.Add(schema);
        cmd.Subcommands.Add(list);
        return cmd;
    }
}
