using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid theory ...`: the experiments of the thesis' theory of predictive coding.</summary>
public static class TheoryCommand
{
    public static Command Create()
    {
        var cmd = new Command("theory", """
            The theory of predictive coding (Innocenti's thesis): equilibrated energies, Hessians and strict saddles,
            effective gradients, conditioning against depth, transfer under muPC, and the trust-region view.
            """);
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryEnergyOptions>("energy", """
            Closed-form equilibrated energy of deep linear networks, F* = 1/(2n) sum r^T S^-1 r, against inference run to a
            tolerance, for the energy and its weight gradient, per depth; writes a plot, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheoryEnergy(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheorySaddlesOptions>("saddles", """
            Hessians of the MSE loss and of the equilibrated energy F* at the origin of deep linear networks, per depth:
            extreme eigenvalues, negative counts and the exact predictions (L >= 3: the loss's Hessian vanishes, F*'s does
            not, a strict saddle); writes a plot, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheorySaddles(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryEscapeOptions>("escape", """
            Updates until the training loss leaves its plateau from a small initialisation near the origin, BP (gradient of
            the loss) against PC (gradient of F* at inference equilibria) with the same plain SGD and learning rates, for
            deep linear networks and a tanh MLP on Fashion-MNIST; writes a plot, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheoryEscape(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryGradientsOptions>("gradients", """
            Per-layer gradient norms of the MSE loss (BP's dL/dW_l) against those of the equilibrated energy (PC's
            dF*/dW_l, at inference equilibria) in deep tanh and sigmoid MLPs on a Fashion-MNIST subset, at initialisation
            and along training by PC; writes plots, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheoryGradients(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryConditioningOptions>("conditioning", """
            Extreme eigenvalues and condition number of the activity Hessian (sPC's states and ePC's errors) of residual
            MLPs against depth and width, under sp, ntp and muPC, at initialisation and after a short sPC training on
            Fashion-MNIST; writes a plot, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheoryConditioning(o, new RunDisplay(json).Messages()));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryTransferOptions>("transfer", """
            A grid of weight learning rate and state step, sPC on residual MLPs at a small and a large width and depth,
            under muPC and under sp, every cell a trial of one sweep (other workers join with hybrid sweep work; running
            the command again continues it): is the large network's best cell the small one's, within one grid step?
            Writes heatmaps and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                using var cts = Cancellation.OnCtrlC();
                return Output.Report(json, new RunDisplay(json).Run(obs => PaperExperiments.TheoryTransfer(o, obs, cts.Token)));
            }));
        cmd.Subcommands.Add(CommonOptions.FormCommand<TheoryTrustRegionOptions>("trust-region", """
            The trust-region view of PC on small chains trained by PC: the angle of PC's weight update to BP's gradient and
            to the trust-region step on the loss of the same length, with the Fisher (Gauss-Newton) curvature and with the
            exact Hessian, along training; writes plots, CSV and JSON.
            """,
            (o, pr) =>
            {
                var json = pr.GetValue(CommonOptions.Json);
                return Output.Report(json, PaperExperiments.TheoryTrustRegion(o, new RunDisplay(json).Messages()));
            }));
        return cmd;
    }
}
