using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Data;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Hybrid.Cli;

/// <summary>`hybrid reproduce ...`: the papers' experiments with their checked-in configurations.</summary>
public static class ReproduceCommand
{
    public static Command Create()
    {
        var cmd = new Command("reproduce", "Reproduce a paper's experiment with the checked-in configurations (configs/).");
        cmd.Subcommands.Add(Table1());
        return cmd;
    }

    static readonly Option<string> DatasetOpt = new("--dataset") { Description = "Dataset (fashion-mnist, mnist10k, mnist, kmnist, or folder:PATH).", DefaultValueFactory = _ => "fashion-mnist" };
    static readonly Option<double> Fraction = new("--fraction") { Description = "Fraction of the training set (the paper: 0.25, 0.5, 1).", DefaultValueFactory = _ => 1.0 };
    static readonly Option<int> Seeds = new("--seeds") { Description = "Seeds per method (the paper: 3).", DefaultValueFactory = _ => 3 };
    static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs per run (the paper: 16).", DefaultValueFactory = _ => 16 };

    static Command Table1()
    {
        var cmd = new Command("table1", "Pinchetti et al., Table 1: BP, PC-fw and PC-avg on the paper's 5-layer MLP (width 512, batch 200, AdamW on weights, SGD on states).");
        cmd.Options.Add(DatasetOpt); cmd.Options.Add(Fraction); cmd.Options.Add(Seeds); cmd.Options.Add(Epochs); cmd.Options.Add(TrainCommand.Out);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var dataset = pr.GetValue(DatasetOpt)!;
            var fraction = pr.GetValue(Fraction);
            var seeds = pr.GetValue(Seeds);
            var epochs = pr.GetValue(Epochs);
            if (seeds < 1) throw new ArgumentException($"--seeds must be at least 1, got {seeds}");
            var root = CommonOptions.Root(pr.GetValue(CommonOptions.Data));
            var configs = Enumerable.Range(0, seeds)
                .SelectMany(s => Reproduce.table1Configs(dataset, root, fraction, epochs, s))
                .ToList();
            var device = Runtime.device(DeviceChoice.Parse(pr.GetValue(CommonOptions.Device) ?? "auto"));
            var cfgs = configs.Select(c => Config.applyJson(new JsonObject { ["device"] = pr.GetValue(CommonOptions.Device) ?? "auto" }, c.Item2)).ToList();
            var started = DateTime.UtcNow;
            var data = DatasetModule.load(root, dataset);
            using var cts = Cancellation.OnCtrlC();
            var outRoot = Path.Combine(pr.GetValue(TrainCommand.Out) ?? "runs", $"table1-{dataset}-f{fraction.ToString(CultureInfo.InvariantCulture)}-{started:yyyyMMdd-HHmmss}");
            var results = Runner.RunMany(cfgs, data, device, outRoot, new RunDisplay(json), cts.Token, out var folders);
            var methods = Reproduce.table1Methods.ToList();
            var rows = methods.Select((m, i) =>
            {
                var mine = results.Where((r, j) => configs[j].Item1 == m.Item1).ToList();
                return Reproduce.row(m.Item1, Reproduce.paperNumber(dataset, fraction, i), ListModule.OfSeq(mine));
            }).ToList();
            var wall = (DateTime.UtcNow - started).TotalSeconds;
            Print(json, dataset, fraction, seeds, epochs, rows, wall, outRoot);
            return results.Count == cfgs.Count && rows.All(r => r.Failed == 0) ? 0 : 3;
        });
        return cmd;
    }

    static string F(double x) => double.IsNaN(x) ? "-" : x.ToString("F2", CultureInfo.InvariantCulture);

    static void Print(bool json, string dataset, double fraction, int seeds, int epochs, IReadOnlyList<Reproduce.TableRow> rows, double wall, string outRoot)
    {
        if (json)
        {
            var arr = new JsonArray();
            foreach (var r in rows)
            {
                var (bm, bs) = Reproduce.meanStd(r.Best);
                var (fm, fs) = Reproduce.meanStd(r.Final);
                arr.Add(new JsonObject
                {
                    ["method"] = r.Method,
                    ["bestMean"] = double.IsNaN(bm) ? null : bm, ["bestStd"] = double.IsNaN(bs) ? null : bs,
                    ["finalMean"] = double.IsNaN(fm) ? null : fm, ["finalStd"] = double.IsNaN(fs) ? null : fs,
                    ["best"] = new JsonArray(r.Best.Select(x => (JsonNode)x).ToArray()),
                    ["paper"] = r.Paper is null ? null : r.Paper.Value,
                    ["failed"] = r.Failed, ["smmPerRun"] = r.Smm, ["secondsPerRun"] = r.Seconds,
                });
            }
            Output.Json(new JsonObject
            {
                ["experiment"] = "table1", ["dataset"] = dataset, ["fraction"] = fraction, ["seeds"] = seeds, ["epochs"] = epochs,
                ["rows"] = arr, ["wallSeconds"] = wall, ["runs"] = outRoot,
            });
            return;
        }
        Output.Table($"Table 1: {dataset}, fraction {fraction}, {seeds} seed(s), {epochs} epoch(s); test accuracy %, mean ± std over seeds",
            ["method", "best epoch", "last epoch", "paper", "ours - paper", "SMM/run", "s/run", "failed"],
            rows.Select(r =>
            {
                var (bm, bs) = Reproduce.meanStd(r.Best);
                var (fm, fs) = Reproduce.meanStd(r.Final);
                var paper = r.Paper is null ? "-" : F(r.Paper.Value);
                var delta = r.Paper is null || double.IsNaN(bm) ? "-" : (bm - r.Paper.Value).ToString("+0.00;-0.00", CultureInfo.InvariantCulture);
                return (IReadOnlyList<string>)[r.Method, $"{F(bm)} ± {F(bs)}", $"{F(fm)} ± {F(fs)}", paper, delta,
                    r.Smm.ToString("F0", CultureInfo.InvariantCulture), r.Seconds.ToString("F0", CultureInfo.InvariantCulture), r.Failed.ToString()];
            }));
        Console.WriteLine($"wall time {wall:F0}s; run folders under {outRoot}");
    }
}
