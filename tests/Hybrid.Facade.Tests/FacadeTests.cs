using System.Reflection;
using Hybrid.Facade;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Hybrid.Facade.Tests;

/// <summary>Small labelled data made here: class c lights up row c % rows of an image (learnable, no files needed).</summary>
static class Synthetic
{
    public static TrainingData Images(int train, int test, int side = 6, int classes = 3)
    {
        (float[], int[]) Split(int n, int offset)
        {
            var values = new float[n * side * side];
            var labels = new int[n];
            var rng = new Random(offset);
            for (var i = 0; i < n; i++)
            {
                labels[i] = i % classes;
                for (var j = 0; j < side * side; j++) values[i * side * side + j] = (float)(0.1 * rng.NextDouble());
                for (var c = 0; c < side; c++) values[i * side * side + (labels[i] % side) * side + c] += 1;
            }
            return (values, labels);
        }
        var (tv, tl) = Split(train, 1);
        var (sv, sl) = Split(test, 2);
        return TrainingData.FromArrays(tv, tl, sv, sl, [1, side, side], classes, "synthetic");
    }

    public static TrainingOptions Options(int epochs = 2, int batch = 12) => new()
    {
        Name = "facade",
        Epochs = epochs,
        BatchSize = batch,
        Optimizer = OptimizerSettings.AdamW(1e-2),
        Algorithm = Algorithm.PredictiveCoding(steps: 5, stepSize: 0.1),
        Device = Device.Cpu,
    };

    /// <summary>Two conv blocks and two linear layers, as an application writes them.</summary>
    public static Network ConvNet(int side = 6, int classes = 3, Precision precision = Precision.Float32, long seed = 1) =>
        Network.FromModules("two-conv", Seeded(seed, [
            nn.Sequential(nn.Conv2d(1, 8, 3, padding: 1), nn.ReLU()),
            nn.Sequential(nn.Conv2d(8, 16, 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2)),
            nn.Sequential(nn.Flatten(), nn.Linear(16 * (side / 2) * (side / 2), 32), nn.ReLU()),
            nn.Linear(32, classes),
        ]), [1, side, side], precision: precision, device: Device.Cpu);

    /// <summary>Redraws every parameter from <paramref name="seed"/> (PyTorch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in))):
    /// module constructors draw from libtorch's global generator, which tests running in parallel share.</summary>
    public static nn.Module<Tensor, Tensor>[] Seeded(long seed, nn.Module<Tensor, Tensor>[] modules)
    {
        using var g = new Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var m in modules)
            foreach (var p in m.parameters())
            {
                var fanIn = p.dim() > 1 ? p.numel() / p.shape[0] : p.numel();
                var bound = 1.0 / Math.Sqrt(fanIn);
                using var u = rand(p.shape, generator: g);
                p.copy_(u * (2 * bound) - bound);
            }
        return modules;
    }
}

/// <summary>A user-written residual block: h + W2 relu(W1 h).</summary>
sealed class Residual : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _a, _b;
    public Residual(int width) : base("residual")
    {
        _a = nn.Linear(width, width);
        _b = nn.Linear(width, width);
        RegisterComponents();
    }
    public override Tensor forward(Tensor h) => h + _b.forward(nn.functional.relu(_a.forward(h)));
}

/// <summary>The facade used as an application would use it.</summary>
public class TrainerTests
{
    static TrainingOptions Small(string dataset) => new()
    {
        Name = "facade-test",
        Dataset = dataset,
        Fraction = 0.1,
        Model = Model.Mlp([64, 64], Activation.Tanh),
        Algorithm = Algorithm.PredictiveCoding(steps: 4, stepSize: 0.1, init: Initializer.Forward.Then(1, Initializer.StreamAverage)),
        Optimizer = OptimizerSettings.AdamW(1e-3),
        Epochs = 2,
        BatchSize = 100,
        Batching = Batching.StreamAligned,
        Device = Device.Cpu,
    };

