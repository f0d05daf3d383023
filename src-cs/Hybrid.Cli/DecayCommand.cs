using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid decay`: signal decay of sPC versus ePC on deep chains.</summary>
public static class DecayCommand
{
    public static Command Create() =>
        CommonOptions.FormCommand<DecayOptions>("decay", """
            Signal decay: sPC and ePC on deep linear and tanh chains in float32 and float64. For linear chains,
            searches each method's step size (2 down to 2^-8 by sqrt 2) for the fewest steps to the tolerance
            around the exact equilibrium; plots per-layer update magnitude vs step.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.Decay(o, new RunDisplay(json).Messages()));
            });
}
