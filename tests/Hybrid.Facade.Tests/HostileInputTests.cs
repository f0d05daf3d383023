using System.Globalization;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Bad input beyond the hand-written matrix: every bounded setting of every form read by a command, driven
/// out of its range from the forms' own field tables (a new setting is covered without new code); hostile sweep specs;
/// and storage URLs whose password must not appear in anything a failing command prints or writes.</summary>
public class HostileInputTests
{
    static readonly string Root = Files.Temp("hybrid-hostile-");

    /// <summary>(command words, flag, value out of range): each bounded numeric setting of each form that a command reads,
    /// below its minimum and above its maximum.</summary>
    public static TheoryData<string, string, string> OutOfRange()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var form in ConfigForm.All)
        {
            // "hybrid reproduce table1 --config FILE" -> "reproduce table1".
            if (!form.ReadBy.StartsWith("hybrid ") || !form.ReadBy.EndsWith(" --config FILE")) continue;
            var command = form.ReadBy["hybrid ".Length..^" --config FILE".Length];
            foreach (var s in form.Settings)
            {
                if (s.Flag is null || s.IsList || s.IsBoolean || s.Choices.Count > 0) continue;
                var integer = s.Type.Contains("integer");
                if (!integer && !s.Type.Contains("number")) continue;
                string Text(double v) => integer ? ((long)v).ToString(CultureInfo.InvariantCulture) : v.ToString("R", CultureInfo.InvariantCulture);
                if (s.Minimum is { } lo && lo > -1e15) data.Add(command, s.Flag, Text(lo - (integer ? 1 : Math.Max(1, Math.Abs(lo)))));
                if (s.Maximum is { } hi && hi < 1e15) data.Add(command, s.Flag, Text(hi + (integer ? 1 : Math.Max(1, Math.Abs(hi)))));
            }
        }
        return data;
    }

    [Fact]
    public void TheGeneratedMatrixCoversEveryCommandForm()
    {
        var commands = OutOfRange().Select(row => (string)row[0]).Distinct().ToList();
        // Every command whose form has bounded numbers (decay, hopfield and ham bound theirs as lists or in checks of the whole).
        foreach (var c in new[] { "train", "reproduce table1", "reproduce mupc", "reproduce speed" })
            Assert.True(commands.Contains(c), $"{c} is not covered; covered: {string.Join(", ", commands)}");
        Assert.True(OutOfRange().Count() >= 20, $"only {OutOfRange().Count()} generated cases");
    }

    [Theory]
    [MemberData(nameof(OutOfRange))]
    public void EveryBoundedSettingOutOfRangeIsOneLineAndExit4(string command, string flag, string value)
    {
        var dir = Files.Temp("hybrid-range-");
        var argv = command.Split(' ').Concat([flag, value, "--out", Path.Combine(dir, "runs")]).ToList();
        var r = Cli.Run(dir, argv);
        Assert.True(r.Code == 4, $"hybrid {string.Join(' ', argv)}: exit {r.Code}, expected 4; stderr: {r.Err}");
        Assert.True(r.ErrLines.Count == 1 && r.ErrLines[0].StartsWith("error:"), $"one error line expected:\n{r.Err}");
        Assert.DoesNotContain("   at ", r.Err);
        var runs = Path.Combine(dir, "runs");
        Assert.True(!Directory.Exists(runs) || Directory.GetFileSystemEntries(runs).Length == 0, "nothing is left behind");
    }

    static string Spec(string name, string text)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, text);
        return path;
    }

    const string Base = "\"base\": { \"dataset\": \"fashion-mnist\", \"epochs\": 2 }";

    static string YamlBomb()
    {
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 10; i++) lines.Add($"a{i}: &a{i} [{string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 9))}]");
        return string.Join('\n', lines);
    }

    /// <summary>(spec file, fragment of the one error line).</summary>
    public static TheoryData<string, string> HostileSpecs() => new()
    {
        { Spec("bomb.yaml", YamlBomb()), "aliases (*a0) are not supported" },
        { Spec("deep.yaml", "a: " + string.Concat(Enumerable.Repeat("{b: ", 20000)) + "1" + new string('}', 20000)), "nested deeper than 64 levels" },
        { Spec("seeds.json", $"{{ {Base}, \"seeds\": 1000000000 }}"), "more than the 100000 trials" },
        { Spec("grid.json", $"{{ {Base}, \"axes\": {{ \"batchSize\": [{string.Join(',', Enumerable.Range(1, 100))}], \"epochs\": [{string.Join(',', Enumerable.Range(1, 100))}], \"inference.steps\": [{string.Join(',', Enumerable.Range(1, 100))}], \"evalEvery\": [{string.Join(',', Enumerable.Range(1, 100))}] }} }}"), "expands into 100000000 trials" },
        { Spec("samples.json", $"{{ {Base}, \"axes\": {{ \"optimizer.lr\": {{ \"uniform\": [0.1, 0.2] }} }}, \"samples\": 3e9 }}"), "'samples' must be an integer in [1, 100000]" },
        { Spec("attempts.json", $"{{ {Base}, \"maxAttempts\": 3e9 }}"), "'maxAttempts' must be an integer in [1, 1000]" },
        { Spec("bigseed.json", $"{{ {Base}, \"seeds\": [1e300] }}"), "'seeds[0]' must be an integer within" },
        { Spec("intuniform.json", $"{{ {Base}, \"axes\": {{ \"batchSize\": {{ \"intUniform\": [1, 1e12] }} }} }}"), "'axes.batchSize.intUniform' must lie within" },
        { Spec("null.json", $"{{ {Base}, \"axes\": {{ \"optimizer.lr\": [null] }} }}"), "'axes.optimizer.lr[0]' is null" },
        { Spec("dotdot.json", $"{{ \"name\": \"..\", {Base} }}"), "must not start with '.'" },
        { Spec("dot.json", $"{{ \"name\": \".\", {Base} }}"), "must not start with '.'" },
        { Spec("long.json", $"{{ \"name\": \"{new string('a', 300)}\", {Base} }}"), "at most 100" },
    };

    [Theory]
    [MemberData(nameof(HostileSpecs))]
    public void HostileSpecsAreRefusedInOneLineAndStoreNothing(string spec, string fragment)
    {
        var dir = Files.Temp("hybrid-spec-");
        var db = Path.Combine(dir, "s.db");
        var r = Cli.Run(dir, ["sweep", "create", spec, "--storage", db], seconds: 60);
        Assert.True(r.Code == 4, $"exit {r.Code}, expected 4; stderr: {r.Err}");
        Assert.True(r.ErrLines.Count == 1, $"one error line expected:\n{r.Err}");
        Assert.Contains(fragment, r.ErrLines[0]);
        Assert.False(File.Exists(db) && new FileInfo(db).Length > 0 && Cli.Run(dir, ["sweep", "list", "--storage", db]).Out.Trim().Length > 0,
            "no sweep was stored");
    }

    [Fact]
    public void OversizedConfigurationFilesAreRefusedBeforeTheyAreRead()
    {
        var dir = Files.Temp("hybrid-big-");
        var big = Path.Combine(dir, "big.json");
        using (var f = File.Create(big)) f.SetLength(17L * 1024 * 1024);
        var r = Cli.Run(dir, ["train", "--config", big, "--out", Path.Combine(dir, "runs")]);
        Assert.True(r.Code == 4, $"exit {r.Code}; stderr: {r.Err}");
        Assert.Contains("more than the 16777216 a configuration may have", r.Err);
        r = Cli.Run(dir, ["sweep", "create", big, "--storage", Path.Combine(dir, "s.db")]);
        Assert.True(r.Code == 4, $"exit {r.Code}; stderr: {r.Err}");
        Assert.Contains("more than the 16777216", r.Err);
    }

    const string Password = "s3cretPw-4711";

    /// <summary>Storage URLs that fail for different reasons, each holding the password.</summary>
    public static TheoryData<string> Storages() => new()
    {
        $"postgres://postgres:{Password}@127.0.0.1:5999/hybrid?Bogus=1",
        $"postgres://postgres:{Password}@127.0.0.1:5999/hybrid?Timeout=abc",
        $"postgres://postgres:{Password}@127.0.0.1:99999/hybrid",
        $"postgres://postgres:{Password}@pw@127.0.0.1:5999/hybrid",
        $"postgres://postgres:{Password}@127.0.0.1:1/hybrid?Timeout=2",
        $"Host=127.0.0.1;Port=1;Username=postgres;Password={Password};Bogus=1",
        $"Host=127.0.0.1;Port=1;Username=postgres;Password={Password};Timeout=2",
    };

    [Theory]
    [MemberData(nameof(Storages))]
    public void NoFailingSweepCommandShowsOrWritesThePassword(string url)
    {
        var dir = Files.Temp("hybrid-secret-");
        var spec = Spec("secret.json", $"{{ {Base} }}");
        var commands = new[]
        {
            new[] { "sweep", "status", "--storage", url },
            ["sweep", "status", "--storage", url, "--json"],
            ["sweep", "create", spec, "--storage", url, "--json"],
            ["sweep", "work", "--storage", url, "--out", Path.Combine(dir, "runs")],
            ["sweep", "retry", "--storage", url, "--json"],
            ["sweep", "report", "--storage", url, "--out", Path.Combine(dir, "report")],
            ["sweep", "export", "--storage", url, "--out", Path.Combine(dir, "export")],
        };
        foreach (var argv in commands)
        {
            var r = Cli.Run(dir, argv, seconds: 60, env: new Dictionary<string, string> { ["HYBRID_SWEEP_STORAGE"] = "" });
            Assert.True(r.Code == 6, $"{string.Join(' ', argv)}: exit {r.Code}, expected 6; stderr: {r.Err}");
            Assert.DoesNotContain(Password, r.Out);
            Assert.DoesNotContain(Password, r.Err);
        }
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
            Assert.DoesNotContain(Password, File.ReadAllText(file));
    }
}
