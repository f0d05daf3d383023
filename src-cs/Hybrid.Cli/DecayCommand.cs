using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Experiments;
using Hybrid.Facade;

namespace Hybrid.Cli;

/// <summary>`hybrid decay`: signal decay of sPC versus ePC on deep chains.</summary>
public static class DecayCommand
{
    static readonly Option<string> Depths = new("--depths") { Description = "Chain depths L (blocks), comma-separated.", DefaultValueFactory = _ => "5,10,20" };
    static readonly Option<int> Width = new("--width") { Description = "Width of every layer.", DefaultValueFactory = _ => 32 };
    static readonly Option<int> Batch = new("--batch") { Description = "Samples per chain.", DefaultValueFactory = _ => 16 };
    static readonly Option<int> MaxSteps = new("--max-steps") { Description = "Inference step budget per attempt.", DefaultValueFactory = _ => 20000 };
    static readonly Option<double> Tolerance = new("--tolerance") { Description = "Relative distance to the exact equilibrium counted as reached.", DefaultValueFactory = _ => 1e-3 };
    static readonly Option<int> TraceSteps = new("--trace-steps") { Description = "Steps recorded for the update-magnitude plots.", DefaultValueFactory = _ => 400 };
    static readonly Option<long> Seed = new("--seed") { Description = "Seed of weights and data.", DefaultValueFactory = _ => 0L };
    static readonly Option<string> Weights = new("--weights") { Description = "Chain weights: default (PyTorch's, each layer shrinks the signal) or orthogonal (gain 1).", DefaultValueFactory = _ => "default" };
    static readonly Option<string> OutDir = new("--out") { Description = "Folder for the plots, CSV and JSON.", DefaultValueFactory = _ => "runs/decay" };

    public static Command Create()
    {
        var cmd = new Command("decay", """
            Signal decay: sPC and ePC on deep linear and tanh chains in float32 and float64. For linear chains,
            searches each method's step size (2 down to 2^-8 by sqrt 2) for the fewest steps to the tolerance
            around the exact equilibrium; plots per-layer update magnitude vs step.
            """);
        foreach (var o in new Option[] { Depths, Width, Batch, MaxSteps, Tolerance, TraceSteps, Seed, Weights, OutDir }) cmd.Options.Add(o);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var depths = pr.GetValue(Depths)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => int.TryParse(d, out var v) && v >= 2 ? v : throw new ArgumentException($"--depths: '{d}' is not a depth of at least 2")).ToList();
            var width = pr.GetValue(Width);
            if (width < 1) throw new ArgumentException($"--width must be at least 1, got {width}");
            var batch = pr.GetValue(Batch);
            if (batch < 1) throw new ArgumentException($"--batch must be at least 1, got {batch}");
            var maxSteps = pr.GetValue(MaxSteps);
            var tol = pr.GetValue(Tolerance);
            if (!(tol > 0)) throw new ArgumentException($"--tolerance must be positive, got {tol}");
            var traceSteps = pr.GetValue(TraceSteps);
            var seed = pr.GetValue(Seed);
            var outDir = pr.GetValue(OutDir)!;
            var weights = Decay.chainWeights.Parse(pr.GetValue(Weights)!);
            Directory.CreateDirectory(outDir);

            var results = new List<Decay.CaseResult>();
            var precisions = new[] { Precision.Float64, Precision.Float32 };
            foreach (var depth in depths)
                foreach (var precision in precisions)
                {
                    var chain = new Decay.Chain(depth, width, Activation.Identity, precision, weights);
                    Output.Info(json, $"linear {chain}: searching step sizes...");
                    var r = Decay.run(chain, batch, maxSteps, tol, traceSteps, seed, null);
                    results.Add(r);
                    Output.Info(json, $"  sPC {Describe(r.Spc)}; ePC {Describe(r.Epc)}");
                    var hint = Microsoft.FSharp.Core.FuncConvert.FromFunc<Reparam, double>(m =>
                        (m.IsStates ? r.Spc.Best : r.Epc.Best) is { } b ? b.Value.StepSize : 0.1);
                    var tanh = new Decay.Chain(depth, width, Activation.Tanh, precision, weights);
                    Output.Info(json, $"tanh {tanh}: tracing at the linear chain's step sizes...");
                    results.Add(Decay.run(tanh, batch, maxSteps, tol, traceSteps, seed, hint));
                }

