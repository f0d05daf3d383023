using System.Text.Json.Nodes;
using Hybrid.Facade;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Sweeps through the facade as an application uses them: create from a spec, work, read trials, the log,
/// the report and the exported configurations; storage failures as <see cref="SweepStorageException"/>.</summary>
public class SweepStorageTests
{
    static string Spec(string dir, string data) => WriteSpec(dir, $$"""
        {
          "name": "facade",
          "base": { "dataset": "folder:{{data}}", "epochs": 2, "batchSize": 10, "normalisation": "unit",
                    "model": { "kind": "mlp", "widths": [16], "activation": "tanh", "loss": "ce" } },
          "methods": { "bp": { "config": { "algorithm": "bp" } }, "spc": { "config": { "algorithm": "pc" } } },
          "axes": { "optimizer.lr": [0.003, 0.03] },
          "seeds": [0, 1]
        }
        """);

    static string WriteSpec(string dir, string text)
    {
        var path = Path.Combine(dir, "spec.json");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ASweepRunsToCompletionAndReportsAndExports()
    {
        var dir = Files.Temp("hybrid-sweep-facade-");
        var data = Files.Idx(Path.Combine(dir, "data"), 60, 30);
        var storage = SweepStorage.Open(Path.Combine(dir, "sweeps.db"));
        var spec = Spec(dir, data);
        var created = storage.Create(spec);
        Assert.Equal(("facade", 8, true), (created.Name, created.Trials, created.Created));
        Assert.Equal(["bp", "spc"], created.Methods);
        Assert.False(storage.Create(spec).Created);

        var result = storage.Work(new SweepWorkerOptions { Out = Path.Combine(dir, "runs"), Name = "facade-worker" });
        Assert.Equal(8, result.Trials.Count);
        Assert.False(result.Interrupted);
        Assert.All(result.Trials, t => Assert.Equal("completed", t.Status));

        var trials = storage.Trials();
        Assert.All(trials, t => Assert.Equal((1, 1, "facade-worker", 2), (t.Completions, t.Attempts, t.Worker, t.Epochs)));
        Assert.Equal(16, storage.Events().Count); // a claim and a completion each

        var report = storage.Report(folder: Path.Combine(dir, "report"));
        var groups = report.Json!["groups"]!.AsArray();
        var methods = groups[0]!["methods"]!.AsArray();
        Assert.Equal(2, methods.Count);
        var best = methods[0]!["best"]!;
        Assert.Equal(2, best["values"]!.AsArray().Count);
        Assert.True(File.Exists(Path.Combine(dir, "report", "trials.csv")));
        Assert.Contains(report.Tables, t => t.Title.StartsWith("Welch"));

        var files = storage.Export(Path.Combine(dir, "best"));
        Assert.Equal(2, files.Count);
        var cfg = JsonNode.Parse(File.ReadAllText(files[0]))!;
        Assert.Equal("bp", (string)cfg["algorithm"]!);
    }

    [Fact]
    public void StorageFailuresAreSweepStorageExceptions()
    {
        Assert.Throws<SweepStorageException>(() => SweepStorage.Open("redis://host/x"));
        var unreachable = SweepStorage.Open("postgres://nobody@127.0.0.1:1/none?Timeout=3");
        var e = Assert.Throws<SweepStorageException>(() => unreachable.Sweeps());
        Assert.Contains("127.0.0.1:1", e.Message);
        var dir = Files.Temp("hybrid-sweep-facade-");
        var empty = SweepStorage.Open(Path.Combine(dir, "empty.db"));
        Assert.Throws<SweepStorageException>(() => empty.Status());
    }

    [Fact]
    public void BadSpecsAreArgumentExceptions()
    {
        var dir = Files.Temp("hybrid-sweep-facade-");
        var storage = SweepStorage.Open(Path.Combine(dir, "sweeps.db"));
        var e = Assert.Throws<ArgumentException>(() => storage.Create(WriteSpec(dir, """{ "axes": { "optimizer.lr": [0.1, -1] } }""")));
        Assert.Contains("optimizer.lr=-1", HybridErrors.Describe(e));
        Assert.ThrowsAny<ArgumentException>(() => storage.Create(Path.Combine(dir, "missing.json")));
        Assert.Empty(storage.Sweeps());
    }
}
