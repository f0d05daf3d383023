using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid ham bench`: hierarchical associative memory solved as a DEQ.</summary>
public static class HamCommand
{
    public static Command Create()
    {
        var cmd = new Command("ham", "Hierarchical associative memories as deep equilibrium models.");
        cmd.Subcommands.Add(Bench());
        return cmd;
    }

    static Command Bench()
    {
        var d = new HamBenchOptions();
        var dataset = CommonOptions.Override<string>("--dataset", "Dataset (inputs in [0,1]).", d.Dataset);
        var layers = CommonOptions.Override<string>("--layers", "Layer sizes; several networks separated by ';'.", string.Join(";", d.Layers.Select(l => string.Join(",", l))));
        var epochs = CommonOptions.Override<int?>("--epochs", "Training epochs before the measurement.", d.Epochs);
        var batch = CommonOptions.Override<int?>("--batch-size", "Training batch size.", d.BatchSize);
        var lr = CommonOptions.Override<double?>("--lr", "Adam learning rate.", d.LearningRate);
        var solver = CommonOptions.Override<string>("--train-solver", "Solver used in training: picard, damped:D, anderson, even-odd or even-odd-anderson.", d.TrainSolver.ToString());
        var tol = CommonOptions.Override<double?>("--tolerance", "Convergence of the measured solves: ||x_{k+1} - x_k|| / ||x_{k+1}|| below this.", d.Tolerance);
        var trainTol = CommonOptions.Override<double?>("--train-tolerance", "Convergence of the training solves (implicit gradients need accurate fixed points).", d.TrainTolerance);
        var cap = CommonOptions.Override<int?>("--max-iterations", "Iteration cap.", d.MaxIterations);
        var repeats = CommonOptions.Override<int?>("--repeats", "Timed repeats per variant (median).", d.Repeats);
        var seed = CommonOptions.Override<long?>("--seed", "Seed.", d.Seed);
        var config = CommonOptions.ConfigFile("ham-bench");
        var cmd = new Command("bench", """
            Train HAMs with a supervised readout (MSE of the top layer, implicit differentiation), then solve the test set
            with the four variants: synchronous Picard, even/odd, DEQ-Anderson and even/odd + Anderson. Reports iterations and
            seconds to convergence, non-converged samples and accuracy.
            """);
        foreach (var o in new Option[] { dataset, layers, epochs, batch, lr, solver, tol, trainTol, cap, repeats, seed, config }) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var o = pr.GetValue(config) is { } file ? HamBenchOptions.FromFile(file) : new HamBenchOptions();
            if (pr.GetValue(dataset) is { } ds) o.Dataset = ds;
            if (pr.GetValue(layers) is { } l)
                o.Layers = l.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    .Select(net => (IReadOnlyList<int>)CommonOptions.Items(net, "--layers", CommonOptions.Int)).ToList();
            if (pr.GetValue(epochs) is { } e) o.Epochs = e;
            if (pr.GetValue(batch) is { } b) o.BatchSize = b;
            if (pr.GetValue(lr) is { } r) o.LearningRate = r;
            if (pr.GetValue(solver) is { } s) o.TrainSolver = HamSolver.Parse(s);
            if (pr.GetValue(tol) is { } t) o.Tolerance = t;
            if (pr.GetValue(trainTol) is { } tt) o.TrainTolerance = tt;
            if (pr.GetValue(cap) is { } c) o.MaxIterations = c;
            if (pr.GetValue(repeats) is { } rp) o.Repeats = rp;
            if (pr.GetValue(seed) is { } sd) o.Seed = sd;
            if (pr.GetValue(CommonOptions.Data) is { } data) o.DataRoot = data;
            if (CommonOptions.GivenDevice(pr) is { } device) o.Device = device;
            return Output.Report(json, PaperExperiments.HamBench(o, new RunDisplay(json).Messages()));
        });
        return cmd;
    }
}
