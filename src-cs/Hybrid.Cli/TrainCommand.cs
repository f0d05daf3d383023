using System.CommandLine;

namespace Hybrid.Cli;

// Inside the namespace: the facade's names win over the core's namespace Hybrid.
using Hybrid.Facade;

/// <summary>`hybrid train`: one configuration from a JSON file and/or flags.</summary>
public static class TrainCommand
{
    static readonly TrainingOptions Defaults = new();

    public static readonly Option<string?> Out = new("--out") { Description = "Folder for run folders (default: ./runs).", Recursive = true };
    static readonly Option<string?> ConfigFile = new("--config") { Description = "JSON config file (docs/config.md; hybrid config schema train); flags override its fields." };
    static readonly Option<string?> Resume = new("--resume") { Description = "Continue the run in this run folder from its checkpoint (other options are ignored)." };

    static readonly Option<string?> Name = CommonOptions.Override<string>("--name", "Run name.", Defaults.Name);
    static readonly Option<string?> DatasetOpt = CommonOptions.Override<string>("--dataset", "Dataset: fashion-mnist, mnist10k, mnist, kmnist, cifar10 or folder:PATH.", Defaults.Dataset);
    static readonly Option<double?> Fraction = CommonOptions.Override<double?>("--fraction", "Fraction of the training set, in (0,1].", Defaults.Fraction);
    static readonly Option<int?> Epochs = CommonOptions.Override<int?>("--epochs", "Epochs.", Defaults.Epochs);
    static readonly Option<int?> BatchSize = CommonOptions.Override<int?>("--batch-size", "Batch size.", Defaults.BatchSize);
    static readonly Option<int?> EvalEvery = CommonOptions.Override<int?>("--eval-every",
        "Also measure test accuracy every this many updates (0: epoch ends only); the points go into summary.json.", Defaults.EvalEvery);
    static readonly Option<Batching?> Batching = CommonOptions.Choice<Batching>("--batching", "random or stream (stream-aligned, needed by avg).", Defaults.Batching);
    static readonly Option<long?> Seed = CommonOptions.Override<long?>("--seed", "Seed of weights, batches and initializers.", Defaults.Seed);
    static readonly Option<AlgorithmKind?> Algorithm = CommonOptions.Choice<AlgorithmKind>("--algorithm", "bp or pc.", AlgorithmKind.PredictiveCoding);
    static readonly Option<Reparam?> Reparam = CommonOptions.Choice<Reparam>("--reparam", "pc variables: spc (states) or epc (errors).", Facade.Reparam.States);
    static readonly Option<int?> Steps = CommonOptions.Override<int?>("--steps", "Inference steps T.", 5, "-T");
    static readonly Option<double?> StepSize = CommonOptions.Override<double?>("--step-size", "Inference step size (alpha for sPC, eta for ePC).", 0.1);
    static readonly Option<double?> Momentum = CommonOptions.Override<double?>("--momentum", "Inference momentum.", 0.0);
    static readonly Option<double?> Tolerance = CommonOptions.Override<double?>("--tolerance", "Stop inference early below this relative energy change.", null);
    static readonly Option<bool> DenseInference = new("--dense-inference")
    {
        Description = "sPC: recompute every prediction and product at every inference step (the reference path; by default only what can have changed is computed, with the same results).",
    };
    static readonly Option<string?> Init = CommonOptions.Override<string>("--init", "Initializer, e.g. forward, avg, keep, zero, random(0,1), 'forward[1..2] + avg[3..]'.", "forward");
    static readonly Option<string?> Optimizer = CommonOptions.Override<string>("--optimizer", "adamw or sgd.", "adamw");
    static readonly Option<double?> Lr = CommonOptions.Override<double?>("--lr", "Weight learning rate.", Defaults.Optimizer.LearningRate);
    static readonly Option<double?> WeightDecay = CommonOptions.Override<double?>("--weight-decay", "AdamW weight decay.", Defaults.Optimizer.WeightDecay);
    static readonly Option<double?> SgdMomentum = CommonOptions.Override<double?>("--sgd-momentum", "SGD momentum (with --optimizer sgd).", 0.0);
    static readonly Option<ModelKind?> Model = CommonOptions.Choice<ModelKind>("--model", "mlp, resmlp, conv, alexnet, vgg5, vgg7 or resnet18.", ModelKind.Mlp);
    static readonly Option<int?> Width = CommonOptions.Override<int?>("--width", "Hidden width.", 512);
    static readonly Option<int?> Hidden = CommonOptions.Override<int?>("--hidden", "Hidden layers (mlp).", 4);
    static readonly Option<int?> Layers = CommonOptions.Override<int?>("--layers", "Weight layers L (resmlp).", null);
    static readonly Option<Activation?> Activation = CommonOptions.Choice<Activation>("--activation", "identity, relu, leaky_relu, gelu, elu, tanh, sigmoid.", Facade.Activation.Gelu);
    static readonly Option<Parameterisation?> Param = CommonOptions.Choice<Parameterisation>("--parameterisation", "resmlp scalings: sp, mupc or ntp.", null);
    static readonly Option<Loss?> Loss = CommonOptions.Choice<Loss>("--loss", "mse or ce.", Defaults.Loss);
    static readonly Option<WeightInit?> WeightInit = CommonOptions.Choice<WeightInit>("--weight-init", "Weights of plain networks: default (PyTorch's), kaiming or lecun.", Defaults.WeightInit);
    static readonly Option<Precision?> Precision = CommonOptions.Choice<Precision>("--precision", "float32 or float64.", Defaults.Precision);

