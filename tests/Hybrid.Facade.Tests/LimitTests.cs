using System.Diagnostics;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Runs that cannot fit, or whose folder is not its own, are refused in one line with exit 4 before
/// anything is allocated or written.</summary>
public class LimitTests
{
    static readonly string Data = Files.Idx(Path.Combine(Files.Temp("hybrid-limits-"), "data"), 40, 20);

    [Fact]
    public void AModelTooLargeForTheMachineIsRefusedWithItsEstimateWithinSeconds()
    {
        var dir = Files.Temp("hybrid-oversized-");
        var root = Path.Combine(dir, "R");
        var watch = Stopwatch.StartNew();
        var r = Cli.Run(dir, ["train", "--dataset", $"folder:{Data}", "--width", "100000", "--hidden", "2", "--epochs", "1", "--batch-size", "10",
                              "--out", root, "--device", "cpu"], seconds: 60);
        Assert.True(r.Code == 4, $"exit {r.Code}: {r.Err}");
        Assert.True(watch.Elapsed.TotalSeconds < 30, $"took {watch.Elapsed.TotalSeconds:F1}s");
        var line = Assert.Single(r.ErrLines);
        Assert.Contains("the model needs about", line);
        Assert.Contains("parameters", line);
        Assert.Contains("AdamW state", line);
        Assert.Contains("is available", line);
        Assert.Contains("lower --width or --hidden", line);
        Assert.Contains("HYBRID_MEMORY_CHECK=0", line);
        Assert.False(Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any(), "no run folder is left behind");
    }

    [Fact]
    public void AResumeThroughASymlinkedResultsFileIsRefusedAndItsTargetIsUntouched()
    {
        var dir = Files.Temp("hybrid-symlink-");
        var root = Path.Combine(dir, "R");
        var train = Cli.Run(dir, ["train", "--dataset", $"folder:{Data}", "--width", "8", "--hidden", "1", "-T", "2", "--epochs", "1",
                                  "--batch-size", "10", "--name", "L", "--out", root, "--device", "cpu", "--threads", "1"]);
        Assert.True(train.Code == 0, train.Err);
        var folder = Directory.GetDirectories(root).Single();
        var outside = Path.Combine(dir, "elsewhere.jsonl");
        File.WriteAllText(outside, "not a run's\n");
        var results = Path.Combine(folder, "results.jsonl");
        File.Delete(results);
        File.CreateSymbolicLink(results, outside);
        var r = Cli.Run(dir, ["train", "--resume", folder]);
        Assert.True(r.Code == 4, $"exit {r.Code}: {r.Err}");
        Assert.Contains("results.jsonl is a symbolic link", Assert.Single(r.ErrLines));
        Assert.Equal("not a run's\n", File.ReadAllText(outside));
    }
}
