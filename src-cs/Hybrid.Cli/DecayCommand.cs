using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid decay`: signal decay of sPC versus ePC on deep chains.</summary>
public static class DecayCommand
{
    public static Command Create()
    {
        var d = new DecayOptions();
        var depths = CommonOptions.Override<string>("--depths", "Chain depths L (blocks), comma-separated.", d.Depths);
        var width = CommonOptions.Override<int?>("--width", "Width of every layer.", d.Width);
        var batch = CommonOptions.Override<int?>("--batch", "Samples per chain.", d.Batch);
        var maxSteps = CommonOptions.Override<int?>("--max-steps", "Inference step budget per attempt.", d.MaxSteps);
        var tolerance = CommonOptions.Override<double?>("--tolerance", "Relative distance to the exact equilibrium counted as reached.", d.Tolerance);
        var traceSteps = CommonOptions.Override<int?>("--trace-steps", "Steps recorded for the update-magnitude plots.", d.TraceSteps);
        var seed = CommonOptions.Override<long?>("--seed", "Seed of weights and data.", d.Seed);
        var weights = CommonOptions.Choice<ChainWeights>("--weights", "Chain weights: default (PyTorch's, each layer shrinks the signal) or orthogonal (gain 1).", d.Weights);
        var outDir = CommonOptions.Override<string>("--out", "Folder for the plots, CSV and JSON.", d.Out);
        var config = CommonOptions.ConfigFile("decay");
        var cmd = new Command("decay", """
            Signal decay: sPC and ePC on deep linear and tanh chains in float32 and float64. For linear chains,
            searches each method's step size (2 down to 2^-8 by sqrt 2) for the fewest steps to the tolerance
            around the exact equilibrium; plots per-layer update magnitude vs step.
            """);
        foreach (var o in new Option[] { depths, width, batch, maxSteps, tolerance, traceSteps, seed, weights, outDir, config }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var o = pr.GetValue(config) is { } file ? DecayOptions.FromFile(file) : new DecayOptions();
            if (pr.GetValue(depths) is { } ds) o.Depths = CommonOptions.Items(ds, "--depths", CommonOptions.Int);
            if (pr.GetValue(width) is { } w) o.Width = w;
            if (pr.GetValue(batch) is { } b) o.Batch = b;
            if (pr.GetValue(maxSteps) is { } m) o.MaxSteps = m;
            if (pr.GetValue(tolerance) is { } t) o.Tolerance = t;
            if (pr.GetValue(traceSteps) is { } ts) o.TraceSteps = ts;
            if (pr.GetValue(seed) is { } s) o.Seed = s;
            if (pr.GetValue(weights) is { } wt) o.Weights = wt;
            if (pr.GetValue(outDir) is { } od) o.Out = od;
            return Output.Report(json, PaperExperiments.Decay(o, new RunDisplay(json).Messages()));
        });
        return cmd;
    }
}
