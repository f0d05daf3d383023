using System.CommandLine;
using System.Text.Json.Nodes;
using Hybrid;

namespace Hybrid.Cli;

/// <summary>`hybrid train`: one configuration from a JSON file and/or flags.</summary>
public static class TrainCommand
{
    public static readonly Option<string?> ConfigFile = new("--config") { Description = "JSON config file (flags override its fields)." };
    public static readonly Option<string?> Out = new("--out") { Description = "Folder for run folders (default: ./runs).", Recursive = true };
    static readonly Option<string?> Resume = new("--resume") { Description = "Continue the run in this run folder from its checkpoint (other options are ignored)." };

    static readonly Option<string?> Name = new("--name") { Description = "Run name." };
    static readonly Option<string?> DatasetOpt = new("--dataset") { Description = "Dataset: fashion-mnist, mnist10k, mnist, kmnist, cifar10 or folder:PATH." };
    static readonly Option<double?> Fraction = new("--fraction") { Description = "Fraction of the training set, in (0,1]." };
    static readonly Option<int?> Epochs = new("--epochs") { Description = "Epochs." };
    static readonly Option<int?> BatchSize = new("--batch-size") { Description = "Batch size." };
    static readonly Option<string?> Batching = new("--batching") { Description = "random or stream (stream-aligned, needed by avg)." };
    static readonly Option<long?> Seed = new("--seed") { Description = "Seed of weights, batches and initializers." };
    static readonly Option<string?> Algorithm = new("--algorithm") { Description = "bp or pc." };
    static readonly Option<string?> Reparam = new("--reparam") { Description = "pc variables: spc (states) or epc (errors)." };
    static readonly Option<int?> Steps = new("--steps", "-T") { Description = "Inference steps T." };
    static readonly Option<double?> StepSize = new("--step-size") { Description = "Inference step size (alpha for sPC, eta for ePC)." };
    static readonly Option<double?> Momentum = new("--momentum") { Description = "Inference momentum." };
    static readonly Option<double?> Tolerance = new("--tolerance") { Description = "Stop inference early below this relative energy change." };
    static readonly Option<string?> Init = new("--init") { Description = "Initializer, e.g. forward, avg, keep, zero, random(0,1), 'forward[1..2] + avg[3..]'." };
    static readonly Option<string?> Optimizer = new("--optimizer") { Description = "adamw or sgd." };
    static readonly Option<double?> Lr = new("--lr") { Description = "Weight learning rate." };
    static readonly Option<double?> WeightDecay = new("--weight-decay") { Description = "AdamW weight decay." };
    static readonly Option<string?> Model = new("--model") { Description = "mlp, resmlp, conv or alexnet." };
    static readonly Option<int?> Width = new("--width") { Description = "Hidden width." };
    static readonly Option<int?> Hidden = new("--hidden") { Description = "Hidden layers (mlp)." };
    static readonly Option<int?> Layers = new("--layers") { Description = "Weight layers L (resmlp)." };
    static readonly Option<string?> Activation = new("--activation") { Description = "identity, relu, leaky_relu, gelu, elu, tanh, sigmoid." };
    static readonly Option<string?> Param = new("--parameterisation") { Description = "resmlp scalings: sp, mupc or ntp." };
    static readonly Option<string?> Loss = new("--loss") { Description = "mse or ce." };
    static readonly Option<string?> WeightInit = new("--weight-init") { Description = "Weights of plain networks: default (PyTorch's), kaiming or lecun." };
    static readonly Option<string?> Precision = new("--precision") { Description = "float32 or float64." };

    public static Command Create()
    {
        var cmd = new Command("train", "Train one configuration; writes a run folder with config.json, results.jsonl and summary.json.");
        Option[] all = [ConfigFile, Out, Resume, Name, DatasetOpt, Fraction, Epochs, BatchSize, Batching, Seed, Algorithm, Reparam, Steps, StepSize, Momentum, Tolerance,
            Init, Optimizer, Lr, WeightDecay, Model, Width, Hidden, Layers, Activation, Param, Loss, WeightInit, Precision];
        foreach (var o in all) cmd.Options.Add(o);
        cmd.SetAction(pr =>
        {
            var json = pr.GetValue(CommonOptions.Json);
            using var cts = Cancellation.OnCtrlC();
            TrainResult result;
            string folder;
            if (pr.GetValue(Resume) is { } resume)
            {
                folder = resume;
                result = Runner.Resume(resume, new RunDisplay(json), cts.Token);
            }
            else
            {
                var cfg = Build(pr);
                result = Runner.RunOne(cfg, pr.GetValue(Out) ?? "runs", new RunDisplay(json), cts.Token, out folder);
            }
            Runner.Report(json, [result], [folder]);
            return result.Status.IsDiverged ? 3 : 0;
        });
        return cmd;
    }

    /// <summary>A JSON node as the config reader sees it (a parsed element, not a boxed .NET value).</summary>
    static JsonNode? Node<T>(T value) => JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(value));

    /// <summary>The configuration: defaults, then the config file, then the flags, then --data and --device.</summary>
    static TrainConfig Build(ParseResult pr)
    {
        var cfg = Config.defaults;
        var file = pr.GetValue(ConfigFile);
        if (file is not null) cfg = Config.load(file, cfg);
        var o = new JsonObject();
        void Set<T>(string key, Option<T> opt) { var v = pr.GetValue(opt); if (v is not null) o[key] = Node(v); }
        Set("name", Name); Set("dataset", DatasetOpt); Set("fraction", Fraction); Set("epochs", Epochs); Set("batchSize", BatchSize);
        Set("batching", Batching); Set("seed", Seed); Set("algorithm", Algorithm); Set("init", Init); Set("precision", Precision);
        var inf = new JsonObject();
        void SetIn<T>(JsonObject target, string key, Option<T> opt) { var v = pr.GetValue(opt); if (v is not null) target[key] = Node(v); }
        SetIn(inf, "reparam", Reparam); SetIn(inf, "steps", Steps); SetIn(inf, "stepSize", StepSize); SetIn(inf, "momentum", Momentum); SetIn(inf, "tolerance", Tolerance);
        if (inf.Count > 0) o["inference"] = inf;
        var opt = new JsonObject();
        SetIn(opt, "kind", Optimizer); SetIn(opt, "lr", Lr); SetIn(opt, "weightDecay", WeightDecay);
        if (opt.Count > 0) o["optimizer"] = opt;
        var model = new JsonObject();
        SetIn(model, "kind", Model); SetIn(model, "width", Width); SetIn(model, "hidden", Hidden); SetIn(model, "layers", Layers);
        SetIn(model, "activation", Activation); SetIn(model, "parameterisation", Param); SetIn(model, "loss", Loss); SetIn(model, "weightInit", WeightInit);
        if (model.Count > 0) o["model"] = model;
        var data = pr.GetValue(CommonOptions.Data);
        if (data is not null) o["data"] = data;
        var device = pr.GetResult(CommonOptions.Device) is { Implicit: false } ? pr.GetValue(CommonOptions.Device) : null;
        if (device is not null) o["device"] = device;
        cfg = Config.apply(o, cfg);
        cfg.Validate();
        return cfg;
    }
}

/// <summary>Ctrl-C: the first press asks the run to stop after the current step; the second kills.</summary>
public static class Cancellation
{
    public static CancellationTokenSource OnCtrlC()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            if (cts.IsCancellationRequested) return;
            e.Cancel = true;
            Console.Error.WriteLine("stopping after the current step (Ctrl-C again to kill)...");
            cts.Cancel();
        };
        return cts;
    }
}
