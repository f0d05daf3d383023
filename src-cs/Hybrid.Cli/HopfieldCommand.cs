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
        cmd.Subcommands.Add(CommonOptions.FormCommand<PhaseOptions>("phase", """
            Sweep beta; from many starts find the fixed points, dedupe them, check which are minima and classify them
            (global average, metastable mixture, single pattern). Reports the measured critical beta (bisection on the
            centroid's Hessian), where single-pattern minima appear, and the prediction N/(M^2 - c).
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.HopfieldPhase(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<RetrievalOptions>("retrieve",
            "Store dataset images as patterns (centred, unit norm) and retrieve them from corrupted queries: accuracy (nearest pattern is the original) and overlap (cosine to the original).",
            (o, pr) => Output.Report(pr.GetValue(CommonOptions.Json), PaperExperiments.HopfieldRetrieval(o))));
        return cmd;
    }
}
