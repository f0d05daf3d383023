using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hybrid.Cli;

/// <summary>`hybrid compare RUN...`: several runs on one figure and in one table.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run folders (each with results.jsonl).", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string>("--out") { Description = "Folder for the comparison plots.", DefaultValueFactory = _ => "runs/compare" };
        var cmd = new Command("compare", "Plot several runs on one figure (accuracy, energy, accuracy vs SMM and seconds) and print a table.");
        cmd.Arguments.Add(runs);
        cmd.Options.Add(outDir);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var records = pr.GetValue(runs)!.Select(RunPlots.Read).ToList();
            var files = RunPlots.Write(pr.GetValue(outDir)!, records);
            var rows = records.Select(r =>
            {
                var acc = r.Get("testAccuracy").Where(double.IsFinite).ToList();
                return (r.Name, Epochs: r.Epochs.Count, Best: acc.Count > 0 ? acc.Max() : double.NaN, Final: acc.Count > 0 ? acc[^1] : double.NaN,
                    Smm: r.Get("smm").LastOrDefault(double.NaN), Seconds: r.Get("seconds").LastOrDefault(double.NaN), r.Folder);
            }).ToList();
            if (json)
            {
                Output.Json(new JsonObject
                {
                    ["runs"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
                    {
                        ["name"] = r.Name, ["folder"] = r.Folder, ["epochs"] = r.Epochs, ["bestAccuracy"] = r.Best, ["finalAccuracy"] = r.Final, ["smm"] = r.Smm, ["seconds"] = r.Seconds,
                    }).ToArray()),
                    ["plots"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()),
                });
                return 0;
            }
            var inv = CultureInfo.InvariantCulture;
            Output.Table("Runs", ["run", "epochs", "best acc %", "last acc %", "SMM", "seconds", "folder"],
                rows.Select(r => (IReadOnlyList<string>)[r.Name, r.Epochs.ToString(), r.Best.ToString("F2", inv), r.Final.ToString("F2", inv), r.Smm.ToString("F0", inv), r.Seconds.ToString("F1", inv), r.Folder]));
            Console.WriteLine($"plots: {string.Join(", ", files)}");
            return 0;
        });
        return cmd;
    }
}
