// An application of its own: it reads Fashion-MNIST itself, defines its networks as
// TorchSharp modules and trains them through Hybrid's packages.
//
//   dotnet run -c Release -- [FASHION_MNIST_FOLDER] [FRACTION]
//
// Exit codes: 0 every check passed, 1 a check failed, 3 the data is missing.
using System.Diagnostics;
using System.IO.Compression;
using Hybrid.Facade;
using TorchSharp;
using static TorchSharp.torch;
using Device = Hybrid.Facade.Device;

var folder = args.Length > 0 ? args[0] : "/usr/share/datasets/fashion-mnist";
var fraction = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 0.1;
if (!File.Exists(Path.Combine(folder, "train-images-idx3-ubyte.gz")))
{
    Console.Error.WriteLine($"consumer: Fashion-MNIST not found in {folder} (apt-get install dataset-fashion-mnist)");
    return 77; // skipped (the code CI reads as "skipped"; no hybrid command returns it)
}

// Natives first: this application touches TorchSharp (its modules) before Hybrid.
HybridRuntime.Init();
var failures = new List<string>();
void Check(bool ok, string what)
{
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
    if (!ok) failures.Add(what);
}

// The application's own data: the IDX files, read here; 10% of the training set.
var (trainAll, trainLabelsAll) = Idx.Read(folder, "train");
var (testValues, testLabels) = Idx.Read(folder, "t10k");
var take = (int)(trainLabelsAll.Length * fraction);
var trainValues = trainAll[..(take * 784)];
var trainLabels = trainLabelsAll[..take];
var data = TrainingData.FromArrays(trainValues, trainLabels, testValues, testLabels, [1, 28, 28], 10, "fashion-mnist-arrays");
Console.WriteLine($"data: {data.TrainCount} training and {data.TestCount} test images from {folder}");

// 1. A conv net of two conv blocks and two linear layers, trained with ePC.
var ckpt = Path.Combine(Directory.CreateTempSubdirectory("hybrid-consumer-").FullName, "conv.ck");
var options = new TrainingOptions
{
    Name = "consumer-conv",
    Epochs = 1,
    BatchSize = 32,
    Optimizer = OptimizerSettings.AdamW(1e-3),
    Algorithm = Algorithm.PredictiveCoding(steps: 5, stepSize: 0.1, reparam: Reparam.Errors),
    Device = Device.Cpu,
};
float[] mine = testValues[..(20 * 784)];
IReadOnlyList<int> predicted;
var clock = Stopwatch.StartNew();
using (var trainer = Trainer.Create(options, Models.ConvNet(), data))
{
    var epochs = trainer.Run(new Progress<Progress>(p => { if (p.Batch % 50 == 0) Console.WriteLine($"  conv ePC batch {p.Batch}/{p.Batches} energy {p.Energy:F3}"); }));
    var accuracy = epochs[^1].TestAccuracy;
    Console.WriteLine($"conv net, ePC, 1 epoch: test accuracy {accuracy:F2}% ({clock.Elapsed.TotalSeconds:F0} s)");
    Check(accuracy >= 70, $"conv net with ePC reaches at least 70% test accuracy (got {accuracy:F2}%)");

    var prediction = trainer.Predict(mine);
    predicted = prediction.Classes;
    var right = predicted.Where((c, i) => c == testLabels[i]).Count();
    Console.WriteLine($"predictions on 20 of the application's images: {string.Join(' ', predicted)} ({right}/20 right)");
    Check(prediction.Classes.Count == 20 && right >= 12, "predictions on the application's own inputs");
    trainer.Save(ckpt);
}

// Loaded into a network built the same way, then continued.
using (var resumed = Trainer.Resume(ckpt, data, Models.ConvNet()))
{
    Check(resumed.Predict(mine).Classes.SequenceEqual(predicted), "the loaded network predicts what the saved one did");
    var before = resumed.Epochs[^1].TestAccuracy;
    resumed.Extend(1);
    var more = resumed.Run();
    Console.WriteLine($"continued for one more epoch: {before:F2}% -> {more[^1].TestAccuracy:F2}%");
    Check(more.Count == 1 && resumed.Epochs.Count == 2 && resumed.Status == RunStatus.Completed, "the loaded run continues for another epoch");
}

