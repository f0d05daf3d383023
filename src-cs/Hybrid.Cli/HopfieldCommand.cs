using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Data;
using Hybrid.Experiments;
using Hybrid.Facade;
using TorchSharp;

namespace Hybrid.Cli;

/// <summary>`hybrid hopfield phase|retrieve`: modern Hopfield networks.</summary>
public static class HopfieldCommand
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var cmd = new Command("hopfield", "Modern Hopfield networks: the inverse-temperature phase transition, and retrieval from corrupted queries.");
        cmd.Subcommands.Add(PhaseCommand());
        cmd.Subcommands.Add(Retrieve());
        return cmd;
    }

    static List<T> ParseList<T>(string text, string option, Func<string, T?> parse) where T : struct =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => parse(t) ?? throw new ArgumentException($"{option}: '{t}' is not valid")).ToList();

    static Hopfield.Patterns Make(string kind, int count, double norm, int dim, long seed, FSharpRoot root) => kind switch
    {
        "simplex" => Hopfield.PatternsModule.simplex(count, norm, dim, seed),
        "orthogonal" => Hopfield.PatternsModule.orthogonal(count, norm, dim, seed),
        "random" => Hopfield.PatternsModule.random(count, norm, dim, seed),
        _ => DatasetPatterns(kind, count, norm, seed, root),
    };

    /// <summary>The first <paramref name="count"/> training images of a dataset, centred on their mean and scaled to norm <paramref name="norm"/>.</summary>
    static Hopfield.Patterns DatasetPatterns(string name, int count, double norm, long seed, FSharpRoot root)
    {
        var data = DatasetModule.load(root.Value, name);
        var split = data.Train;
        if (count > split.Count) throw new ArgumentException($"--count {count} is more than the {split.Count} training images of {name}");
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(split.Pixels, dtype: torch.float64).reshape(split.Count, split.SampleSize).narrow(0, 0, count);
        x = x - x.mean([0L], keepdim: true);
        x = Ops.mul(x / x.norm(1, keepdim: true), norm);
        return Hopfield.PatternsModule.ofTensor(x);
    }

    /// <summary>Wraps the optional data root.</summary>
    public readonly record struct FSharpRoot(Microsoft.FSharp.Core.FSharpOption<string> Value);

    static Command PhaseCommand()
    {
        var patterns = new Option<string>("--patterns") { Description = "simplex, orthogonal, random, or a dataset name (its first images, centred and scaled).", DefaultValueFactory = _ => "simplex" };
        var counts = new Option<string>("--count") { Description = "Numbers of patterns N, comma-separated.", DefaultValueFactory = _ => "3,5,10" };
        var norms = new Option<string>("--norm") { Description = "Pattern norms M, comma-separated.", DefaultValueFactory = _ => "1,2" };
        var dim = new Option<int>("--dim") { Description = "Dimension of generated patterns (default N + 2).", DefaultValueFactory = _ => 0 };
        var points = new Option<int>("--points") { Description = "beta values in the sweep (geometric, 0.1 to 3 times the predicted beta_c).", DefaultValueFactory = _ => 41 };
        var starts = new Option<int>("--starts") { Description = "Starting points per beta.", DefaultValueFactory = _ => 64 };
        var seed = new Option<long>("--seed") { Description = "Seed of patterns and starts.", DefaultValueFactory = _ => 0L };
        var outDir = new Option<string>("--out") { Description = "Folder for plots, CSV and JSON.", DefaultValueFactory = _ => "runs/hopfield-phase" };
        var cmd = new Command("phase", """
            Sweep beta; from many starts find the fixed points, dedupe them, check which are minima and classify them
            (global average, metastable mixture, single pattern). Reports the measured critical beta (bisection on the
            centroid's Hessian), where single-pattern minima appear, and the prediction N/(M^2 - c).
            """);
        foreach (var o in new Option[] { patterns, counts, norms, dim, points, starts, seed, outDir }) cmd.Options.Add(o);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var kind = pr.GetValue(patterns)!;
            var ns = ParseList<int>(pr.GetValue(counts)!, "--count", t => int.TryParse(t, out var v) && v >= 2 ? v : null);
            var ms = ParseList<double>(pr.GetValue(norms)!, "--norm", t => double.TryParse(t, NumberStyles.Float, Inv, out var v) && v > 0 ? v : null);
            var outPath = pr.GetValue(outDir)!;
            Directory.CreateDirectory(outPath);
            var root = new FSharpRoot(CommonOptions.Root(pr.GetValue(CommonOptions.Data)));
            var results = new List<(int N, double M, Hybrid.Experiments.Phase.PhaseResult R, string Bif, string Count)>();
            var csv = new List<string> { "N,M,beta,beta_eff,kind,is_minimum,max_weight,basin" };
            foreach (var n in ns)
                foreach (var m in ms)
                {
                    var d = pr.GetValue(dim) > 0 ? pr.GetValue(dim) : n + 2;
                    var p = Make(kind, n, m, d, pr.GetValue(seed), root);
                    var predicted = Hopfield.predictedCriticalBeta(p);
                    Output.Info(json, $"N={n} M={m}: sweeping beta around the predicted {predicted:G4}...");
                    var betas = Hybrid.Experiments.Phase.grid(predicted / 10, predicted * 3, pr.GetValue(points));
                    var r = Hybrid.Experiments.Phase.analyse(p, betas, pr.GetValue(starts), pr.GetValue(seed));
                    foreach (var s in r.Sweep)
                        foreach (var f in s.Points)
                            csv.Add(string.Join(',', n, m.ToString(Inv), s.Beta.ToString("R", Inv), s.BetaEff.ToString("R", Inv), f.Kind, f.IsMinimum, f.MaxWeight.ToString("R", Inv), f.Basin));
                    var tag = $"N{n}-M{m.ToString(Inv)}";
                    var bif = Path.Combine(outPath, $"bifurcation-{tag}.png");
                    var mins = r.Sweep.SelectMany(s => s.Minima.Select(f => (s.BetaEff, f))).ToList();
                    var saddles = r.Sweep.SelectMany(s => s.Points.Where(f => !f.IsMinimum).Select(f => (s.BetaEff, f))).ToList();
                    Plots.Lines(bif, $"Fixed points vs beta_eff, {kind} N={n} M={m} (largest retrieval weight)", "beta_eff = beta (M^2 - c) / N", "max_i softmax weight",
                    [
                        new Series("minima", mins.Select(t => t.BetaEff).ToList(), mins.Select(t => t.f.MaxWeight).ToList(), Markers: true, LineWidth: 0),
                        new Series("other fixed points", saddles.Select(t => t.BetaEff).ToList(), saddles.Select(t => t.f.MaxWeight).ToList(), Markers: true, LineWidth: 0),
                    ], markers: [new Marker(1.0, "predicted transition")], legend: ScottPlot.Alignment.MiddleRight);
                    var cnt = Path.Combine(outPath, $"minima-{tag}.png");
                    Plots.Lines(cnt, $"Number of distinct minima vs beta_eff, {kind} N={n} M={m}", "beta_eff", "minima",
                    [
                        new Series("all minima", r.Sweep.Select(s => s.BetaEff).ToList(), r.Sweep.Select(s => (double)s.Minima.Length).ToList(), Markers: true),
                        new Series("single-pattern minima", r.Sweep.Select(s => s.BetaEff).ToList(), r.Sweep.Select(s => (double)s.PatternMinima.Length).ToList(), Markers: true, Dashed: true),
                    ], markers: [new Marker(1.0, "predicted transition")]);
                    results.Add((n, m, r, bif, cnt));
                }
            File.WriteAllLines(Path.Combine(outPath, "phase.csv"), csv);
            var doc = new JsonObject
            {
                ["patterns"] = kind,
                ["results"] = new JsonArray(results.Select(t => (JsonNode)new JsonObject
                {
                    ["N"] = t.N, ["M"] = t.M, ["c"] = t.R.InnerProduct, ["predicted"] = t.R.Predicted,
                    ["measured"] = Opt(t.R.Measured), ["relativeError"] = Opt(t.R.RelativeError),
                    ["sweepCritical"] = Opt(t.R.SweepCritical), ["patternOnset"] = Opt(t.R.PatternOnset), ["sweepOnset"] = Opt(t.R.SweepOnset),
                    ["bifurcationPlot"] = t.Bif, ["minimaPlot"] = t.Count,
                }).ToArray()),
                ["csv"] = Path.Combine(outPath, "phase.csv"),
            };
            File.WriteAllText(Path.Combine(outPath, "phase.json"), doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            if (json) { Output.Json(doc); return 0; }
            Output.Table($"Critical inverse temperature of the centroid ({kind} patterns): predicted N/(M^2 - c) vs measured",
                ["N", "M", "c", "beta_c predicted", "beta_c measured", "error", "beta_c sweep", "pattern onset", "onset sweep"],
                results.Select(t => (IReadOnlyList<string>)[t.N.ToString(), t.M.ToString(Inv), t.R.InnerProduct.ToString("G4", Inv), t.R.Predicted.ToString("G6", Inv),
                    F(t.R.Measured, "G6"), t.R.RelativeError is { } e ? e.Value.ToString("P3", Inv) : "-", F(t.R.SweepCritical, "G4"), F(t.R.PatternOnset, "G5"), F(t.R.SweepOnset, "G4")]));
            Console.WriteLine("beta_c measured: bisection on the centroid's Hessian; beta_c sweep: last grid beta whose fixed points include the centroid as a minimum;");
            Console.WriteLine("pattern onset: smallest beta where retrieval from a pattern ends in a single-pattern minimum (bisection; sweep: first grid beta with one).");
            Console.WriteLine($"plots and data in {outPath}");
            return 0;
        });
        return cmd;
    }

    static JsonNode? Opt(Microsoft.FSharp.Core.FSharpOption<double>? v) => v is null ? null : JsonValue.Create(v.Value);
    static string F(Microsoft.FSharp.Core.FSharpOption<double>? v, string fmt) => v is null ? "-" : v.Value.ToString(fmt, Inv);

    static Command Retrieve()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset whose training images are stored.", DefaultValueFactory = _ => "fashion-mnist" };
        var count = new Option<int>("--count") { Description = "Stored patterns (the first images).", DefaultValueFactory = _ => 100 };
        var betas = new Option<string>("--beta") { Description = "Inverse temperatures, comma-separated.", DefaultValueFactory = _ => "1,4,16,64" };
        var corrupt = new Option<string>("--corrupt") { Description = "mask:F (zero the bottom fraction F of each image) or noise:S (add N(0,S^2) per pixel, relative to the norm).", DefaultValueFactory = _ => "mask:0.5" };
        var steps = new Option<int>("--max-steps") { Description = "Update cap per query.", DefaultValueFactory = _ => 100 };
        var seed = new Option<long>("--seed") { DefaultValueFactory = _ => 0L, Description = "Seed of the noise." };
        var cmd = new Command("retrieve", "Store dataset images as patterns (centred, unit norm) and retrieve them from corrupted queries: accuracy (nearest pattern is the original) and overlap (cosine to the original).");
        foreach (var o in new Option[] { dataset, count, betas, corrupt, steps, seed }) cmd.Options.Add(o);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var root = new FSharpRoot(CommonOptions.Root(pr.GetValue(CommonOptions.Data)));
            var n = pr.GetValue(count);
            if (n < 1) throw new ArgumentException($"--count must be at least 1, got {n}");
            var p = DatasetPatterns(pr.GetValue(dataset)!, n, 1.0, pr.GetValue(seed), root);
            var spec = pr.GetValue(corrupt)!.Split(':');
            if (spec.Length != 2 || !double.TryParse(spec[1], NumberStyles.Float, Inv, out var level) || level < 0)
                throw new ArgumentException($"--corrupt: expected mask:F or noise:S, got '{pr.GetValue(corrupt)}'");
            var rows = new List<(double Beta, double Acc, double Overlap, double Iter, int NotConverged)>();
            using var scope = torch.NewDisposeScope();
            var x = p.X;
            torch.Tensor queries;
            if (spec[0] == "mask")
            {
                if (level > 1) throw new ArgumentException("--corrupt mask:F needs F in [0,1]");
                var keep = (int)Math.Round(p.Dimension * (1 - level));
                queries = torch.cat([x.narrow(1, 0, keep), torch.zeros([n, p.Dimension - keep], dtype: torch.float64)], 1);
            }
            else if (spec[0] == "noise")
            {
                using var g = Rng.generator(pr.GetValue(seed), torch.CPU);
                queries = x + Ops.mul(torch.randn([n, p.Dimension], dtype: torch.float64, generator: g), level / Math.Sqrt(p.Dimension));
            }
            else throw new ArgumentException($"--corrupt: unknown corruption '{spec[0]}' (expected mask or noise)");
            foreach (var b in ParseList<double>(pr.GetValue(betas)!, "--beta", t => double.TryParse(t, NumberStyles.Float, Inv, out var v) && v > 0 ? v : null))
            {
                var r = Hopfield.retrieve(p, b, queries, 1e-8, pr.GetValue(steps));
                using var states = r.States;
                var nearest = states.mm(x.t()).argmax(1).data<long>().ToArray();
                var acc = 100.0 * nearest.Select((k, i) => k == i ? 1 : 0).Sum() / n;
                var cos = (states * x).sum(1) / (states.norm(1) * x.norm(1)).clamp_min(1e-12);
                rows.Add((b, acc, cos.mean().item<double>(), r.Iterations.Average(), r.Converged.Count(c => !c)));
            }
            if (json)
            {
                Output.Json(new JsonArray(rows.Select(r => (JsonNode)new JsonObject
                {
                    ["beta"] = r.Beta, ["accuracy"] = r.Acc, ["overlap"] = r.Overlap, ["meanIterations"] = r.Iter, ["notConverged"] = r.NotConverged,
                }).ToArray()));
                return 0;
            }
            Output.Table($"Retrieval of {n} {pr.GetValue(dataset)} images from {pr.GetValue(corrupt)} queries",
                ["beta", "accuracy %", "overlap", "mean iterations", "not converged"],
                rows.Select(r => (IReadOnlyList<string>)[r.Beta.ToString(Inv), r.Acc.ToString("F1", Inv), r.Overlap.ToString("F4", Inv), r.Iter.ToString("F1", Inv), r.NotConverged.ToString()]));
            return 0;
        });
        return cmd;
    }
}