            var plots = new List<string>();
            foreach (var r in results)
            {
                var name = $"decay-L{r.Chain.Depth}-{r.Chain.Activation}-{r.Chain.Precision}-{r.Chain.Weights}.png";
                var path = Path.Combine(outDir, name);
                Plots.Lines(path, $"Per-layer update magnitude, {r.Chain} (solid sPC, dashed ePC)", "inference step", "||h_l(t) - h_l(t-1)||",
                    SeriesFor(r.Spc, false).Concat(SeriesFor(r.Epc, true)), logY: true);
                plots.Add(path);
            }
            var csv = Path.Combine(outDir, "decay.csv");
            File.WriteAllLines(csv, new[] { "depth,activation,precision,method,step_size,steps,diverged,best" }
                .Concat(results.SelectMany(r => new[] { r.Spc, r.Epc }.SelectMany(m => m.Attempts.Select(a =>
                    string.Join(',', r.Chain.Depth, r.Chain.Activation, r.Chain.Precision, m.Reparam, a.StepSize.ToString("R", CultureInfo.InvariantCulture),
                        a.Steps is null ? "" : a.Steps.Value.ToString(), a.Diverged, m.Best is { } b && b.Value.StepSize == a.StepSize))))));
            var doc = new JsonObject
            {
                ["tolerance"] = tol, ["weights"] = weights.ToString(), ["width"] = width, ["batch"] = batch, ["maxSteps"] = maxSteps, ["seed"] = seed,
                ["cases"] = new JsonArray(results.Where(r => r.Chain.Activation.IsIdentity).Select(r => (JsonNode)new JsonObject
                {
                    ["depth"] = r.Chain.Depth, ["precision"] = r.Chain.Precision.ToString(),
                    ["spcStepSize"] = r.Spc.Best is { } s ? s.Value.StepSize : null, ["spcSteps"] = Steps(r.Spc),
                    ["epcStepSize"] = r.Epc.Best is { } e ? e.Value.StepSize : null, ["epcSteps"] = Steps(r.Epc),
                    ["ratio"] = r.Ratio is { } q ? q.Value : null,
                }).ToArray()),
                ["plots"] = new JsonArray(plots.Select(p => (JsonNode)p).ToArray()),
                ["csv"] = csv,
            };
            File.WriteAllText(Path.Combine(outDir, "decay.json"), doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
            if (json) { Output.Json(doc); return 0; }
            Output.Table($"Steps to {tol:G} relative distance of the exact linear equilibrium ({weights} weights, width {width}, batch {batch}, budget {maxSteps}); paper: ~130-140x at L=20",
                ["L", "precision", "sPC step", "sPC steps", "ePC step", "ePC steps", "sPC/ePC"],
                results.Where(r => r.Chain.Activation.IsIdentity).Select(r => (IReadOnlyList<string>)[
                    r.Chain.Depth.ToString(), r.Chain.Precision.ToString(),
                    r.Spc.Best is { } s ? s.Value.StepSize.ToString("G3", CultureInfo.InvariantCulture) : "-", StepsText(r.Spc, maxSteps),
                    r.Epc.Best is { } e ? e.Value.StepSize.ToString("G3", CultureInfo.InvariantCulture) : "-", StepsText(r.Epc, maxSteps),
                    r.Ratio is { } q ? q.Value.ToString("F1", CultureInfo.InvariantCulture) + "x" : "-"]));
            Console.WriteLine($"plots: {string.Join(", ", plots)}");
            Console.WriteLine($"all attempts: {csv}");
            return 0;
        });
        return cmd;
    }

    static int? Steps(Decay.MethodResult m) => m.Best is { } b && b.Value.Steps is { } s ? s.Value : null;

    static string StepsText(Decay.MethodResult m, int budget) => Steps(m) is { } s ? s.ToString() : $"> {budget}";

    static string Describe(Decay.MethodResult m) =>
        m.Best is { } b ? $"step {b.Value.StepSize:G3}: {StepsText(m, 0)} steps" : $"not reached ({m.Attempts.Length} step sizes tried)";

    static IEnumerable<Series> SeriesFor(Decay.MethodResult m, bool dashed)
    {
        if (m.UpdateNorms.Length == 0) yield break;
        var layers = m.UpdateNorms[0].Length;
        var picks = new SortedSet<int> { 0, layers / 4, layers / 2, 3 * layers / 4, layers - 1 };
        foreach (var l in picks)
        {
            var xs = Enumerable.Range(1, m.UpdateNorms.Length).Select(i => (double)i).ToArray();
            var ys = m.UpdateNorms.Select(step => step[l]).ToArray();
            yield return new Series($"{m.Reparam} layer {l + 1}", xs, ys, Dashed: dashed);
        }
    }
}