    static string? RealDataset() =>
        Datasets.List().FirstOrDefault(d => d.Found is not null && d.Name is "mnist10k" or "fashion-mnist")?.Name;

    [SkippableFact]
    public void TrainOnRealDataEvaluateSaveLoadAndContinue()
    {
        var dataset = RealDataset();
        Skip.If(dataset is null, "neither mnist10k nor fashion-mnist is installed (CI fetches both)");
        var dir = Directory.CreateTempSubdirectory("hybrid-facade-").FullName;
        var path = Path.Combine(dir, "run.ck");

        using (var trainer = Trainer.Create(Small(dataset)))
        {
            Assert.True(trainer.ParameterCount > 0);
            var progress = new List<Progress>();
            var first = trainer.TrainEpoch(new SyncProgress<Progress>(progress.Add));
            Assert.NotNull(first);
            Assert.Equal(1, first!.Epoch);
            Assert.True(first.TestAccuracy > 30, $"one epoch of 10% of {dataset} should beat chance clearly, got {first.TestAccuracy:F1}%");
            Assert.Equal(trainer.BatchesPerEpoch, progress.Count);
            Assert.All(progress, p => Assert.Equal(trainer.BatchesPerEpoch, p.Batches));
            Assert.Equal(3, first.LayerEnergies.Count);
            trainer.TrainBatches(2);
            trainer.Save(path);
        }

        using var resumed = Trainer.Resume(path);
        Assert.Single(resumed.Epochs);
        Assert.Equal("facade-test", resumed.Options.Name);
        var rest = resumed.Run();
        Assert.Single(rest);
        Assert.Equal(2, rest[0].Epoch);
        Assert.Equal(RunStatus.Completed, resumed.Status);
        Assert.Equal(rest[^1].TestAccuracy, resumed.Evaluate(), 6);
    }

    [Fact]
    public void AConvNetOfYourOwnModulesTrainsWithEpcOnArraysPredictsSavesLoadsAndContinues()
    {
        var data = Synthetic.Images(180, 60);
        var options = Synthetic.Options(epochs: 2);
        options = options with { Algorithm = Algorithm.PredictiveCoding(steps: 5, stepSize: 0.1, reparam: Reparam.Errors) };
        var path = Path.Combine(Directory.CreateTempSubdirectory("hybrid-own-").FullName, "own.ck");
        float[] test = data.Test.Values;
        IReadOnlyList<int> before;
        using (var trainer = Trainer.Create(options, Synthetic.ConvNet(), data))
        {
            Assert.Equal(RunStatus.Running, trainer.Status);
            Assert.Equal("custom 'two-conv'", trainer.Network.Description);
            Assert.Equal(4, trainer.Network.Depth);
            var epochs = trainer.Run();
            Assert.Equal(2, epochs.Count);
            Assert.True(epochs[^1].TestAccuracy > 90, $"the rows are easy to tell apart; got {epochs[^1].TestAccuracy:F1}%");
            var prediction = trainer.Predict(test);
            Assert.Equal(60, prediction.Classes.Count);
            var correct = prediction.Classes.Where((c, i) => c == data.Test.Labels[i]).Count();
            Assert.Equal(epochs[^1].TestAccuracy, 100.0 * correct / 60, 6);
            before = prediction.Classes;
            trainer.Save(path);

            // A finished run goes on when extended.
            Assert.True(trainer.Finished);
            trainer.Extend(1);
            Assert.Equal(RunStatus.Running, trainer.Status);
            Assert.Single(trainer.Run());
            Assert.Equal(3, trainer.Epochs.Count);
        }

        // Built the same way again, loaded by parameter name, continued.
        using var resumed = Trainer.Resume(path, data, Synthetic.ConvNet());
        Assert.Equal(2, resumed.Epochs.Count);
        Assert.Equal(before, resumed.Predict(test).Classes);
        resumed.Extend(1);
        Assert.Single(resumed.Run());

        var refused = Assert.Throws<InvalidDataException>(() => Trainer.Resume(path, data));
        Assert.Contains("custom network 'two-conv'", refused.Message);
    }

