using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.FSharp.Collections;

namespace Hybrid.Facade;

/// <summary>One setting of a configuration form: a leaf of its JSON form, with its command-line flag.</summary>
/// <param name="Path">Its JSON path, e.g. <c>inference.steps</c>.</param>
/// <param name="Flag">Its command-line flag, e.g. <c>--steps</c> (null: set in files and code only).</param>
/// <param name="Aliases">Other flags for it, e.g. <c>-T</c>.</param>
/// <param name="Type">The type as help shows it: <c>integer</c>, <c>number</c>, <c>boolean</c>, <c>string</c>, <c>JSON</c>,
/// <c>a | b | c</c> for a choice, <c>list of ...</c>.</param>
/// <param name="Choices">The canonical spellings of a choice (empty for other types).</param>
/// <param name="IsBoolean">A flag that may be given alone (meaning true).</param>
/// <param name="IsList">A list (comma-separated on the command line).</param>
/// <param name="IsNullable">null is a value (<c>null</c> on the command line).</param>
/// <param name="Default">The default as JSON text (null: not set by default).</param>
/// <param name="DefaultText">The default as help shows it.</param>
/// <param name="Minimum">The smallest value accepted, if bounded.</param>
/// <param name="Maximum">The largest value accepted, if bounded.</param>
/// <param name="Description">What it means.</param>
public sealed record ConfigSetting(string Path, string? Flag, IReadOnlyList<string> Aliases, string Type, IReadOnlyList<string> Choices,
    bool IsBoolean, bool IsList, bool IsNullable, string? Default, string DefaultText, double? Minimum, double? Maximum, string Description)
{
    /// <summary>The core's setting.</summary>
    internal Hybrid.Setting? Source { get; init; }

    /// <summary>Why a command-line text is not a value of this setting's type (null: it is one; the range and the checks of
    /// the whole come later).</summary>
    public string? TokenError(string text)
    {
        try
        {
            Hybrid.FormModule.readToken(Source!, text);
            return null;
        }
        catch (Hybrid.ConfigError e) { return e.Message; }
    }

    internal static ConfigSetting From(Hybrid.Setting s) => new(s.Path, s.Flag?.Value, s.Aliases.ToList(), s.Kind.Describe(),
        s.Kind is Hybrid.SettingKind.Choice c ? c.names.ToList() : [], s.Kind.IsBoolean, s.Kind.IsItems, s.Nullable, s.Default?.Value,
        Hybrid.FormModule.defaultText(s), s.Minimum?.Value, s.Maximum?.Value, s.Description) { Source = s };
}

/// <summary>A configuration form (<c>train</c>, <c>table1</c>, <c>decay</c>, ...): its settings, JSON Schema and documentation,
/// all derived from the one definition of each field in the core.</summary>
public sealed class ConfigForm
{
    internal Hybrid.AnyForm Inner { get; }
    internal ConfigForm(Hybrid.AnyForm inner)
    {
        Inner = inner;
        Settings = inner.Settings.Select(ConfigSetting.From).ToList();
    }

    static readonly Lazy<IReadOnlyList<ConfigForm>> AllForms = new(() => Hybrid.Experiments.Forms.all.Select(f => new ConfigForm(f)).ToList());

    /// <summary>Every form.</summary>
    public static IReadOnlyList<ConfigForm> All => AllForms.Value;

