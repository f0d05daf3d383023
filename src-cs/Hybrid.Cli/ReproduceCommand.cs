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
        cmd.Subcommands.Add(DeepMlp());
        cmd.Subcommands.Add(MuPC());
        cmd.Subcommands.Add(Reconstruction());
        return cmd;
    }

    static Command Reconstruction()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs per run (the paper: 16).", DefaultValueFactory = _ => 16 };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per cell (the paper: 3).", DefaultValueFactory = _ => 3 };
        var steps = new Option<string>("--steps") { Description = "T_train = T_eval values, comma-separated.", DefaultValueFactory = _ => "3,5,10,20" };
        var inits = new Option<string>("--inits") { Description = "Initializers (configs/reconstruction/NAME.json), comma-separated.", DefaultValueFactory = _ => "random,zero,keep,mem" };
        var cmd = new Command("reconstruction", """
            Pinchetti et al., Fig. 7: a generative PCN (latent 64, three layers of 256) trained with the random, zero, keep and
            memory initializers for T_train = T_eval in {3,5,10,20}; prints the best test reconstruction MSE per cell and writes the
            loss-vs-T plot and image grids (originals above reconstructions) for the smallest T.
            """);
        foreach (var o in new Option[] { DatasetOpt, Fraction, epochs, seeds, steps, inits, TrainCommand.Out }) cmd.Options.Add(o);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var dataset = pr.GetValue(DatasetOpt)!;
            var root = CommonOptions.Root(pr.GetValue(CommonOptions.Data));
            var ts = pr.GetValue(steps)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.TryParse(t, out var v) && v >= 1 ? v : throw new ArgumentException($"--steps: '{t}' is not a step count of at least 1")).ToList();
            var names = pr.GetValue(inits)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            var n = pr.GetValue(seeds);
            if (n < 1) throw new ArgumentException($"--seeds must be at least 1, got {n}");
            var deviceText = pr.GetValue(CommonOptions.Device) ?? "auto";
            var baseConfigs = names.ToDictionary(k => k, k => Generative.load(Reproduce.findConfig($"reconstruction/{k}.json"), Generative.defaults));
            var jobs = (from k in names from t in ts from seed in Enumerable.Range(0, n)
                        let o = new JsonObject
                        {
                            ["name"] = $"recon-{k}-T{t}-s{seed}", ["dataset"] = dataset, ["fraction"] = pr.GetValue(Fraction), ["epochs"] = pr.GetValue(epochs),
                            ["trainSteps"] = t, ["evalSteps"] = t, ["seed"] = seed, ["device"] = deviceText,
                        }
                        select (Init: k, T: t, Seed: seed, Config: Generative.codec.Read.Invoke("").Invoke(baseConfigs[k]).Invoke(o))).ToList();
            foreach (var j in jobs) j.Config.Validate();
            var device = Runtime.device(Choices.device.Parse(deviceText));
            var data = DatasetModule.load(root, dataset);
            var started = DateTime.UtcNow;
            var outRoot = Path.Combine(pr.GetValue(TrainCommand.Out) ?? "runs", $"reconstruction-{dataset}-{started:yyyyMMdd-HHmmss}");
            Directory.CreateDirectory(outRoot);
            using var cts = Cancellation.OnCtrlC();
            var results = new Generative.GenResult?[jobs.Count];
            using var testImages = Generative.images(device, Precision.Float32, data.Test);
            new RunDisplay(json).Run(jobs.Select(j => j.Config.Name).ToList(), (i, progress, _) =>
            {
                if (cts.IsCancellationRequested) return;
                var cfg = jobs[i].Config;
                using var scope = TorchSharp.torch.NewDisposeScope();
                var train = Generative.images(device, cfg.Precision, DatasetModule.fraction(cfg.Fraction, Rng.derive(cfg.Seed, "fraction"), data.Train));
                var lines = new List<string>();
                results[i] = Generative.trainWithSamples(cfg, train, testImages, jobs[i].T == ts.Min() && jobs[i].Seed == 0 ? 10 : 0, progress,
                    FuncConvert.FromAction<Generative.GenEpoch>(e => lines.Add($"{{\"epoch\":{e.Epoch},\"trainEnergy\":{e.TrainEnergy.ToString("R", Inv)},\"testMse\":{e.TestMse.ToString("R", Inv)},\"seconds\":{e.Seconds.ToString("R", Inv)}}}")),
                    cts.Token);
                File.WriteAllLines(Path.Combine(outRoot, $"{cfg.Name}.jsonl"), lines);
            });
            var cells = names.ToDictionary(k => k, k => ts.ToDictionary(t => t, t =>
            {
                var best = jobs.Select((j, i) => (j, r: results[i])).Where(p => p.j.Init == k && p.j.T == t && p.r is { } r && r.Status.IsCompleted && r.Best is not null)
                    .Select(p => p.r!.Best!.Value).ToList();
                return best.Count == 0 ? double.NaN : best.Average();
            }));
            var plot = Path.Combine(outRoot, "loss-vs-T.png");
            Hybrid.Facade.Plots.Lines(plot, $"Best test reconstruction MSE vs T (T_train = T_eval), {dataset}", "T", "MSE per pixel",
                names.Select(k => new Hybrid.Facade.Series(k, ts.Select(t => (double)t).ToList(), ts.Select(t => cells[k][t]).ToList(), Markers: true)));
            var grids = new List<string>();
            var tMin = ts.Min();
            var originals = Enumerable.Range(0, 10).Select(i => data.Test.Pixels.AsSpan(i * 784, 784).ToArray()).ToList();
            var gridRows = new List<IReadOnlyList<float[]>> { originals };
            foreach (var k in names)
            {
                var idx = jobs.FindIndex(j => j.Init == k && j.T == tMin && j.Seed == 0);
                if (idx >= 0 && results[idx] is { } r && r.Samples.Length > 0) gridRows.Add(r.Samples.ToList());
            }
            var gridPath = Path.Combine(outRoot, $"reconstructions-T{tMin}.png");
            if (data.Test.SampleSize == 784) { Hybrid.Facade.Images.SaveGrid(gridPath, gridRows, 28, 28); grids.Add(gridPath); }
            var verdict = cells.ContainsKey("mem") && cells.ContainsKey("zero") && ts.Contains(3) && ts.Contains(20)
                ? (double?)(cells["mem"][3] - cells["zero"][20]) : null;
            var doc = new JsonObject
            {
                ["experiment"] = "reconstruction", ["dataset"] = dataset, ["fraction"] = pr.GetValue(Fraction), ["epochs"] = pr.GetValue(epochs), ["seeds"] = n,
                ["cells"] = new JsonArray(names.SelectMany(k => ts.Select(t => (JsonNode)new JsonObject { ["init"] = k, ["T"] = t, ["bestMse"] = double.IsNaN(cells[k][t]) ? null : cells[k][t] })).ToArray()),
                ["memT3MinusZeroT20"] = verdict, ["plot"] = plot, ["grids"] = new JsonArray(grids.Select(g => (JsonNode)g).ToArray()), ["runs"] = outRoot,
                ["wallSeconds"] = (DateTime.UtcNow - started).TotalSeconds,
            };
            File.WriteAllText(Path.Combine(outRoot, "summary.json"), doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            if (json) { Output.Json(doc); return 0; }
            Output.Table($"Best test reconstruction MSE per pixel ({dataset}, fraction {pr.GetValue(Fraction)}, {pr.GetValue(epochs)} epoch(s), mean over {n} seed(s)); rows: initializer, columns: T_train = T_eval",
                new[] { "init" }.Concat(ts.Select(t => $"T={t}")).ToList(),
                names.Select(k => (IReadOnlyList<string>)new[] { k }.Concat(ts.Select(t => double.IsNaN(cells[k][t]) ? "-" : cells[k][t].ToString("F5", Inv))).ToList()));
            if (verdict is { } v)
                Console.WriteLine($"memory at T=3 {(v <= 0 ? "reconstructs at least as well as" : "is worse than")} zero initialisation at T=20 ({cells["mem"][3]:F5} vs {cells["zero"][20]:F5})");
            Console.WriteLine($"plot: {plot}; image grids: {string.Join(", ", grids)}; runs: {outRoot}");
            return 0;
        });
        return cmd;
    }

    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>A checked-in config with fields overridden by a JSON object.</summary>
    static TrainConfig Load(string relative, JsonObject overrides) =>
        Config.apply(overrides, Config.load(Reproduce.findConfig(relative), Config.defaults));

    static Command DeepMlp()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs per run.", DefaultValueFactory = _ => 5 };
        var seeds = new Option<int>("--seeds") { Description = "Seeds per method.", DefaultValueFactory = _ => 1 };
        var steps = new Option<int?>("--steps", "-T") { Description = "Inference steps for sPC and ePC (default: the configs')." };
        var cmd = new Command("deep-mlp", "A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight optimiser (configs/deep-mlp).");
        cmd.Options.Add(DatasetOpt); cmd.Options.Add(Fraction); cmd.Options.Add(seeds); cmd.Options.Add(epochs); cmd.Options.Add(steps); cmd.Options.Add(TrainCommand.Out);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var dataset = pr.GetValue(DatasetOpt)!;
            var root = CommonOptions.Root(pr.GetValue(CommonOptions.Data));
            var n = pr.GetValue(seeds);
            if (n < 1) throw new ArgumentException($"--seeds must be at least 1, got {n}");
            var labels = new[] { ("BP", "bp"), ("sPC", "spc"), ("ePC", "epc") };
            var configs = Enumerable.Range(0, n).SelectMany(seed => labels.Select(l =>
            {
                var o = new JsonObject
                {
                    ["name"] = $"deep-mlp-{l.Item2}-s{seed}", ["dataset"] = dataset, ["fraction"] = pr.GetValue(Fraction),
                    ["epochs"] = pr.GetValue(epochs), ["seed"] = seed,
                };
                if (root is not null) o["data"] = root.Value;
                if (pr.GetValue(steps) is { } t && l.Item2 != "bp") o["inference"] = new JsonObject { ["steps"] = t };
                return (l.Item1, Load($"deep-mlp/{l.Item2}.json", o));
            })).ToList();
            return RunTable(pr, $"deep-mlp-{dataset}", $"20-layer MLP (width 128) on {dataset}: {pr.GetValue(epochs)} epoch(s), {n} seed(s); test accuracy %",
                dataset, root, configs, labels.Select(l => (l.Item1, (double?)null)).ToList());
        });
        return cmd;
    }

    static Command MuPC()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs per run.", DefaultValueFactory = _ => 1 };
        var depths = new Option<string>("--depths") { Description = "Numbers of weight layers, comma-separated.", DefaultValueFactory = _ => "8,32,128" };
        var steps = new Option<int?>("--steps", "-T") { Description = "Inference steps (default: the configs')." };
        var cmd = new Command("mupc", "Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC and under the standard parameterisation (configs/mupc).");
        cmd.Options.Add(DatasetOpt); cmd.Options.Add(Fraction); cmd.Options.Add(epochs); cmd.Options.Add(depths); cmd.Options.Add(steps); cmd.Options.Add(TrainCommand.Out);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var dataset = pr.GetValue(DatasetOpt)!;
            var root = CommonOptions.Root(pr.GetValue(CommonOptions.Data));
            var ds = pr.GetValue(depths)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => int.TryParse(d, out var v) && v >= 3 ? v : throw new ArgumentException($"--depths: '{d}' is not a depth of at least 3")).ToList();
            var labels = ds.SelectMany(d => new[] { ($"muPC L={d}", "mupc", d), ($"SP L={d}", "sp", d) }).ToList();
            var configs = labels.Select(l =>
            {
                var o = new JsonObject
                {
                    ["name"] = $"{l.Item2}-L{l.Item3}", ["dataset"] = dataset, ["fraction"] = pr.GetValue(Fraction), ["epochs"] = pr.GetValue(epochs),
                    ["model"] = new JsonObject { ["layers"] = l.Item3 },
                };
                if (root is not null) o["data"] = root.Value;
                if (pr.GetValue(steps) is { } t) o["inference"] = new JsonObject { ["steps"] = t };
                return (l.Item1, Load($"mupc/{l.Item2}.json", o));
            }).ToList();
            return RunTable(pr, $"mupc-{dataset}", $"Residual MLPs (width 128, ReLU) with sPC on {dataset}, {pr.GetValue(epochs)} epoch(s): muPC vs standard parameterisation; test accuracy %",
                dataset, root, configs, labels.Select(l => (l.Item1, (double?)null)).ToList());
        });
        return cmd;
    }

    static readonly Option<string> DatasetOpt = new("--dataset") { Description = "Dataset (fashion-mnist, mnist10k, mnist, kmnist, or folder:PATH).", DefaultValueFactory = _ => "fashion-mnist" };
    static readonly Option<double> Fraction = new("--fraction") { Description = "Fraction of the training set (the paper: 0.25, 0.5, 1).", DefaultValueFactory = _ => 1.0 };
    static readonly Option<int> Seeds = new("--seeds") { Description = "Seeds per method (the paper: 3).", DefaultValueFactory = _ => 3 };
    static readonly Option<int> Epochs = new("--epochs") { Description = "Epochs per run (the paper: 16).", DefaultValueFactory = _ => 16 };

    static Command Table1()
    {
        var cmd = new Command("table1", "Pinchetti et al., Table 1: BP, PC-fw and PC-avg on the paper's 5-layer MLP (width 512, batch 200, AdamW on weights, SGD on states); PC-mem on request.");
        var methodsOpt = new Option<string>("--methods") { Description = "Methods (configs/table1/NAME.json), comma-separated: bp, pc-fw, pc-avg, pc-mem.", DefaultValueFactory = _ => string.Join(",", Reproduce.table1Default) };
        cmd.Options.Add(DatasetOpt); cmd.Options.Add(Fraction); cmd.Options.Add(Seeds); cmd.Options.Add(Epochs); cmd.Options.Add(methodsOpt); cmd.Options.Add(TrainCommand.Out);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var dataset = pr.GetValue(DatasetOpt)!;
            var fraction = pr.GetValue(Fraction);
            var seeds = pr.GetValue(Seeds);
            var epochs = pr.GetValue(Epochs);
            if (seeds < 1) throw new ArgumentException($"--seeds must be at least 1, got {seeds}");
            var root = CommonOptions.Root(pr.GetValue(CommonOptions.Data));
            var names = pr.GetValue(methodsOpt)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (names.Length == 0) throw new ArgumentException("--methods needs at least one method (bp, pc-fw, pc-avg, pc-mem)");
            var chosen = ListModule.OfSeq(names);
            var configs = Enumerable.Range(0, seeds)
                .SelectMany(s => Reproduce.table1Configs(chosen, dataset, root, fraction, epochs, s))
                .Select(c => (c.Item1, c.Item2))
                .ToList();
            var methods = names.Select(n => (Reproduce.table1Label(n), Reproduce.paperNumber(dataset, fraction, n) is { } p ? (double?)p.Value : null)).ToList();
            return RunTable(pr, $"table1-{dataset}-f{fraction.ToString(CultureInfo.InvariantCulture)}",
                $"Table 1: {dataset}, fraction {fraction}, {seeds} seed(s), {epochs} epoch(s); test accuracy %, mean ± std over seeds",
                dataset, root, configs, methods);
        });
        return cmd;
    }

    /// <summary>Runs labelled configurations (several seeds per label) on one dataset and prints the
    /// table of best and last-epoch test accuracy per label, next to the paper's number where given.</summary>
    public static int RunTable(ParseResult pr, string runName, string title, string dataset, Microsoft.FSharp.Core.FSharpOption<string> root,
        IReadOnlyList<(string Label, TrainConfig Config)> configs, IReadOnlyList<(string Label, double? Paper)> methods)
    {
        var json = pr.GetValue(CommonOptions.Json);
        var deviceText = pr.GetValue(CommonOptions.Device) ?? "auto";
        var device = Runtime.device(Choices.device.Parse(deviceText));
        var cfgs = configs.Select(c => Config.apply(new JsonObject { ["device"] = deviceText }, c.Config)).ToList();
        var started = DateTime.UtcNow;
        var data = DatasetModule.load(root, dataset);
        using var cts = Cancellation.OnCtrlC();
        var outRoot = Path.Combine(pr.GetValue(TrainCommand.Out) ?? "runs", $"{runName}-{started:yyyyMMdd-HHmmss}");
        var results = Runner.RunMany(cfgs, data, device, outRoot, new RunDisplay(json), cts.Token, out _);
        var rows = methods.Select(m =>
        {
            var mine = results.Where((r, j) => configs[j].Label == m.Label).ToList();
            return Reproduce.row(m.Label, m.Paper is { } p ? Microsoft.FSharp.Core.FSharpOption<double>.Some(p) : null, ListModule.OfSeq(mine));
        }).ToList();
        var wall = (DateTime.UtcNow - started).TotalSeconds;
        Print(json, title, runName, rows, wall, outRoot);
        foreach (var r in results.Where(r => !r.Status.IsCompleted))
            Output.Info(json, $"{r.Config.Name}: {(r.Status is Hybrid.RunStatus.Diverged d ? "diverged: " + d.message : r.Status.ToString())}");
        return results.Count == cfgs.Count && rows.All(r => r.Failed == 0) ? 0 : 3;
    }

    static string F(double x) => double.IsNaN(x) ? "-" : x.ToString("F2", CultureInfo.InvariantCulture);

    static void Print(bool json, string title, string experiment, IReadOnlyList<Reproduce.TableRow> rows, double wall, string outRoot)
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
                ["experiment"] = experiment, ["title"] = title, ["rows"] = arr, ["wallSeconds"] = wall, ["runs"] = outRoot,
            });
            return;
        }
        Output.Table(title,
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