    [Fact]
    public void AResidualMlpOfYourOwnModulesTrainsWithSpcAndShowsStatesErrorsEnergiesAndWeights()
    {
        var data = Synthetic.Images(120, 30, side: 4);
        var network = Network.FromModules("own-resmlp", Synthetic.Seeded(2, [
            nn.Sequential(nn.Linear(16, 12), nn.Tanh()),
            new Residual(12),
            new Residual(12),
            nn.Linear(12, 3),
        ]), [16], precision: Precision.Float64, device: Device.Cpu);
        var options = Synthetic.Options(epochs: 3);
        options = options with { Precision = Precision.Float64 };
        options = options with { Algorithm = Algorithm.PredictiveCoding(steps: 8, stepSize: 0.1) };
        using var trainer = Trainer.Create(options, network, data);
        var epochs = trainer.Run();
        Assert.True(epochs[^1].TestAccuracy > 80, $"got {epochs[^1].TestAccuracy:F1}%");

        var inputs = data.Test.Values.Take(5 * 16).ToArray();
        var free = trainer.Infer(inputs);
        Assert.Equal(4, free.States.Count);
        Assert.Equal(5, free.States[0].Length);
        Assert.Equal(3, free.Errors.Count);
        Assert.Equal(0.0, free.Energy);
        Assert.All(free.Errors, layer => Assert.All(layer, e => Assert.All(e, v => Assert.Equal(0f, v))));
        var clamped = trainer.Infer(inputs, [0, 1, 2, 0, 1]);
        Assert.Equal(8, clamped.Steps);
        Assert.Equal(clamped.LayerEnergies.Sum(), clamped.Energy, 9);
        Assert.True(clamped.Energy > 0);

        var weights = trainer.Weights();
        Assert.Contains(weights, w => w.Name == "block1._a.weight" && w.Shape.SequenceEqual([12L, 12L]) && w.Values.Length == 144);
        Assert.Equal(trainer.ParameterCount, weights.Sum(w => (long)w.Values.Length));
    }

    [Fact]
    public void TrainOnBatchesYouGiveCancelAndGoOn()
    {
        var data = Synthetic.Images(60, 30);
        using var trainer = Trainer.Create(Synthetic.Options(epochs: 3), Synthetic.ConvNet(), data);
        IEnumerable<Batch> Batches()
        {
            var (values, labels) = data.Train;
            for (var i = 0; i + 12 <= labels.Length; i += 12)
                yield return new Batch(values[(i * 36)..((i + 12) * 36)], labels[i..(i + 12)]);
        }
        var energies = trainer.TrainOn(Batches());
        Assert.Equal(5, energies.Count);
        Assert.All(energies, e => Assert.True(double.IsFinite(e) && e >= 0));
        Assert.Empty(trainer.Epochs);

        using var cts = new CancellationTokenSource();
        var seen = 0;
        trainer.Run(new SyncProgress<Progress>(_ => { if (++seen == 2) cts.Cancel(); }), cts.Token);
        Assert.Equal(RunStatus.Cancelled, trainer.Status);
        Assert.False(trainer.Finished);
        Assert.Equal(3, trainer.Run().Count);
        Assert.Equal(RunStatus.Completed, trainer.Status);
    }

    [Fact]
    public async Task AsyncRunsReportProgressAndHonourCancellation()
    {
        var data = Synthetic.Images(60, 30);
        using var trainer = Trainer.Create(Synthetic.Options(epochs: 2), data);
        var progress = new List<Progress>();
        var epochs = await trainer.RunAsync(new SyncProgress<Progress>(progress.Add));
        Assert.Equal(2, epochs.Count);
        Assert.Equal(2 * trainer.BatchesPerEpoch, progress.Count);
        trainer.Extend(1);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Empty(await trainer.RunAsync(cancel: cts.Token));
        Assert.Equal(RunStatus.Cancelled, trainer.Status);
    }

