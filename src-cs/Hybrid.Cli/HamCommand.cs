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
        cmd.Subcommands.Add(CommonOptions.FormCommand<HamBenchOptions>("bench", """
            Train HAMs with a supervised readout (MSE of the top layer, implicit differentiation), then solve the test set
            with the four variants: synchronous Picard, even/odd, DEQ-Anderson and even/odd + Anderson. Reports iterations and
            seconds to convergence, non-converged samples and accuracy.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.HamBench(o, new RunDisplay(json).Messages()));
            }));
        return cmd;
    }
}
