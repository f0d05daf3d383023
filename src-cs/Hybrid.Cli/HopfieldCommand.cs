using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid hopfield phase|retrieve`: modern Hopfield networks.</summary>
public static class HopfieldCommand
{
    public static Command Create()
    {
        var cmd = new Command("hopfield", "Modern Hopfield networks: the inverse-temperature phase transition, and retrieval from corrupted queries.");
        cmd.Subcommands.Add(Phase());
        cmd.Subcommands.Add(Retrieve());
        return cmd;
    }

    static Command Phase()
    {
        var d = new PhaseOptions();
        var patterns = CommonOptions.Override<string>("--patterns", "simplex, orthogonal, random, or a dataset name (its first images, centred and scaled).", d.Patterns);
        var counts = CommonOptions.Override<string>("--count", "Numbers of patterns N, comma-separated.", d.Counts);
        var norms = CommonOptions.Override<string>("--norm", "Pattern norms M, comma-separated.", d.Norms);
        var dim = CommonOptions.Override<int?>("--dim", "Dimension of generated patterns (0: N + 2).", d.Dimension);
        var points = CommonOptions.Override<int?>("--points", "beta values in the sweep (geometric, 0.1 to 3 times the predicted beta_c).", d.Points);
        var starts = CommonOptions.Override<int?>("--starts", "Starting points per beta.", d.Starts);
        var seed = CommonOptions.Override<long?>("--seed", "Seed of patterns and starts.", d.Seed);
        var outDir = CommonOptions.Override<string>("--out", "Folder for plots, CSV and JSON.", d.Out);
        var config = CommonOptions.ConfigFile("phase");
        var cmd = new Command("phase", """
            Sweep beta; from many starts find the fixed points, dedupe them, check which are minima and classify them
            (global average, metastable mixture, single pattern). Reports the measured critical beta (bisection on the
            centroid's Hessian), where single-pattern minima appear, and the prediction N/(M^2 - c).
            """);
        foreach (var o in new Option[] { patterns, counts, norms, dim, points, starts, seed, outDir, config }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var o = pr.GetValue(config) is { } file ? PhaseOptions.FromFile(file) : new PhaseOptions();
            if (pr.GetValue(patterns) is { } p) o.Patterns = p;
            if (pr.GetValue(counts) is { } c) o.Counts = CommonOptions.Items(c, "--count", CommonOptions.Int);
            if (pr.GetValue(norms) is { } n) o.Norms = CommonOptions.Items(n, "--norm", CommonOptions.Number);
            if (pr.GetValue(dim) is { } dd) o.Dimension = dd;
            if (pr.GetValue(points) is { } pt) o.Points = pt;
            if (pr.GetValue(starts) is { } st) o.Starts = st;
            if (pr.GetValue(seed) is { } s) o.Seed = s;
            if (pr.GetValue(outDir) is { } od) o.Out = od;
            if (pr.GetValue(CommonOptions.Data) is { } data) o.DataRoot = data;
            return Output.Report(json, PaperExperiments.HopfieldPhase(o, new RunDisplay(json).Messages()));
        });
        return cmd;
    }

    static Command Retrieve()
    {
        var d = new RetrievalOptions();
        var dataset = CommonOptions.Override<string>("--dataset", "Dataset whose training images are stored.", d.Dataset);
        var count = CommonOptions.Override<int?>("--count", "Stored patterns (the first images).", d.Count);
        var betas = CommonOptions.Override<string>("--beta", "Inverse temperatures, comma-separated.", d.Betas);
        var corrupt = CommonOptions.Override<string>("--corrupt", "mask:F (zero the bottom fraction F of each image) or noise:S (add N(0,S^2) per pixel, relative to the norm).", d.Corrupt.ToString());
        var steps = CommonOptions.Override<int?>("--max-steps", "Update cap per query.", d.MaxSteps);
        var seed = CommonOptions.Override<long?>("--seed", "Seed of the noise.", d.Seed);
        var config = CommonOptions.ConfigFile("retrieve");
        var cmd = new Command("retrieve", "Store dataset images as patterns (centred, unit norm) and retrieve them from corrupted queries: accuracy (nearest pattern is the original) and overlap (cosine to the original).");
        foreach (var o in new Option[] { dataset, count, betas, corrupt, steps, seed, config }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var o = pr.GetValue(config) is { } file ? RetrievalOptions.FromFile(file) : new RetrievalOptions();
            if (pr.GetValue(dataset) is { } ds) o.Dataset = ds;
            if (pr.GetValue(count) is { } c) o.Count = c;
            if (pr.GetValue(betas) is { } b) o.Betas = CommonOptions.Items(b, "--beta", CommonOptions.Number);
            if (pr.GetValue(corrupt) is { } cr) o.Corrupt = Corruption.Parse(cr);
            if (pr.GetValue(steps) is { } s) o.MaxSteps = s;
            if (pr.GetValue(seed) is { } sd) o.Seed = sd;
            if (pr.GetValue(CommonOptions.Data) is { } data) o.DataRoot = data;
            return Output.Report(json, PaperExperiments.HopfieldRetrieval(o));
        });
        return cmd;
    }
}