    [Fact]
    public void OptionsRoundTripThroughJsonAndChoicesReadTheirSpellings()
    {
        var o = Synthetic.Options();
        o = o with { Algorithm = Algorithm.PredictiveCoding(4, 0.1, Initializer.Forward.Then(1, Initializer.Memory(slots: 8, learningRate: 0.01))) };
        var back = TrainingOptions.FromJson(o.ToJson());
        Assert.Equal(o.ToJson(), back.ToJson());
        Assert.Equal("forward[1..1] + mem(slots=8,delta=1,dim=128,lr=0.01)[2..]", back.Algorithm.Init!.ToString());
        Assert.Equal(Activation.LeakyRelu, Choice.Parse<Activation>("leaky-relu"));
        Assert.Equal("leaky_relu", Choice.Name(Activation.LeakyRelu));
        Assert.Equal(Batching.StreamAligned, Choice.Parse<Batching>("stream"));
        Assert.Equal(ModelKind.ResidualMlp, Choice.Parse<ModelKind>("resmlp"));
        Assert.Contains("mupc", Choice.Spellings<Parameterisation>());
        Assert.Equal(ModelKind.Vgg7, Model.Vgg7().Kind);
        Assert.Equal(ModelKind.ResNet18, Model.ResNet18().Kind);
    }

    [Fact]
    public void BadOptionsAreRefusedWithTheReason()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Create(new TrainingOptions { Dataset = "mnist10k", Fraction = 2 }));
        Assert.Contains("fraction", e.Message);
        var a = Assert.ThrowsAny<ArgumentException>(() => Algorithm.PredictiveCoding(steps: 0, stepSize: 0.1));
        Assert.Contains("at least 1", a.Message);
        var m = Assert.ThrowsAny<ArgumentException>(() => Choice.Parse<Activation>("swish"));
        Assert.Contains("unknown activation 'swish'", m.Message);
    }
}

/// <summary><see cref="Progress{T}"/> posts to the thread pool; tests want the reports in order, on the caller's thread.</summary>
sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

public class MemoryTests
{
    [Fact]
    public void HopfieldPhaseTransitionOfSimplexPatterns()
    {
        using var net = HopfieldNetwork.Simplex(count: 5, norm: 1.0, dimension: 7);
        var phase = net.Phase(0.4, 40);
        Assert.Equal(4.0, phase.Predicted, 9);
        Assert.NotNull(phase.Measured);
        Assert.InRange(phase.Measured!.Value, 3.92, 4.08);
        Assert.True(phase.PatternOnset < phase.Predicted, "pattern minima appear before the centroid destabilises");
        var low = net.FixedPoints(1.0, starts: 20);
        Assert.Single(low);
        Assert.Equal("global", low[0].Kind);
    }

    [Fact]
    public void HopfieldRetrievalAndEnergy()
    {
        using var net = HopfieldNetwork.FromPatterns([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]);
        var r = net.Retrieve(beta: 20, [[0.9, 0.2, 0.1]]);
        Assert.True(r[0].Converged);
        Assert.Equal(0, r[0].Nearest);
        Assert.Equal(1.0, r[0].State[0], 3);
        var e0 = net.Energy(20, [[0.9, 0.2, 0.1]])[0];
        var e1 = net.Energy(20, [r[0].State])[0];
        Assert.True(e1 <= e0);
        Assert.ThrowsAny<ArgumentException>(() => net.Energy(20, [[1.0, 2.0]]));
    }