    public static Command Create()
    {
        var cmd = new Command("train", "Train one configuration; writes a run folder with config.json, results.jsonl, checkpoint.ck, summary.json and plots.");
        Option[] all = [ConfigFile, Out, Resume, Name, DatasetOpt, Fraction, Epochs, BatchSize, EvalEvery, Batching, Seed, Algorithm, Reparam, Steps, StepSize, Momentum, Tolerance, DenseInference,
            Init, Optimizer, Lr, WeightDecay, SgdMomentum, Model, Width, Hidden, Layers, Activation, Param, Loss, WeightInit, Precision];
        foreach (var o in all) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            using var cts = Cancellation.OnCtrlC();
            var display = new RunDisplay(json);
            var report = pr.GetValue(Resume) is { } folder
                ? display.Run(o => TrainingRuns.Resume(folder, o, cts.Token))
                : display.Run(o => TrainingRuns.Train(Build(pr), pr.GetValue(Out) ?? "runs", o, cts.Token));
            return Output.Report(json, report);
        });
        return cmd;
    }

    /// <summary>The optimiser of the file (or the defaults) with the flags' changes: --optimizer switches kind (keeping the
    /// learning rate), --weight-decay belongs to AdamW and --sgd-momentum to SGD.</summary>
    static OptimizerSettings ChangedOptimizer(OptimizerSettings current, ParseResult pr)
    {
        var adamw = pr.GetValue(Optimizer) is { } name
            ? name.Trim().ToLowerInvariant() switch
            {
                "adamw" => true,
                "sgd" => false,
                _ => throw new UsageException($"--optimizer: unknown optimiser '{name}' (known: adamw, sgd)"),
            }
            : current.IsAdamW;
        var lr = pr.GetValue(Lr) ?? current.LearningRate;
        var wd = pr.GetValue(WeightDecay);
        var momentum = pr.GetValue(SgdMomentum);
        if (adamw && momentum is not null) throw new ArgumentException("--sgd-momentum applies to --optimizer sgd");
        if (!adamw && wd is not null) throw new ArgumentException("--weight-decay applies to --optimizer adamw");
        return adamw ? OptimizerSettings.AdamW(lr, wd ?? current.WeightDecay) : OptimizerSettings.Sgd(lr, momentum ?? current.Momentum);
    }

    /// <summary>The options: the paper's defaults, then the config file, then the flags, then --data and --device.</summary>
    static TrainingOptions Build(ParseResult pr)
    {
        var o = pr.GetValue(ConfigFile) is { } file ? TrainingOptions.FromFile(file) : new TrainingOptions();
        if (pr.GetValue(Name) is { } name) o.Name = name;
        if (pr.GetValue(DatasetOpt) is { } dataset) o.Dataset = dataset;
        if (pr.GetValue(Fraction) is { } fraction) o.Fraction = fraction;
        if (pr.GetValue(Epochs) is { } epochs) o.Epochs = epochs;
        if (pr.GetValue(BatchSize) is { } batchSize) o.BatchSize = batchSize;
        if (pr.GetValue(EvalEvery) is { } evalEvery) o.EvalEvery = evalEvery;
        if (pr.GetValue(Batching) is { } batching) o.Batching = batching;
        if (pr.GetValue(Seed) is { } seed) o.Seed = seed;
        if (pr.GetValue(Precision) is { } precision) o.Precision = precision;
        if (pr.GetValue(Loss) is { } loss) o.Loss = loss;
        if (pr.GetValue(WeightInit) is { } weightInit) o.WeightInit = weightInit;
        o.Optimizer = ChangedOptimizer(o.Optimizer, pr);
        o.Model = o.Model.With(pr.GetValue(Model), pr.GetValue(Width), pr.GetValue(Hidden), pr.GetValue(Layers), pr.GetValue(Activation), pr.GetValue(Param));
        o.Algorithm = o.Algorithm.With(pr.GetValue(Algorithm), pr.GetValue(Reparam), pr.GetValue(Steps), pr.GetValue(StepSize), pr.GetValue(Momentum),
            pr.GetValue(Tolerance), pr.GetValue(Init) is { } init ? Initializer.Parse(init) : null, pr.GetValue(DenseInference) ? true : null);
        if (pr.GetValue(CommonOptions.Data) is { } data) o.DataRoot = data;
        if (CommonOptions.GivenDevice(pr) is { } device) o.Device = device;
        return o;
    }
}
