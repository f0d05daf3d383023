using System.CommandLine;

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

    /// <summary>A command whose options are a configuration form's settings (derived from the form's table: one option per
    /// setting, its help from the setting's description and default) and <c>--config FILE</c>. Its action reads the defaults,
    /// then the file, then the flags, then the global <c>--data</c> and <c>--device</c>, through the form's one JSON reader,
    /// and runs <paramref name="run"/> on the result.</summary>
    public static Command FormCommand<T>(string name, string description, Func<T, ParseResult, int> run, params Option[] extra)
        where T : ConfigOptions<T>, new()
    {
        var defaults = new T();
        var flags = new FormFlags(defaults.Form);
        var config = ConfigFile(defaults.Form.Name);
        var cmd = new Command(name, description);
        foreach (var o in flags.Options.Concat(extra).Append(config)) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var start = pr.GetValue(config) is { } file ? defaults.WithFile(file) : defaults;
            return run(start.WithFlags(flags.Given(pr)), pr);
        });
        return cmd;
    }

    /// <summary>`--config FILE` of an experiment command: its options as JSON (`hybrid config schema NAME`); flags override it.</summary>
    public static Option<string?> ConfigFile(string schema) =>
        new("--config") { Description = $"JSON file of this command's options (hybrid config schema {schema}); flags override its fields." };

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

    /// <summary>The explicitly given device, if any.</summary>
    public static Device? GivenDevice(ParseResult pr) => pr.GetValue(Device);
}

/// <summary>The command-line options of a configuration form: one per setting with a flag, built from the form's table. The
/// global <c>--data</c> and <c>--device</c> stand for the settings of those flags.</summary>
public sealed class FormFlags
{
    static readonly string[] Globals = ["--data", "--device"];
    readonly List<(ConfigSetting Setting, Option<string?> Option)> _options = [];
    readonly ConfigForm _form;

    public FormFlags(ConfigForm form)
    {
        _form = form;
        foreach (var s in form.Settings)
        {
            if (s.Flag is null || Globals.Contains(s.Flag)) continue;
            var option = new Option<string?>(s.Flag, [.. s.Aliases])
            {
                Description = Help(s),
                HelpName = s.Choices.Count > 0 ? string.Join("|", s.Choices) : null,
                Arity = s.IsBoolean ? ArgumentArity.ZeroOrOne : ArgumentArity.ExactlyOne,
            };
            var setting = s;
            option.CustomParser = r =>
            {
                var text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : setting.IsBoolean ? "true" : "";
                if (setting.TokenError(text) is { } error) r.AddError(error);
                return text;
            };
            if (s.Choices.Count > 0)
            {
                option.CompletionSources.Clear();
                option.CompletionSources.Add(s.Choices.ToArray());
            }
            _options.Add((s, option));
        }
    }

    /// <summary>The options, in the order of the form's settings.</summary>
    public IEnumerable<Option> Options => _options.Select(x => (Option)x.Option);

    /// <summary>The settings given on the command line, as (flag, text), the global --data and --device last.</summary>
    public List<KeyValuePair<string, string>> Given(ParseResult pr)
    {
        var given = new List<KeyValuePair<string, string>>();
        foreach (var (s, o) in _options)
            if (pr.GetValue(o) is { } text) given.Add(new(s.Flag!, text));
        if (_form.Find("--data") is not null && pr.GetValue(CommonOptions.Data) is { } data) given.Add(new("--data", data));
        if (_form.Find("--device") is not null && pr.GetValue(CommonOptions.Device) is { } device) given.Add(new("--device", Choice.Name(device)));
        return given;
    }

    /// <summary>A setting's help: its description as a sentence, and its default.</summary>
    static string Help(ConfigSetting s)
    {
        var d = s.Description.Length == 0 ? s.Path : char.ToUpperInvariant(s.Description[0]) + s.Description[1..];
        var list = s.IsList ? " Comma-separated." : "";
        var dflt = s.Default is null || s.Default == "null" ? "" : $" (default: {s.DefaultText})";
        return $"{d.TrimEnd('.')}.{list}{dflt}";
    }
}