    /// <summary>A form by name; an unknown name is an <see cref="ArgumentException"/> that lists the known ones.</summary>
    public static ConfigForm Get(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new ArgumentException($"unknown configuration form '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})", nameof(name));

    /// <summary>The form's name (<c>hybrid config schema NAME</c>).</summary>
    public string Name => Inner.Name;
    /// <summary>The title of its JSON Schema.</summary>
    public string Title => Inner.Title;
    /// <summary>What reads it, e.g. <c>hybrid train --config FILE</c>.</summary>
    public string ReadBy => Inner.ReadBy;
    /// <summary>Its settings, in the order of its JSON form.</summary>
    public IReadOnlyList<ConfigSetting> Settings { get; }

    /// <summary>The setting a flag (<c>--steps</c>, an alias) or a path (<c>inference.steps</c>) names, or null.</summary>
    public ConfigSetting? Find(string name) => Settings.FirstOrDefault(s => s.Path == name || s.Flag == name || s.Aliases.Contains(name));

    /// <summary>The JSON Schema document.</summary>
    public JsonNode Schema() => Guard.Run(() => Inner.Schema.Invoke(null!));

    /// <summary>The settings as a Markdown table (as docs/config.md lists them).</summary>
    public string Markdown() => Hybrid.FormModule.markdown(Inner);

    /// <summary>Every form's settings as Markdown tables (the generated part of docs/config.md).</summary>
    public static string Documentation() => Hybrid.Experiments.Forms.markdown();

    /// <summary>A document (docs/config.md) with its generated part replaced by <see cref="Documentation"/>; a document without
    /// the part's markers is an <see cref="ArgumentException"/>.</summary>
    public static string UpdateDocumentation(string text) => Guard.Run(() => Hybrid.Experiments.Forms.updateDoc(text ?? throw new ArgumentNullException(nameof(text))));

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The options of one configuration form: an immutable value (set with object initializers, <c>with</c> expressions or
/// <c>With(setting, value)</c>), read and written in the form's one JSON form. Every setting of the form can be set by its
/// path, also those without a typed property.</summary>
public abstract record ConfigOptions
{
    private protected ConfigOptions(string form)
    {
        Inner = ConfigForm.Get(form).Inner;
        Value = Inner.Defaults;
    }

    internal Hybrid.AnyForm Inner { get; }
    internal object Value { get; set; }

    /// <summary>The form these options belong to.</summary>
    public ConfigForm Form => ConfigForm.Get(Inner.Name);

    /// <summary>A setting's value as JSON (null when it is null or not set), by path (<c>inference.steps</c>) or flag (<c>--steps</c>).</summary>
    public JsonNode? Get(string setting)
    {
        var path = PathOf(setting);
        JsonNode? node = Guard.Run(() => Inner.Write.Invoke(Value));
        foreach (var key in path.Split('.'))
            node = node is JsonObject o && o.TryGetPropertyValue(key, out var child) ? child : null;
        return node?.DeepClone();
    }

    /// <summary>Checks the options as a whole (what is checked before a run starts); a problem is an <see cref="ArgumentException"/>
    /// that names the field.</summary>
    public void Validate() => Guard.Run(() => Inner.Check.Invoke(Value));

    /// <summary>The options as a JSON document (every field written).</summary>
    public string ToJson() => Hybrid.CodecModule.writeText(Guard.Run(() => Inner.Write.Invoke(Value)));

    /// <summary>The path of a setting named by path or flag; an unknown name lists the form's settings.</summary>
    private protected string PathOf(string setting)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(setting);
        var s = Hybrid.FormModule.find(Inner.Settings, setting);
        return s?.Value.Path ?? throw new ArgumentException(
            $"form {Inner.Name} has no setting '{setting}' (known: {string.Join(", ", Inner.Settings.Select(x => x.Path))})", nameof(setting));
    }

    /// <summary>Reads a value into a setting (by path), without checking the whole: init accessors and <c>With(setting, value)</c>.</summary>
    private protected void Put(string path, object? value)
    {
        var patch = new JsonObject();
        var keys = path.Split('.');
        var o = patch;
        foreach (var k in keys[..^1])
        {
            var inner = new JsonObject();
            o[k] = inner;
            o = inner;
        }
        o[keys[^1]] = JsonOf(value);
        Value = Guard.Run(() => Inner.Read.Invoke(patch).Invoke(Value));
    }

    /// <summary>A .NET value as JSON: numbers, booleans, strings, enums by their canonical spelling, lists, JSON nodes; other values
    /// (initializers, solvers) by their text form.</summary>
    internal static JsonNode? JsonOf(object? value) => value switch
    {
        null => null,
        JsonNode n => n.DeepClone(),
        string s => JsonValue.Create(s),
        bool b => JsonValue.Create(b),
        int i => JsonValue.Create(i),
        long l => JsonValue.Create(l),
        double d => JsonValue.Create(d),
        float f => JsonValue.Create((double)f),
        Enum e => JsonValue.Create(Choice.NameOf(e)),
        System.Collections.IEnumerable items => new JsonArray(items.Cast<object?>().Select(JsonOf).ToArray()),
        IFormattable f => JsonValue.Create(f.ToString(null, CultureInfo.InvariantCulture)),
        _ => JsonValue.Create(value.ToString()),
    };

    /// <summary>A setting's value as a .NET value of type <typeparamref name="T"/> (typed properties).</summary>
    private protected T Read<T>(string path)
    {
        var node = Get(path);
        var t = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        if (node is null) return default!;
        return (T)ValueOf(node, t);
    }

    static object ValueOf(JsonNode node, Type t)
    {
        if (t == typeof(string)) return node.GetValueKind() == System.Text.Json.JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
        if (t == typeof(int)) return node.GetValue<int>();
        if (t == typeof(long)) return node.GetValue<long>();
        if (t == typeof(double)) return node.GetValue<double>();
        if (t == typeof(bool)) return node.GetValue<bool>();
        if (t.IsEnum) return Choice.ParseAs(t, node.GetValue<string>());
        if (t == typeof(JsonNode)) return node;
        if (t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IReadOnlyList<>))
        {
            var item = t.GetGenericArguments()[0];
            var list = (System.Collections.IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(item))!;
            foreach (var x in node.AsArray()) list.Add(x is null ? null : ValueOf(x, item));
            return list;
        }
        throw new NotSupportedException($"{t.Name} is not a type of a setting");
    }
}

/// <summary>The options of one configuration form, typed: <c>With(setting, value)</c> and <see cref="WithFlags"/> return
/// the same type.</summary>
/// <typeparam name="TSelf">The options type itself.</typeparam>
public abstract record ConfigOptions<TSelf> : ConfigOptions where TSelf : ConfigOptions<TSelf>
{
    private protected ConfigOptions(string form) : base(form) { }