    [Fact]
    public void ImagesNeedTheirPatternsCentredAndScaledToBeRetrieved()
    {
        // Images of different brightness: as given, a query's inner product favours the bright patterns, so a dim image's
        // noisy copy is retrieved as a bright one; centred and scaled, every image is found.
        var rng = new Random(5);
        var images = Enumerable.Range(0, 8).Select(i => Enumerable.Range(0, 64).Select(_ => (0.3 + 0.1 * i) * rng.NextDouble()).ToArray()).ToList();
        var masked = images.Select(x => x.Select(v => v + 0.02 * (rng.NextDouble() - 0.5)).ToArray()).ToList();
        using var raw = HopfieldNetwork.FromPatterns(images);
        using var scaled = HopfieldNetwork.FromPatterns(images, PatternScaling.CentredUnitNorm);
        Assert.Equal(PatternScaling.CentredUnitNorm, scaled.Scaling);
        Assert.Equal(1.0, Math.Sqrt(scaled.Pattern(3).Sum(v => v * v)), 9);
        var hitsScaled = scaled.Retrieve(16, masked).Select((r, i) => r.Nearest == i).Count(x => x);
        var hitsRaw = raw.Retrieve(16, masked).Select((r, i) => r.Nearest == i).Count(x => x);
        Assert.Equal(8, hitsScaled);
        Assert.True(hitsRaw < 8, $"stored as given, {hitsRaw} of 8 were retrieved");
    }

    [Fact]
    public void AssociativeMemorySolversAgree()
    {
        using var ham = AssociativeMemory.Create([6, 5, 3], seed: 1);
        var inputs = new List<float[]> { new float[] { 0, 1, 0, 1, 0, 1 }, new float[] { 1, 1, 0, 0, 1, 0 } };
        var a = ham.Solve(inputs, HamSolver.Picard, 1e-6, 1000);
        var b = ham.Solve(inputs, HamSolver.EvenOddAnderson, 1e-6, 1000);
        Assert.All(a.Converged.Concat(b.Converged), Assert.True);
        for (var i = 0; i < inputs.Count; i++)
            for (var j = 0; j < 3; j++)
                Assert.Equal(a.Top[i][j], b.Top[i][j], 3);
        Assert.True(b.Iterations.Average() < a.Iterations.Average());
        Assert.ThrowsAny<ArgumentException>(() => AssociativeMemory.Create([4]));
    }
}

/// <summary>Bad input through the facade: an ArgumentException (or another error the facade classes as the
/// user's) whose one-line description names the problem, raised before any work starts.</summary>
public class FacadeBadInputTests
{
    static void Refused(Action act, string named)
    {
        var e = Record.Exception(act);
        Assert.NotNull(e);
        Assert.True(HybridErrors.IsUserError(e!), $"{e!.GetType().Name} is not classed as a user error: {e.Message}");
        Assert.False(e is System.Runtime.InteropServices.ExternalException, "a native exception escaped");
        var line = HybridErrors.Describe(e!);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("(Parameter '", line);
        Assert.Contains(named, line);
    }

    [Fact]
    public void NonFiniteAndOutOfRangeNumbersAreNamed()
    {
        // Options are checked before any data is read: an absent dataset does not hide them.
        Refused(() => OptimizerSettings.AdamW(double.NaN), "learning rate");
        Refused(() => OptimizerSettings.Sgd(double.PositiveInfinity), "learning rate");
        Refused(() => Algorithm.PredictiveCoding(steps: 4, stepSize: double.NaN), "step size");
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset", Epochs = 0 }), "epochs");
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset" }), "no-such-dataset");
        Refused(() => Initializer.Memory(slots: 0), "at least 1 slot");
        Refused(() => Initializer.Parse("forward[1..2] + nothing[3..]"), "nothing");
    }

