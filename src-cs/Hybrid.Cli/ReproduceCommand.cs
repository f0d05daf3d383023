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

    static List<int> Ints(string text, string option) => CommonOptions.Items(text, option, CommonOptions.Int);
    static List<double> Numbers(string text, string option) => CommonOptions.Items(text, option, CommonOptions.Number);
    static string[] Names(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The flags every reproduction shares (dataset, fraction, epochs, --out, --data, --device), and their
    /// application to its options.</summary>
    sealed class RunFlags(IRunOptions defaults, string datasets, string epochs)
    {
        readonly Option<string?> _dataset = CommonOptions.Override<string>("--dataset", $"Dataset ({datasets}, or folder:PATH).", defaults.Dataset);
        readonly Option<double?> _fraction = CommonOptions.Override<double?>("--fraction", "Fraction of the training set (the paper: 0.25, 0.5, 1).", defaults.Fraction);
        readonly Option<int?> _epochs = CommonOptions.Override<int?>("--epochs", epochs, defaults.Epochs);

        public IEnumerable<Option> Options => [_dataset, _fraction, _epochs, TrainCommand.Out];

        public void Apply(ParseResult pr, IRunOptions o)
        {
            if (pr.GetValue(_dataset) is { } ds) o.Dataset = ds;
            if (pr.GetValue(_fraction) is { } f) o.Fraction = f;
            if (pr.GetValue(_epochs) is { } e) o.Epochs = e;
            if (pr.GetValue(TrainCommand.Out) is { } outRoot) o.Out = outRoot;
            if (pr.GetValue(CommonOptions.Data) is { } data) o.DataRoot = data;
            if (CommonOptions.GivenDevice(pr) is { } device) o.Device = device;
        }
    }

    /// <summary>The command's options: the shared ones, its own, and --config.</summary>
    static void AddOptions(Command cmd, RunFlags shared, params Option[] own)
    {
        foreach (var o in shared.Options.Concat(own)) cmd.Options.Add(o);
    }

    static Command Table1()
    {
        var d = new Table1Options();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist, cifar10", "Epochs per run (the paper: 16).");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per method (the paper: 3).", d.Seeds);
        var methods = CommonOptions.Override<string>("--methods", "Methods (configs/table1/NAME.json), comma-separated: bp, pc-fw, pc-avg, pc-mem.", d.Methods);
        var config = CommonOptions.ConfigFile("table1");
        var cmd = new Command("table1", "Pinchetti et al., Table 1: BP, PC-fw and PC-avg on the paper's 5-layer MLP (width 512, batch 200, AdamW on weights, SGD on states); PC-mem on request.");
        AddOptions(cmd, shared, seeds, methods, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? Table1Options.FromFile(file) : new Table1Options();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(methods) is { } m) o.Methods = m.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return Run(pr, (obs, ct) => PaperExperiments.Table1(o, obs, ct));
        });
        return cmd;
    }

    static Command DeepMlp()
    {
        var d = new DeepMlpOptions();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run.");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per method.", d.Seeds);
        var steps = CommonOptions.Override<int?>("--steps", "Inference steps for sPC and ePC (default: the configs').", null, "-T");
        var config = CommonOptions.ConfigFile("deep-mlp");
        var cmd = new Command("deep-mlp", "A 20-layer MLP of width 128 trained by BP, sPC and ePC with the same weight optimiser (configs/deep-mlp).");
        AddOptions(cmd, shared, seeds, steps, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? DeepMlpOptions.FromFile(file) : new DeepMlpOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(steps) is { } t) o.Steps = t;
            return Run(pr, (obs, ct) => PaperExperiments.DeepMlp(o, obs, ct));
        });
        return cmd;
    }

    static Command MuPC()
    {
        var d = new MuPCOptions();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run.");
        var depths = CommonOptions.Override<string>("--depths", "Numbers of weight layers, comma-separated.", d.Depths);
        var steps = CommonOptions.Override<int?>("--steps", "Inference steps (default: the configs').", null, "-T");
        var config = CommonOptions.ConfigFile("mupc");
        var cmd = new Command("mupc", "Residual ReLU MLPs of width 128 at several depths trained with sPC under muPC and under the standard parameterisation (configs/mupc).");
        AddOptions(cmd, shared, depths, steps, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? MuPCOptions.FromFile(file) : new MuPCOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(depths) is { } dd) o.Depths = Ints(dd, "--depths");
            if (pr.GetValue(steps) is { } t) o.Steps = t;
            return Run(pr, (obs, ct) => PaperExperiments.MuPC(o, obs, ct));
        });
        return cmd;
    }

    static Command Reconstruction()
    {
        var d = new ReconstructionOptions();
        var shared = new RunFlags(d, "grey images: fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run (the paper: 16).");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per cell (the paper: 3).", d.Seeds);
        var steps = CommonOptions.Override<string>("--steps", "T_train = T_eval values, comma-separated.", d.Steps);
        var inits = CommonOptions.Override<string>("--inits", "Initializers (configs/reconstruction/NAME.json), comma-separated.", d.Inits);
        var evalSteps = CommonOptions.Override<string>("--eval-steps",
            "T_eval values, comma-separated: also evaluate every model at each after every epoch (the T_train x T_eval grid and heatmaps).", null);
        var config = CommonOptions.ConfigFile("reconstruction");
        var cmd = new Command("reconstruction", """
            Pinchetti et al., Fig. 7: a generative PCN (latent 64, three layers of 256) trained with the random, zero, keep and
            memory initializers for T_train = T_eval in {3,5,10,20}; prints the best test reconstruction MSE per cell and writes the
            loss-vs-T plot and image grids (originals above reconstructions) for the smallest T.
            """);
        AddOptions(cmd, shared, seeds, steps, inits, evalSteps, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? ReconstructionOptions.FromFile(file) : new ReconstructionOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(steps) is { } t) o.Steps = Ints(t, "--steps");
            if (pr.GetValue(inits) is { } i) o.Inits = i.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (pr.GetValue(evalSteps) is { } e) o.EvalSteps = Ints(e, "--eval-steps");
            return Run(pr, (obs, ct) => PaperExperiments.Reconstruction(o, obs, ct));
        });
        return cmd;
    }

    static Command Inits()
    {
        var d = new InitsOptions();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run (the paper: 16).");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per cell (the paper: 3).", d.Seeds);
        var inits = CommonOptions.Override<string>("--inits", "Initializers, comma-separated: forward, random, zero, keep, avg, mem.", d.Inits);
        var steps = CommonOptions.Override<string>("--steps", "Values of T, comma-separated.", d.Steps);
        var config = CommonOptions.ConfigFile("inits");
        var cmd = new Command("inits", """
            Pinchetti et al., Fig. 2: the 5-layer MLP of Table 1 trained with each initializer (random, zero, keep, forward; avg and
            mem on request) at each T; prints best accuracy per initializer and T, and plots accuracy against T and the learning
            curves at each T. The paper: forward is best at low T, and all meet at T = 100.
            """);
        AddOptions(cmd, shared, seeds, inits, steps, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? InitsOptions.FromFile(file) : new InitsOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(inits) is { } i) o.Inits = Names(i);
            if (pr.GetValue(steps) is { } t) o.Steps = Ints(t, "--steps");
            return Run(pr, (obs, ct) => PaperExperiments.Inits(o, obs, ct));
        });
        return cmd;
    }

    static Command Steps()
    {
        var d = new StepsOptions();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run (the paper: 16).");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per cell.", d.Seeds);
        var methods = CommonOptions.Override<string>("--methods", "Methods (configs/table1/NAME.json), comma-separated: pc-fw, pc-avg, pc-mem.", d.Methods);
        var fractions = CommonOptions.Override<string>("--fractions", "Fractions of the training set, comma-separated (--fraction is not used).", d.Fractions);
        var steps = CommonOptions.Override<string>("--steps", "Values of T, comma-separated.", d.Steps);
        var config = CommonOptions.ConfigFile("steps");
        var cmd = new Command("steps", """
            Pinchetti et al., Fig. 5: PC-fw and PC-avg at small T on 25%, 50% and 100% of the data; prints best accuracy per method,
            fraction and T, and plots accuracy against T. The paper: PC-avg keeps its accuracy at low T where PC-fw does not.
            """);
        AddOptions(cmd, shared, seeds, methods, fractions, steps, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? StepsOptions.FromFile(file) : new StepsOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(methods) is { } m) o.Methods = Names(m);
            if (pr.GetValue(fractions) is { } f) o.Fractions = Numbers(f, "--fractions");
            if (pr.GetValue(steps) is { } t) o.Steps = Ints(t, "--steps");
            return Run(pr, (obs, ct) => PaperExperiments.Steps(o, obs, ct));
        });
        return cmd;
    }

    static Command Speed()
    {
        var d = new SpeedOptions();
        var shared = new RunFlags(d, "fashion-mnist, mnist10k, mnist, kmnist, cifar10", "Epochs per run (the paper: 16).");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per method.", d.Seeds);
        var methods = CommonOptions.Override<string>("--methods", "Methods (configs/table1/NAME.json), comma-separated: bp, pc-fw, pc-avg, pc-mem.", d.Methods);
        var evalEvery = CommonOptions.Override<int?>("--eval-every", "Measure test accuracy every this many updates.", d.EvalEvery);
        var errors = CommonOptions.Override<string>("--errors", "Relative errors in percent of the best accuracy, comma-separated.", d.Errors);
        var config = CommonOptions.ConfigFile("speed");
        var cmd = new Command("speed", """
            Pinchetti et al., Fig. 6 (right) and Table 3: BP, PC-fw and PC-avg with the test accuracy measured every k updates;
            prints, per method and relative error e, the SMMs, updates and training seconds to first reach (1 - e) x the best
            accuracy of any run, and plots accuracy against SMMs and against seconds.
            """);
        AddOptions(cmd, shared, seeds, methods, evalEvery, errors, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? SpeedOptions.FromFile(file) : new SpeedOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(methods) is { } m) o.Methods = Names(m);
            if (pr.GetValue(evalEvery) is { } k) o.EvalEvery = k;
            if (pr.GetValue(errors) is { } e) o.Errors = Numbers(e, "--errors");
            return Run(pr, (obs, ct) => PaperExperiments.Speed(o, obs, ct));
        });
        return cmd;
    }

    static Command Conv()
    {
        var d = new ConvOptions();
        var shared = new RunFlags(d, "cifar10 (the paper), fashion-mnist, mnist10k, mnist, kmnist", "Epochs per run.");
        var seeds = CommonOptions.Override<int?>("--seeds", "Seeds per model and method.", d.Seeds);
        var models = CommonOptions.Override<string>("--models", "Models, comma-separated: vgg5, vgg7, resnet18.", d.Models);
        var methods = CommonOptions.Override<string>("--methods", "Methods (configs/conv/NAME.json), comma-separated: bp, spc, epc.", d.Methods);
        var divisor = CommonOptions.Override<int?>("--divisor", "Divide every layer's channels by this (1: the paper's widths; it must divide 64).", d.Divisor);
        var config = CommonOptions.ConfigFile("conv");
        var cmd = new Command("conv", """
            VGG-5, VGG-7 and ResNet-18 under BP, sPC and ePC with the ePC paper's setup (configs/conv: batch 256, GELU, ePC T = 5
            with error step 1e-3, sPC T = 8); prints best accuracy per model and method and each PC method's gap to BP beside the
            paper's (CIFAR-10). The paper: ePC keeps up with BP as the nets deepen, sPC falls behind.
            """);
        AddOptions(cmd, shared, seeds, models, methods, divisor, config);
        cmd.SetAction(pr =>
        {
            var o = pr.GetValue(config) is { } file ? ConvOptions.FromFile(file) : new ConvOptions();
            shared.Apply(pr, o);
            if (pr.GetValue(seeds) is { } s) o.Seeds = s;
            if (pr.GetValue(models) is { } m) o.Models = Names(m);
            if (pr.GetValue(methods) is { } me) o.Methods = Names(me);
            if (pr.GetValue(divisor) is { } dv) o.Divisor = dv;
            return Run(pr, (obs, ct) => PaperExperiments.Conv(o, obs, ct));
        });
        return cmd;
    }
}
