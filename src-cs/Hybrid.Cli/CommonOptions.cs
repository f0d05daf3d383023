using System.CommandLine;
using System.Globalization;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>Options every command understands, and helpers for the options of the experiment commands.</summary>
public static class CommonOptions
{
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the results as one JSON document on stdout (progress goes to stderr).",
        Recursive = true,
    };

    public static readonly Option<string?> Data = new("--data")
    {
        Description = "Dataset root folder (default: $HYBRID_DATA, then ~/.local/share/hybrid/datasets, then /usr/share/datasets).",
        Recursive = true,
    };

    public static readonly Option<Device?> Device = Choice<Device>("--device", "Compute device: auto (CUDA if available, else CPU; the default), cpu or cuda.", null, recursive: true);

    public static readonly Option<int> Threads = new("--threads")
    {
        Description = "libtorch intra-op threads (0: libtorch's default, all cores).",
        DefaultValueFactory = _ => 0,
        Recursive = true,
    };

    /// <summary>`--config FILE` of an experiment command: its options as JSON (`hybrid config schema NAME`); flags override it.</summary>
    public static Option<string?> ConfigFile(string schema) =>
        new("--config") { Description = $"JSON file of this command's options (hybrid config schema {schema}); flags override its fields." };

    /// <summary>An option whose value, when given, overrides the configuration; the description names the default.</summary>
    public static Option<T?> Override<T>(string name, string description, object? fallback, params string[] aliases)
    {
        var option = new Option<T?>(name, aliases) { Description = fallback is null ? description : $"{description} (default: {Show(fallback)})" };
        var kind = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (kind == typeof(int) || kind == typeof(long) || kind == typeof(double))
            option.CustomParser = r => Scalar<T>(r, name, kind);
        return option;
    }

    /// <summary>An option whose value is one of a choice's spellings (or an alias); the error names the option and lists the
    /// spellings, and shells complete them.</summary>
    public static Option<T?> Choice<T>(string name, string description, T? fallback, bool recursive = false, params string[] aliases) where T : struct, Enum
    {
        var option = new Option<T?>(name, aliases)
        {
            Description = fallback is { } f ? $"{description} (default: {Facade.Choice.Name(f)})" : description,
            Recursive = recursive,
        };
        option.CustomParser = r =>
        {
            var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
            try { return Facade.Choice.Parse<T>(text); }
            catch (ArgumentException e)
            {
                r.AddError($"{name}: {HybridErrors.Describe(e)}");
                return null;
            }
        };
        // The choice's own spellings, not the enum's member names.
        option.CompletionSources.Clear();
        option.CompletionSources.Add(Facade.Choice.Spellings<T>().ToArray());
        return option;
    }

    /// <summary>A number option's value, or an error that names the option, the text and what it should be
    /// (NaN and infinities pass here: the configuration's checks name the field they are refused for).</summary>
    static T? Scalar<T>(System.CommandLine.Parsing.ArgumentResult result, string name, Type kind)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        const NumberStyles integer = NumberStyles.Integer;
        object? value =
            kind == typeof(int) ? (int.TryParse(text, integer, CultureInfo.InvariantCulture, out var i) ? i : null)
            : kind == typeof(long) ? (long.TryParse(text, integer, CultureInfo.InvariantCulture, out var l) ? l : null)
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null;
        if (value is null)
        {
            var what = kind == typeof(int) ? $"an integer from {int.MinValue} to {int.MaxValue}"
                : kind == typeof(long) ? "a 64-bit integer" : "a number";
            result.AddError($"{name}: '{text}' is not {what}");
            return default;
        }
        return (T?)value;
    }

    static string Show(object value) => value switch
    {
        IEnumerable<int> xs => string.Join(",", xs),
        IEnumerable<double> xs => string.Join(",", xs.Select(x => x.ToString(CultureInfo.InvariantCulture))),
        IEnumerable<string> xs when value is not string => string.Join(",", xs),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>Comma-separated items of an option, each parsed; the error names the option, the item and what it should be.</summary>
    public static List<T> Items<T>(string text, string option, (string What, Func<string, T?> Parse) item) where T : struct =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => item.Parse(t) ?? throw new UsageException($"{option}: '{t}' is not {item.What}")).ToList();

    /// <summary>An integer item (32-bit).</summary>
    public static readonly (string, Func<string, int?>) Int =
        ("an integer", t => int.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : null);

    /// <summary>A finite number item.</summary>
    public static readonly (string, Func<string, double?>) Number =
        ("a finite number", t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v) ? v : null);

    /// <summary>The explicitly given device, if any.</summary>
    public static Device? GivenDevice(ParseResult pr) => pr.GetValue(Device);
}