    [Fact]
    public void MissingAndDamagedFilesAreTheirDocumentedExceptions()
    {
        var dir = Directory.CreateTempSubdirectory("hybrid-facade-bad-").FullName;
        var missing = Path.Combine(dir, "missing.ck");
        Assert.Contains("missing.ck", Assert.Throws<FileNotFoundException>(() => Trainer.Resume(missing)).Message);
        var garbage = Path.Combine(dir, "garbage.ck");
        File.WriteAllText(garbage, "this is not a checkpoint");
        Assert.Contains("garbage.ck", Assert.Throws<InvalidDataException>(() => Trainer.Resume(garbage)).Message);
        Assert.Equal("this is not a checkpoint", File.ReadAllText(garbage));
        Assert.Throws<FileNotFoundException>(() => TrainingOptions.FromFile(Path.Combine(dir, "missing.json")));
        Refused(() => TrainingOptions.FromJson("{\"epochs\": \"two\"}"), "epochs");
        Refused(() => TrainingOptions.FromJson("{\"epoch\": 2}"), "epoch");
        Refused(() => TrainingOptions.FromJson("{ not json"), "JSON");
    }

    [Fact]
    public void WrongShapesAreRefusedBeforeLibtorchSeesThem()
    {
        var data = Synthetic.Images(36, 12);
        Refused(() => TrainingData.FromArrays(new float[10], [0, 1], new float[72], [0, 1], [1, 6, 6], 3), "the training split has 10 values for 2 labels");
        Refused(() => TrainingData.FromArrays(new float[72], [0, 5], new float[72], [0, 1], [1, 6, 6], 3), "outside 0..2");
        Refused(() => TrainingData.FromArrays([float.NaN, .. new float[71]], [0, 1], new float[72], [0, 1], [1, 6, 6], 3), "not a finite number");
        Refused(() => Network.FromModules("bad", [nn.Linear(5, 3)], [4], device: Device.Cpu), "block 0");
        Refused(() => Network.FromModules("bad", [nn.Conv2d(1, 2, 3)], [1, 6, 6], device: Device.Cpu), "must output a vector per sample");
        Refused(() => Network.FromModules("bad", [], [4], device: Device.Cpu), "at least one block");
        // A network for other images than the data's.
        Refused(() => Trainer.Create(Synthetic.Options(), Synthetic.ConvNet(side: 8), data), "the network takes inputs of shape [1, 8, 8]");
        using var trainer = Trainer.Create(Synthetic.Options(), Synthetic.ConvNet(), data);
        Refused(() => trainer.Predict(new float[35]), "35 values are not a whole number of samples");
        Refused(() => trainer.Predict([]), "0 values");
        Refused(() => trainer.Infer(new float[36], [7]), "labels must be in 0..2");
        Refused(() => trainer.Infer(new float[72], [0]), "2 samples need 2 labels");
        Refused(() => trainer.TrainOn([new Batch(new float[36], [0, 1])]), "1 samples and 2 labels");
        Refused(() => trainer.TrainOn([new Batch(new float[36], [9])]), "labels must be in 0..2");
        Refused(() => trainer.Network.Forward(zeros(2, 36)), "a batch of shape [n, 1, 6, 6] was expected");
        Refused(() => trainer.Extend(0), "at least 1 epoch");
        Refused(() => trainer.TrainBatches(-1), "negative");
    }

