using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid reproduce ...`: the papers' experiments with their checked-in configurations.</summary>
public static class ReproduceCommand
{
    public static Command Create()
    {
        var cmd = new Command("reproduce", "Reproduce a paper's experiment with the checked-in configurations (configs/).");
        cmd.Subcommands.Add(Table1());
        cmd.Subcommands.Add(DeepMlp());
        cmd.Subcommands.Add(MuPC());
        cmd.Subcommands.Add(Reconstruction());
        cmd.Subcommands.Add(Inits());
        cmd.Subcommands.Add(Steps());
        cmd.Subcommands.Add(Speed());
        cmd.Subcommands.Add(Conv());
        return cmd;
    }

    /// <summary>Runs an experiment with a progress display and prints its report.</summary>
    static int Run(ParseResult pr, Func<IExperimentObserver, CancellationToken, ExperimentReport> experiment)
    {
        var json = pr.GetValue(CommonOptions.Json);
        using var cts = Cancellation.OnCtrlC();
        return Output.Report(json, new RunDisplay(json).Run(o => experiment(o, cts.Token)));
    }

    static Command Table1() =>
        CommonOptions.FormCommand<Table1Options>("table1", "Pinchetti et al., Table 1: BP, PC-fw and PC-avg on the paper's 5-layer MLP (width 512, batch 200, AdamW on weights, SGD on states); PC-mem on request.",
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Table1(o, obs, ct)));

    static Command DeepMlp() =>
        CommonOptions.FormCommand<DeepMlpOptions>("deep-mlp", "A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight optimiser (configs/deep-mlp).",
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.DeepMlp(o, obs, ct)));

    static Command MuPC() =>
        CommonOptions.FormCommand<MuPCOptions>("mupc", "Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC and under the standard parameterisation (configs/mupc).",
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.MuPC(o, obs, ct)));

    static Command Reconstruction() =>
        CommonOptions.FormCommand<ReconstructionOptions>("reconstruction", """
            Pinchetti et al., Fig. 7: a generative PCN (latent 64, three layers of 256) trained with the random, zero, keep and
            memory initializers for T_train = T_eval in {3,5,10,20}; prints the best test reconstruction MSE per cell and writes the
            loss-vs-T plot and image grids (originals above reconstructions) for the smallest T.
            """,
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Reconstruction(o, obs, ct)));

    static Command Inits() =>
        CommonOptions.FormCommand<InitsOptions>("inits", """
            Pinchetti et al., Fig. 2: the 5-layer MLP of Table 1 trained with each initializer (random, zero, keep, forward; avg and
            mem on request) at each T; prints best accuracy per initializer and T, and plots accuracy against T and the learning
            curves at each T. The paper: forward is best at low T, and all meet at T = 100.
            """,
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Inits(o, obs, ct)));

    static Command Steps() =>
        CommonOptions.FormCommand<StepsOptions>("steps", """
            Pinchetti et al., Fig. 5: PC-fw and PC-avg at small T on 25%, 50% and 100% of the data; prints best accuracy per method,
            fraction and T, and plots accuracy against T. The paper: PC-avg keeps its accuracy at low T where PC-fw does not.
            """,
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Steps(o, obs, ct)));

    static Command Speed() =>
        CommonOptions.FormCommand<SpeedOptions>("speed", """
            Pinchetti et al., Fig. 6 (right) and Table 3: BP, PC-fw and PC-avg with the test accuracy measured every k updates;
            prints, per method and relative error e, the SMMs, updates and training seconds to first reach (1 - e) x the best
            accuracy of any run, and plots accuracy against SMMs and against seconds.
            """,
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Speed(o, obs, ct)));

    static Command Conv() =>
        CommonOptions.FormCommand<ConvOptions>("conv", """
            VGG-5, VGG-7 and ResNet-18 under BP, sPC and ePC with the ePC paper's setup (configs/conv: batch 256, GELU, ePC T = 5
            with error step 1e-3, sPC T = 8); prints best accuracy per model and method and each PC method's gap to BP beside the
            paper's (CIFAR-10). The paper: ePC keeps up with BP as the nets deepen, sPC falls behind.
            """,
            (o, pr) => Run(pr, (obs, ct) => PaperExperiments.Conv(o, obs, ct)));
}