    /// <summary>These options with one setting changed, by path (<c>inference.steps</c>) or flag (<c>--steps</c>); the value is a
    /// number, boolean, string, enum, list or JSON node as the setting's type asks (read as a configuration file would be).</summary>
    public TSelf With(string setting, object? value)
    {
        var copy = (TSelf)(this with { });
        copy.Put(PathOf(setting), value);
        return copy;
    }

    /// <summary>These options with settings given as the command line writes them (flag or path, text), read through the same
    /// path as a file, then checked as a whole; an error names the flag.</summary>
    public TSelf WithFlags(IEnumerable<KeyValuePair<string, string>> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var pairs = ListModule.OfSeq(flags.Select(kv => Tuple.Create(kv.Key, kv.Value)));
        var copy = (TSelf)(this with { });
        copy.Value = Guard.Run(() => Inner.Apply.Invoke(pairs).Invoke(Value));
        return copy;
    }

    /// <summary>These options with the fields of a JSON document set (fields absent keep their values), checked as a whole.</summary>
    public TSelf WithJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        var copy = (TSelf)(this with { });
        copy.Value = Guard.Run(() => Inner.Parse.Invoke(json).Invoke(Value));
        return copy;
    }

    /// <summary>These options with the fields of a JSON file set (fields absent keep their values), checked as a whole.</summary>
    public TSelf WithFile(string path)
    {
        Guard.FileExists(path, "configuration file");
        var copy = (TSelf)(this with { });
        copy.Value = Guard.Run(() => Inner.Load.Invoke(path).Invoke(Value));
        return copy;
    }
}
