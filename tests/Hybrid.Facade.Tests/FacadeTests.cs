using Hybrid.Facade;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The facade used as an application would use it.</summary>
public class TrainerTests
{
    static TrainingOptions Small(string dataset) => new()
    {
        Name = "facade-test",
        Dataset = dataset,
        Fraction = 0.1,
        Model = Model.Mlp([64, 64], "tanh"),
        Algorithm = Algorithm.PredictiveCoding(steps: 4, stepSize: 0.1, init: "forward[1..1] + avg[2..]"),
        LearningRate = 1e-3,
        Epochs = 2,
        BatchSize = 100,
        Batching = "stream",
        Device = "cpu",
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
            var first = trainer.TrainEpoch(progress.Add);
            Assert.NotNull(first);
            Assert.Equal(1, first!.Epoch);
            Assert.True(first.TestAccuracy > 30, $"one epoch of 10% of {dataset} should beat chance clearly, got {first.TestAccuracy:F1}%");
            Assert.NotEmpty(progress);
            Assert.Equal(3, first.LayerEnergies.Count);
            trainer.TrainBatches(2);
            trainer.Save(path);
        }

        using var resumed = Trainer.Resume(path);
        Assert.Single(resumed.Epochs);
        Assert.Equal("facade-test", resumed.Options.Name);
        var rest = resumed.Run();
        Assert.Equal(2, rest.Count);
        Assert.True(resumed.Finished);
        Assert.Equal("completed", resumed.Status);
        Assert.Equal(rest[^1].TestAccuracy, resumed.Evaluate(), 6);
    }

    [Fact]
    public void OptionsRoundTripThroughJson()
    {
        var o = Small("mnist10k");
        var back = TrainingOptions.FromJson(o.ToJson());
        Assert.Equal(o.ToJson(), back.ToJson());
        Assert.Equal("forward[1..1] + avg[2..]", back.Algorithm.ToString().Split("init=")[1].TrimEnd(')'));
    }

    [Fact]
    public void BadOptionsAreRefusedWithTheReason()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Trainer.Create(new TrainingOptions { Batching = "stream", BatchSize = 205 , Dataset = "mnist10k", Fraction = 2 }));
        Assert.Contains("fraction", e.Message);
        var a = Assert.ThrowsAny<ArgumentException>(() => Algorithm.PredictiveCoding(steps: 0, stepSize: 0.1));
        Assert.Contains("at least 1", a.Message);
        var m = Assert.ThrowsAny<ArgumentException>(() => Model.Mlp([16], "swish"));
        Assert.Contains("unknown activation 'swish'", m.Message);
    }
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
        var (states, converged) = net.Retrieve(beta: 20, [[0.9, 0.2, 0.1]]);
        Assert.True(converged[0]);
        Assert.Equal(1.0, states[0][0], 3);
        var e0 = net.Energy(20, [[0.9, 0.2, 0.1]])[0];
        var e1 = net.Energy(20, states)[0];
        Assert.True(e1 <= e0);
        Assert.ThrowsAny<ArgumentException>(() => net.Energy(20, [[1.0, 2.0]]));
    }

    [Fact]
    public void AssociativeMemorySolversAgree()
    {
        using var ham = AssociativeMemory.Create([6, 5, 3], seed: 1);
        var inputs = new List<float[]> { new float[] { 0, 1, 0, 1, 0, 1 }, new float[] { 1, 1, 0, 0, 1, 0 } };
        var a = ham.Solve(inputs, "picard", 1e-6, 1000);
        var b = ham.Solve(inputs, "even-odd-anderson", 1e-6, 1000);
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
        var line = HybridErrors.Describe(e!);
        Assert.DoesNotContain('\n', line);
        Assert.DoesNotContain("(Parameter '", line);
        Assert.Contains(named, line);
    }

    [Fact]
    public void NonFiniteAndOutOfRangeNumbersAreNamed()
    {
        // Options are checked before any data is read: an absent dataset does not hide them.
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset", LearningRate = double.NaN }), "learning rate");
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset", LearningRate = double.PositiveInfinity }), "learning rate");
        Refused(() => Algorithm.PredictiveCoding(steps: 4, stepSize: double.NaN), "step size");
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset", Epochs = 0 }), "epochs");
        Refused(() => Trainer.Create(new TrainingOptions { Dataset = "no-such-dataset" }), "no-such-dataset");
    }

    [Fact]
    public void MissingAndDamagedCheckpointsAreNamed()
    {
        var dir = Directory.CreateTempSubdirectory("hybrid-facade-bad-").FullName;
        var missing = Path.Combine(dir, "missing.ck");
        Refused(() => Trainer.Resume(missing), "missing.ck");
        var garbage = Path.Combine(dir, "garbage.ck");
        File.WriteAllText(garbage, "this is not a checkpoint");
        Refused(() => Trainer.Resume(garbage), "garbage.ck");
        Assert.Equal("this is not a checkpoint", File.ReadAllText(garbage));
        Refused(() => TrainingOptions.FromJson("{\"epochs\": \"two\"}"), "epochs");
        Refused(() => TrainingOptions.FromJson("{\"epoch\": 2}"), "epoch");
        Refused(() => TrainingOptions.FromJson("{ not json"), "JSON");
    }

    [Fact]
    public void MemoriesRefuseRaggedEmptyAndNonFiniteInput()
    {
        Refused(() => HopfieldNetwork.FromPatterns([[1.0, 0.0], [0.0]]), "pattern");
        Refused(() => HopfieldNetwork.FromPatterns([]), "pattern");
        Refused(() => HopfieldNetwork.FromPatterns([[1.0, double.NaN]]), "finite");
        using var net = HopfieldNetwork.FromPatterns([[1.0, 0.0], [0.0, 1.0]]);
        Refused(() => net.Retrieve(double.NaN, [[1.0, 0.0]]), "beta");
        Refused(() => net.Retrieve(1.0, [[1.0, 0.0]], maxIterations: 0), "maxIterations");
        Refused(() => net.Retrieve(1.0, [[1.0, double.PositiveInfinity]]), "finite");
        Refused(() => net.Energy(1.0, []), "no states");
        using var ham = AssociativeMemory.Create([4, 3], seed: 1);
        Refused(() => ham.Solve([]), "no inputs");
        Refused(() => ham.Solve([new float[] { 1, 0, 1, 0 }, new float[] { 1, 0 }]), "input 1 has 2 values");
        Refused(() => ham.Solve([new float[] { 1, 0, float.NaN, 0 }]), "finite");
        Refused(() => ham.Solve([new float[] { 1, 0, 1, 0 }], solver: "newton"), "newton");
        Refused(() => ham.Solve([new float[] { 1, 0, 1, 0 }], tolerance: -1), "tolerance");
        Refused(() => AssociativeMemory.Create([4, 0]), "layer");
        Refused(() => ham.Train("no-such-dataset", epochs: 0), "epochs");
        Refused(() => ham.Train("no-such-dataset", epochs: 1), "no-such-dataset");
    }
}
