using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Hybrid;
using Hybrid.Data;
using Microsoft.FSharp.Collections;
using Microsoft.FSharp.Core;

namespace Hybrid.Cli;

/// <summary>`hybrid ham bench`: hierarchical associative memory solved as a DEQ.</summary>
public static class HamCommand
{
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static Command Create()
    {
        var cmd = new Command("ham", "Hierarchical associative memories as deep equilibrium models.");
        cmd.Subcommands.Add(Bench());
        return cmd;
    }

    static Command Bench()
    {
        var dataset = new Option<string>("--dataset") { Description = "Dataset (inputs in [0,1]).", DefaultValueFactory = _ => "mnist10k" };
        var layers = new Option<string>("--layers") { Description = "Layer sizes; several networks separated by ';'.", DefaultValueFactory = _ => "784,512,10;784,512,256,128,10" };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs before the measurement.", DefaultValueFactory = _ => 2 };
        var batch = new Option<int>("--batch-size") { Description = "Training batch size.", DefaultValueFactory = _ => 100 };
        var lr = new Option<double>("--lr") { Description = "Adam learning rate.", DefaultValueFactory = _ => 1e-3 };
        var solver = new Option<string>("--train-solver") { Description = "Solver used in training.", DefaultValueFactory = _ => "even-odd-anderson" };
        var tol = new Option<double>("--tolerance") { Description = "Convergence of the measured solves: ||x_{k+1} - x_k|| / ||x_{k+1}|| below this.", DefaultValueFactory = _ => 1e-4 };
        var trainTol = new Option<double>("--train-tolerance") { Description = "Convergence of the training solves (implicit gradients need accurate fixed points).", DefaultValueFactory = _ => 1e-6 };
        var cap = new Option<int>("--max-iterations") { Description = "Iteration cap.", DefaultValueFactory = _ => 300 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repeats per variant (median).", DefaultValueFactory = _ => 3 };
        var seed = new Option<long>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0L };
        var cmd = new Command("bench", """
            Train HAMs with a supervised readout (MSE of the top layer, implicit differentiation), then solve the test set
            with the four variants: synchronous Picard, even/odd, DEQ-Anderson and even/odd + Anderson. Reports iterations and
            seconds to convergence, non-converged samples and accuracy.
            """);
        foreach (var o in new Option[] { dataset, layers, epochs, batch, lr, solver, tol, trainTol, cap, repeats, seed }) cmd.Options.Add(o);
        cmd.Options.Add(OptionsFile.Create());
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            var nets = pr.GetValue(layers)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split(',').Select(v => int.TryParse(v.Trim(), out var n) ? n : throw new ArgumentException($"--layers: '{v}' is not a layer size")).ToList())
                .ToList();
            var trainSolver = Choices.solver(pr.GetValue(solver)!);
            var device = Runtime.device(Choices.device.Parse(pr.GetValue(CommonOptions.Device) ?? "auto"));
            var data = DatasetModule.load(CommonOptions.Root(pr.GetValue(CommonOptions.Data)), pr.GetValue(dataset)!);
            using var train = TensorSplitModule.create(device, Precision.Float32, data.Classes, true, null, data.Train);
            using var test = TensorSplitModule.create(device, Precision.Float32, data.Classes, true, null, data.Test);
            var all = new JsonArray();
            foreach (var sizes in nets)
            {
                var name = string.Join("-", sizes);
                using var net = Ham.NetworkModule.create(ListModule.OfSeq(sizes), Precision.Float32, device, pr.GetValue(seed));
                Output.Info(json, $"[{name}] training {pr.GetValue(epochs)} epoch(s) with {trainSolver}...");
                HamTraining.train(net, trainSolver, train, test, pr.GetValue(epochs), pr.GetValue(batch), pr.GetValue(lr), pr.GetValue(trainTol), pr.GetValue(cap), pr.GetValue(seed),
                    FuncConvert.FromAction<HamTraining.EpochResult>(e => Output.Info(json,
                        $"[{name}] epoch {e.Epoch}: loss {e.TrainLoss:G4}, test accuracy {e.TestAccuracy:F2}%, {e.MeanIterations:F2} iterations/sample, {e.NotConverged} not converged, {e.Seconds:F0}s")));
                var rows = Hybrid.Experiments.HamBench.benchmark(net, ListModule.OfSeq(Hybrid.Experiments.HamBench.variants), test.X, test.Y, pr.GetValue(tol), pr.GetValue(cap), pr.GetValue(repeats)).ToList();
                var sync = rows[0];
                all.Add(new JsonObject
                {
                    ["layers"] = name,
                    ["rows"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
                    {
                        ["solver"] = r.Solver.ToString(), ["meanIterations"] = r.MeanIterations, ["iterationsVsSync"] = r.MeanIterations / sync.MeanIterations,
                        ["seconds"] = r.Seconds, ["speedupVsSync"] = sync.Seconds / r.Seconds, ["notConverged"] = r.NotConverged, ["accuracy"] = r.Accuracy,
                    }).ToArray()),
                });
                if (!json)
                    Output.Table($"HAM {name} on {pr.GetValue(dataset)} test set ({test.Count} samples), tolerance {pr.GetValue(tol):G}, cap {pr.GetValue(cap)}",
                        ["variant", "iterations", "x sync", "seconds", "speed-up", "not converged", "accuracy %"],
                        rows.Select(r => (IReadOnlyList<string>)[r.Solver.ToString(), r.MeanIterations.ToString("F2", Inv), (r.MeanIterations / sync.MeanIterations).ToString("F2", Inv),
                            r.Seconds.ToString("F3", Inv), (sync.Seconds / r.Seconds).ToString("F1", Inv) + "x", r.NotConverged.ToString(), r.Accuracy.ToString("F2", Inv)]));
            }
            if (json) Output.Json(all);
            return 0;
        });
        return cmd;
    }
}
