using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hybrid.Cli;

/// <summary>`--config FILE` for the experiment commands other than `train`: a JSON object whose
/// fields are the command's options (e.g. <c>{ "depths": "5,10,20", "width": 32 }</c>). Flags
/// given on the command line win; an unknown field is an error that lists the valid ones.</summary>
public static class OptionsFile
{
    public static Option<string?> Create() => new("--config") { Description = "JSON file of this command's options ({ \"option-name\": value }); flags override it." };

    /// <summary>Adds the file's options to <paramref name="args"/> where the flag is not given.</summary>
    public static string[] Expand(RootCommand root, string[] args)
    {
        var parsed = root.Parse(args);
        var command = parsed.CommandResult.Command;
        if (command.Name == "train") return args;
        var option = command.Options.FirstOrDefault(o => o.Name == "--config");
        if (option is null) return args;
        var file = parsed.GetValue((Option<string?>)option);
        if (file is null) return args;
        if (!File.Exists(file)) throw new ArgumentException($"config file {file} not found");
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(file), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new ArgumentException($"{file}: expected a JSON object of options");
        }
        catch (JsonException e) { throw new ArgumentException($"{file}: malformed JSON ({e.Message})"); }
        var known = command.Options.Where(o => o.Name != "--config").Select(o => o.Name.TrimStart('-')).ToHashSet();
        var extra = new List<string>();
        foreach (var (key, value) in obj)
        {
            if (!known.Contains(key))
                throw new ArgumentException($"{file}: unknown option '{key}' for '{command.Name}' (known: {string.Join(", ", known.Order())})");
            if (args.Contains("--" + key)) continue;
            var text = value switch
            {
                JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
                JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>() ? "true" : "false",
                JsonValue v => v.ToJsonString(),
                JsonArray a => string.Join(",", a.Select(x => x is JsonValue xv && xv.GetValueKind() == JsonValueKind.String ? xv.GetValue<string>() : x!.ToJsonString())),
                _ => throw new ArgumentException($"{file}: option '{key}' must be a string, number, boolean or array"),
            };
            extra.Add("--" + key);
            extra.Add(text);
        }
        return args.Concat(extra).ToArray();
    }
}