    [Fact]
    public void MemoriesRefuseRaggedEmptyAndNonFiniteInput()
    {
        Refused(() => HopfieldNetwork.FromPatterns([[1.0, 0.0], [0.0]]), "pattern");
        Refused(() => HopfieldNetwork.FromPatterns([]), "pattern");
        Refused(() => HopfieldNetwork.FromPatterns([[1.0, double.NaN]]), "finite");
        Refused(() => HopfieldNetwork.FromPatterns([[1.0, 0.0]], PatternScaling.CentredUnitNorm), "at least 2 patterns");
        using var net = HopfieldNetwork.FromPatterns([[1.0, 0.0], [0.0, 1.0]]);
        Refused(() => net.Retrieve(double.NaN, [[1.0, 0.0]]), "beta");
        Refused(() => net.Retrieve(1.0, [[1.0, 0.0]], maxIterations: 0), "maxIterations");
        Refused(() => net.Retrieve(1.0, [[1.0, double.PositiveInfinity]]), "finite");
        Refused(() => net.Energy(1.0, []), "no states");
        Refused(() => net.Phase(2, 1), "0 < lo < hi");
        Refused(() => net.Pattern(2), "there are 2 patterns");
        using var ham = AssociativeMemory.Create([4, 3], seed: 1);
        Refused(() => ham.Solve([]), "no inputs");
        Refused(() => ham.Solve([new float[] { 1, 0, 1, 0 }, new float[] { 1, 0 }]), "input 1 has 2 values");
        Refused(() => ham.Solve([new float[] { 1, 0, float.NaN, 0 }]), "finite");
        Refused(() => HamSolver.Parse("newton"), "newton");
        Refused(() => ham.Solve([new float[] { 1, 0, 1, 0 }], tolerance: -1), "tolerance");
        Refused(() => AssociativeMemory.Create([4, 0]), "layer");
        Refused(() => ham.Train("no-such-dataset", epochs: 0), "epochs");
        Refused(() => ham.Train("no-such-dataset", epochs: 1), "no-such-dataset");
        Refused(() => ham.Train("mnist10k", epochs: 1), "the input layer has 4 units");
    }

    /// <summary>Every public member of every disposable facade type, called after Dispose, raises ObjectDisposedException
    /// (never libtorch's "invalid handle"); Dispose itself may be called again.</summary>
    [Fact]
    public void EveryMethodOfADisposedObjectRaisesObjectDisposedException()
    {
        var data = Synthetic.Images(36, 12);
        var objects = new List<(IDisposable Object, string What)>();
        var trainer = Trainer.Create(Synthetic.Options(), Synthetic.ConvNet(), data);
        var network = trainer.Network;
        objects.Add((trainer, "trainer"));
        objects.Add((network, "a trainer's network"));
        objects.Add((Synthetic.ConvNet(), "network"));
        objects.Add((HopfieldNetwork.FromPatterns([[1.0, 0.0], [0.0, 1.0]], PatternScaling.CentredUnitNorm), "hopfield"));
        objects.Add((AssociativeMemory.Create([4, 3]), "ham"));
        foreach (var (o, _) in objects) o.Dispose();
        var checkedMembers = 0;
        foreach (var (o, what) in objects)
        {
            o.Dispose();
            foreach (var m in o.GetType().GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (m.Name is "Dispose" || m.IsSpecialName && !m.Name.StartsWith("get_")) continue;
                var args = m.GetParameters().Select(p => Argument(p.ParameterType)).ToArray();
                var e = Record.Exception(() =>
                {
                    var r = m.Invoke(o, args);
                    if (r is Task t) t.GetAwaiter().GetResult();
                });
                var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                Assert.True(inner is ObjectDisposedException, $"{what}.{m.Name} after Dispose: {inner?.GetType().Name ?? "nothing"} {inner?.Message}");
                checkedMembers++;
            }
        }
        Assert.True(checkedMembers > 40, $"{checkedMembers} members checked");
    }

    static object? Argument(Type t) =>
        t == typeof(float[]) ? new float[36] :
        t == typeof(int[]) ? new[] { 0 } :
        t == typeof(string) ? "x" :
        t == typeof(int) ? 1 :
        t == typeof(long) ? 1L :
        t == typeof(double) ? 1.0 :
        t == typeof(Tensor) ? zeros(1, 1, 6, 6) :
        t == typeof(Algorithm) ? Algorithm.Backprop :
        t == typeof(IReadOnlyList<double[]>) ? new List<double[]> { new[] { 1.0, 0.0 } } :
        t == typeof(IReadOnlyList<float[]>) ? new List<float[]> { new float[4] } :
        t == typeof(IEnumerable<Batch>) ? new List<Batch>() :
        t.IsValueType ? Activator.CreateInstance(t) : null;
}
