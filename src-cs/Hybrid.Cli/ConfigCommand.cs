using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid config schema [NAME]`: the JSON Schema of a configuration form, for editors.</summary>
public static class ConfigCommand
{
    public static Command Create()
    {
        var cmd = new Command("config", "Configuration forms: their JSON Schemas and their settings.");
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
        var write = new Option<string?>("--write") { Description = "Replace the generated part of this Markdown file (docs/config.md) instead of printing." };
        var docs = new Command("docs", "Print every form's settings as Markdown tables (field, flag, type, default, meaning), as docs/config.md holds them.");
        docs.Options.Add(write);
        docs.SetAction(pr =>
        {
            if (pr.GetValue(write) is { } file)
            {
                if (!File.Exists(file)) throw new FileNotFoundException($"{file} not found", file);
                var text = File.ReadAllText(file);
                var updated = ConfigForm.UpdateDocumentation(text);
                if (updated != text)
                {
                    var tmp = file + ".tmp";
                    File.WriteAllText(tmp, updated);
                    File.Move(tmp, file, overwrite: true);
                }
                Console.Error.WriteLine(updated == text ? $"{file} is up to date" : $"{file}: the generated settings were rewritten");
            }
            else Console.Write(ConfigForm.Documentation());
            return 0;
        });
        cmd.Subcommands.Add(schema);
        cmd.Subcommands.Add(docs);
        cmd.Subcommands.Add(list);
        return cmd;
    }
}
