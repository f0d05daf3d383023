using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

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
        cmd.SetAction(pr => Output.Report(pr.GetValue(CommonOptions.Json), TrainingRuns.Compare(pr.GetValue(runs)!, pr.GetValue(outDir)!)));
        return cmd;
    }
}