// 2. A residual MLP of the application's own blocks, trained with sPC.
var spc = new TrainingOptions
{
    Name = "consumer-resmlp",
    Epochs = 1,
    BatchSize = 32,
    Optimizer = OptimizerSettings.AdamW(1e-3),
    Algorithm = Algorithm.PredictiveCoding(steps: 8, stepSize: 0.1),
    Device = Device.Cpu,
};
clock.Restart();
using (var trainer = Trainer.Create(spc, Models.ResidualMlp(), data))
{
    var accuracy = trainer.Run()[^1].TestAccuracy;
    Console.WriteLine($"residual MLP, sPC, 1 epoch: test accuracy {accuracy:F2}% ({clock.Elapsed.TotalSeconds:F0} s)");
    Check(accuracy >= 70, $"residual MLP with sPC reaches at least 70% test accuracy (got {accuracy:F2}%)");
    var state = trainer.Infer(mine[..(4 * 784)], [testLabels[0], testLabels[1], testLabels[2], testLabels[3]]);
    Check(state.States.Count == 4 && state.Outputs.Count == 4 && state.Energy > 0 && Math.Abs(state.LayerEnergies.Sum() - state.Energy) < 1e-3 * state.Energy,
        "inference shows states and per-layer energies that sum to F");
}

Console.WriteLine(failures.Count == 0 ? "consumer: every check passed" : $"consumer: {failures.Count} check(s) failed");
return failures.Count == 0 ? 0 : 1;

/// <summary>The application's networks, as TorchSharp modules.</summary>
static class Models
{
    /// <summary>Two conv blocks (conv, ReLU, 2x2 max pooling) and two linear layers.</summary>
    public static Network ConvNet() => Network.FromModules("app-conv", Seeded(1, [
        nn.Sequential(nn.Conv2d(1, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(16, 32, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU()),
        nn.Linear(128, 10),
    ]), [1, 28, 28], device: Device.Cpu);

    /// <summary>An input layer, two residual blocks and a read-out.</summary>
    public static Network ResidualMlp() => Network.FromModules("app-resmlp", Seeded(2, [
        nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.Tanh()),
        new Residual(128),
        new Residual(128),
        nn.Linear(128, 10),
    ]), [1, 28, 28], device: Device.Cpu);

    /// <summary>Every parameter drawn from the application's own seed (PyTorch's default ranges).</summary>
    static nn.Module<Tensor, Tensor>[] Seeded(long seed, nn.Module<Tensor, Tensor>[] modules)
    {
        using var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var p in modules.SelectMany(m => m.parameters()))
        {
            var bound = 1.0 / Math.Sqrt(p.dim() > 1 ? p.numel() / p.shape[0] : p.numel());
            using var u = rand(p.shape, generator: g);
            p.copy_(u * (2 * bound) - bound);
        }
        return modules;
    }
}

/// <summary>h + W2 tanh(W1 h): a residual block written by the application.</summary>
sealed class Residual : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _a, _b;
    public Residual(int width) : base("residual")
    {
        _a = nn.Linear(width, width);
        _b = nn.Linear(width, width);
        RegisterComponents();
    }
    public override Tensor forward(Tensor h) => h + _b.forward(nn.functional.tanh(_a.forward(h)));
}

/// <summary>Reads the gzipped IDX files of Fashion-MNIST: pixels scaled to [0, 1].</summary>
static class Idx
{
    public static (float[] Values, int[] Labels) Read(string folder, string split)
    {
        var images = Bytes(Path.Combine(folder, $"{split}-images-idx3-ubyte.gz"));
        var labels = Bytes(Path.Combine(folder, $"{split}-labels-idx1-ubyte.gz"));
        var n = BigEndian(labels, 4);
        var values = new float[n * 784];
        for (var i = 0; i < values.Length; i++) values[i] = images[16 + i] / 255f;
        return (values, labels[8..(8 + n)].Select(b => (int)b).ToArray());
    }

    static byte[] Bytes(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var memory = new MemoryStream();
        gz.CopyTo(memory);
        return memory.ToArray();
    }

    static int BigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
}
