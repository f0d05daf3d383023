using System.CommandLine;
using Microsoft.FSharp.Core;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The configuration forms as the facade and the command line derive them: typed options generated from the forms'
/// settings, enums mapped case by case, immutable options, and a field added to a form seen everywhere.</summary>
public class FormTests
{
    static string RepoFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, relative))) return Path.Combine(d.FullName, relative);
        throw new FileNotFoundException($"{relative} not found above the test binary");
    }

    [Fact]
    public void TheCheckedInTypedOptionsAreWhatTheFormsGenerate()
    {
        var path = RepoFile("src-cs/Hybrid.Facade/Options.g.cs");
        var generated = OptionsSource.Generate();
        if (Environment.GetEnvironmentVariable("HYBRID_REGENERATE") == "1") File.WriteAllText(path, generated);
        Assert.True(File.ReadAllText(path) == generated,
            "src-cs/Hybrid.Facade/Options.g.cs is not what the forms generate: run HYBRID_REGENERATE=1 dotnet test tests/Hybrid.Facade.Tests");
        // Every form has its options type.
        Assert.Equal(ConfigForm.All.Select(f => f.Name).Order(), OptionsSource.Targets.Select(t => t.Form).Order());
    }

    [Fact]
    public void EveryEnumMapsToItsCoreChoiceCaseByCase()
    {
        foreach (var map in Core.All)
        {
            var values = Enum.GetValues(map.Enum).Cast<Enum>().ToList();
            var spellings = map.Pairs.Select(p => p.Spelling).ToList();
            Assert.True(values.Count == map.Pairs.Count && values.All(v => map.Pairs.Count(p => p.Value.Equals(v)) == 1), $"{map.Enum.Name}: every value once");
            Assert.True(spellings.Distinct().Count() == spellings.Count, $"{map.Enum.Name}: distinct spellings");
            foreach (var s in spellings) Assert.Contains(s, map.CoreSpellings);
            foreach (var v in values) Assert.Equal(v, map.Parse(map.Spelling(v)));
            // The core's values the enum leaves out, by design.
            var left = map.CoreSpellings.Except(spellings).ToList();
            Assert.True(left.Count == 0 || (map.Enum == typeof(ModelKind) && left.SequenceEqual(["custom"])), $"{map.Enum.Name} leaves out {string.Join(", ", left)}");
        }
    }

    [Fact]
    public void OptionsAreImmutableAndEverySettingCanBeSetByPathOrFlagInAnyOrder()
    {
        var a = new TrainingOptions { Epochs = 3, Fraction = 0.5 };
        var b = a with { Epochs = 4 };
        Assert.Equal(3, a.Epochs);
        Assert.Equal(4, b.Epochs);
        Assert.Equal(0.5, b.Fraction);
        // Settings whose combination is checked may be set in any order: the whole is checked when used.
        var avg = new TrainingOptions { Algorithm = Algorithm.PredictiveCoding(5, 0.1, Initializer.StreamAverage), Batching = Batching.StreamAligned };
        avg.Validate();
        var bad = new TrainingOptions { Algorithm = Algorithm.PredictiveCoding(5, 0.1, Initializer.StreamAverage) };
        Assert.Contains("stream", Assert.ThrowsAny<ArgumentException>(bad.Validate).Message);
        // A setting without a typed property, by path or by flag.
        var dense = b.With("inference.dense", true).With("--divergence-factor", 100.0);
        Assert.Equal("true", dense.Get("inference.dense")!.ToJsonString());
        Assert.Equal("100", dense.Get("--divergence-factor")!.ToJsonString());
        Assert.Contains("no setting 'inference.nope'", Assert.ThrowsAny<ArgumentException>(() => b.With("inference.nope", 1)).Message);
        // Flags as the command line gives them, through the reader of files.
        var viaFlags = new TrainingOptions().WithFlags([new("--steps", "3"), new("--width", "64"), new("--hidden", "2")]);
        Assert.Equal(TrainingOptions.FromJson("""{ "inference": { "steps": 3 }, "model": { "widths": [64, 64] } }"""), viaFlags);
        Assert.Equal(3, viaFlags.Algorithm.Steps);
        Assert.Equal(ModelKind.Mlp, viaFlags.Model.Kind);
        // A setting added to the form (tensorBoard) is a typed property with its default, and a flag.
        Assert.True(new TrainingOptions().TensorBoard);
        Assert.False(new TrainingOptions().WithFlags([new("--tensor-board", "false")]).TensorBoard);
        // Experiment options the same way.
        var t1 = new Table1Options { Seeds = 2, Methods = ["bp", "pc-fw"] };
        Assert.Equal("""["bp","pc-fw"]""", t1.Get("methods")!.ToJsonString());
        Assert.Equal(2, t1.WithFlags([new("--fraction", "0.1")]).Seeds);
    }

    /// <summary>A form of the test's own: one setting, or that setting and one more.</summary>
    sealed record Probe(int Width, string Mode);

    static ConfigForm ProbeForm(bool added)
    {
        var width = Hybrid.CodecModule.field("width", "Probe width", Hybrid.CodecModule.atLeast(1, Hybrid.CodecModule.@int),
            FuncConvert.FromFunc<Probe, int>(p => p.Width), FuncConvert.FromFunc<int, Probe, Probe>((v, p) => p with { Width = v }));
        var mode = Hybrid.CodecModule.field("extraMode", "The added setting", Hybrid.CodecModule.@string,
            FuncConvert.FromFunc<Probe, string>(p => p.Mode), FuncConvert.FromFunc<string, Probe, Probe>((v, p) => p with { Mode = v }));
        var fields = added ? new[] { width, mode } : [width];
        var form = Hybrid.FormModule.create("probe", "Probe", "a test", Hybrid.CodecModule.record(Microsoft.FSharp.Collections.ListModule.OfArray(fields)),
            new Probe(4, "plain"), FuncConvert.FromAction<Probe>(_ => { }), Microsoft.FSharp.Collections.FSharpList<Hybrid.FlagRule>.Empty);
        return new ConfigForm(Hybrid.FormModule.boxed(form));
    }

    [Fact]
    public void AFieldAddedToAFormAppearsInItsSchemaItsCommandLineHelpAndTheFacade()
    {
        var before = ProbeForm(added: false);
        var after = ProbeForm(added: true);
        Assert.DoesNotContain("extraMode", before.Schema().ToJsonString());
        Assert.Contains("extraMode", after.Schema().ToJsonString());

        string Help(ConfigForm form)
        {
            var cmd = new Command("probe");
            foreach (var o in new Hybrid.Cli.FormFlags(form).Options) cmd.Options.Add(o);
            var root = new RootCommand { cmd };
            var output = new StringWriter();
            root.Parse(["probe", "--help"]).Invoke(new InvocationConfiguration { Output = output });
            return output.ToString();
        }
        Assert.DoesNotContain("--extra-mode", Help(before));
        var help = Help(after);
        Assert.Contains("--extra-mode", help);
        Assert.Contains("The added setting. (default: plain)", help);

        string Source(ConfigForm form) => OptionsSource.Generate([(form, new OptionsSource.Target("probe", "ProbeOptions", "A probe."))]);
        Assert.DoesNotContain("ExtraMode", Source(before));
        Assert.Contains("public string ExtraMode { get => Read<string>(\"extraMode\"); init => Put(\"extraMode\", value); }", Source(after));
        Assert.Contains(after.Settings, s => s.Path == "extraMode" && s.Flag == "--extra-mode" && s.DefaultText == "plain");
    }
}
