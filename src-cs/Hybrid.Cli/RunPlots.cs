using System.Globalization;
using System.Text.Json.Nodes;
using Hybrid.Facade;

namespace Hybrid.Cli;

/// <summary>The plots of run folders, drawn from their results.jsonl.</summary>
public static class RunPlots
{
    /// <summary>One run's epoch records as read from its results file.</summary>
    public sealed record RunRecords(string Folder, string Name, IReadOnlyList<JsonObject> Epochs)
    {
        public IReadOnlyList<double> Get(string field) => Epochs.Select(e => e[field] is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN).ToList();
    }

    public static RunRecords Read(string folder)
    {
        var records = Runs.readResults(folder).ToList();
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(folder));
        var cfg = Path.Combine(folder, "config.json");
        if (File.Exists(cfg) && JsonNode.Parse(File.ReadAllText(cfg)) is JsonObject o && o["name"] is JsonValue n) name = n.GetValue<string>();
        return new RunRecords(folder, name, records);
    }

    /// <summary>Writes accuracy and energy per epoch, accuracy vs SMM and vs seconds, and per-layer energies.</summary>
    public static IReadOnlyList<string> Write(string outDir, IReadOnlyList<RunRecords> runs)
    {
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        void Plot(string file, string title, string x, string y, string xField, string yField, bool logY = false)
        {
            var path = Path.Combine(outDir, file);
            Plots.Lines(path, title, x, y, runs.Select(r => new Series(r.Name, r.Get(xField), r.Get(yField), Markers: true)), logY: logY,
                legend: ScottPlot.Alignment.LowerRight);
            files.Add(path);
        }
        Plot("accuracy.png", "Test accuracy per epoch", "epoch", "test accuracy %", "epoch", "testAccuracy");
        Plot("energy.png", "Mean train energy per epoch", "epoch", "energy per sample", "epoch", "trainEnergy", logY: true);
        Plot("accuracy-vs-smm.png", "Test accuracy vs sequential matrix multiplications", "SMM", "test accuracy %", "smm", "testAccuracy");
        Plot("accuracy-vs-seconds.png", "Test accuracy vs training seconds", "seconds", "test accuracy %", "seconds", "testAccuracy");
        var layered = runs.Where(r => r.Epochs.Count > 0 && r.Epochs[^1]["layerEnergies"] is JsonArray a && a.Count > 0).ToList();
        if (layered.Count > 0)
        {
            var path = Path.Combine(outDir, "layer-energies.png");
            var series = layered.SelectMany(r =>
            {
                var layers = ((JsonArray)r.Epochs[^1]["layerEnergies"]!).Count;
                return Enumerable.Range(0, layers).Select(l => new Series($"{r.Name} {(l == layers - 1 ? "output" : $"layer {l + 1}")}",
                    r.Epochs.Select(e => e["epoch"]!.GetValue<double>()).ToList(),
                    r.Epochs.Select(e => e["layerEnergies"] is JsonArray le && le.Count > l ? le[l]!.GetValue<double>() : double.NaN).ToList(),
                    Dashed: l == layers - 1));
            });
            Plots.Lines(path, "Per-layer energy per sample (last batch of each epoch)", "epoch", "energy", series, logY: true);
            files.Add(path);
        }
        return files;
    }
}
