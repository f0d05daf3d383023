using Hybrid.Facade;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Hybrid.Facade.Tests;

/// <summary>A block that forgets RegisterComponents(): its linear layer is not a registered submodule.</summary>
sealed class Unregistered : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _proj;
    public Unregistered(int width) : base("attn") => _proj = nn.Linear(width, width);
    public override Tensor forward(Tensor h) => _proj.forward(h);
}

/// <summary>A block whose own weight is a parameter held in a field, never registered.</summary>
sealed class LooseParameter : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Parameter _w;
    public LooseParameter(int width) : base("scale") => _w = new TorchSharp.Modules.Parameter(ones(width));
    public override Tensor forward(Tensor h) => h * _w;
}

/// <summary>A block that keeps its heads in a plain list (RegisterComponents does not register lists).</summary>
sealed class ListedHeads : nn.Module<Tensor, Tensor>
{
    readonly List<TorchSharp.Modules.Linear> _heads;
    public ListedHeads(int width) : base("heads")
    {
        _heads = [nn.Linear(width, width), nn.Linear(width, width)];
        RegisterComponents();
    }
    public override Tensor forward(Tensor h) => _heads[0].forward(h) + _heads[1].forward(h);
}

/// <summary>The same block written correctly: the list is a ModuleList.</summary>
sealed class RegisteredHeads : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.ModuleList<TorchSharp.Modules.Linear> _heads;
    public RegisteredHeads(int width) : base("heads")
    {
        _heads = nn.ModuleList(nn.Linear(width, width), nn.Linear(width, width));
        RegisterComponents();
    }
    public override Tensor forward(Tensor h) => _heads[0].forward(h) + _heads[1].forward(h);
}

/// <summary>A linear block that can be told to detach its output after the network was built.</summary>
sealed class Detaching : nn.Module<Tensor, Tensor>
{
    readonly TorchSharp.Modules.Linear _linear;
    public bool Detach { get; set; }
    public Detaching(int inputs, int outputs) : base("detaching")
    {
        _linear = nn.Linear(inputs, outputs);
        RegisterComponents();
    }
    public override Tensor forward(Tensor h) => Detach ? _linear.forward(h).detach() : _linear.forward(h);
}

/// <summary>Using the API wrongly: concurrent calls on one trainer, disposal during a run, modules shared between
/// networks, blocks that do not register what they compute with.</summary>
public class ApiMisuseTests
{
    static Trainer Long(int epochs = 200) => Trainer.Create(Synthetic.Options(epochs: epochs), Synthetic.Images(60, 30));

    /// <summary>A run held at its first progress report until <paramref name="release"/> is set.</summary>
    static Task<RunResult> HeldRun(Trainer trainer, ManualResetEventSlim started, ManualResetEventSlim release) =>
        trainer.RunAsync(new SyncProgress<Progress>(_ =>
        {
            started.Set();
            release.Wait(TimeSpan.FromSeconds(30));
        }));

    [Fact]
    public async Task A_second_operation_during_a_run_is_refused_and_the_run_goes_on()
    {
        using var trainer = Long(epochs: 2);
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var run = HeldRun(trainer, started, release);
        Assert.True(started.Wait(TimeSpan.FromSeconds(30)), "the run did not start");
        var calls = new (string Name, Action Call)[]
        {
            ("RunAsync", () => trainer.RunAsync()),
            ("TrainBatches", () => trainer.TrainBatches(1)),
            ("Run", () => trainer.Run()),
            ("TrainEpochAsync", () => trainer.TrainEpochAsync()),
            ("Evaluate", () => trainer.Evaluate()),
            ("Predict", () => trainer.Predict(new float[36])),
            ("Save", () => trainer.Save(Path.Combine(Path.GetTempPath(), "never-written.ck"))),
            ("Network.Predict", () => trainer.Network.Predict(new float[36])),
            ("Network.Weights", () => trainer.Network.Weights()),
        };
        foreach (var (name, call) in calls)
        {
            var e = Assert.Throws<InvalidOperationException>(call);
            Assert.StartsWith("this trainer is already running RunAsync", e.Message);
            Assert.Contains(name, e.Message);
        }
        // The properties stay readable while it runs.
        Assert.Equal(RunStatus.Running, trainer.Status);
        Assert.True(trainer.ParameterCount > 0);
        release.Set();
        var epochs = await run;
        Assert.Equal(2, epochs.Count);
        Assert.Equal(RunStatus.Completed, trainer.Status);
        Assert.True(trainer.Evaluate() >= 0, "the trainer takes operations again after the run");
    }

    [Fact]
    public async Task Dispose_during_a_run_cancels_it_waits_for_it_and_later_calls_are_refused()
    {
        for (var attempt = 0; attempt < 9; attempt++)
        {
            var trainer = Long();
            var run = trainer.RunAsync();
            Thread.Sleep(attempt * 7);
            trainer.Dispose();
            // Dispose returned: the run has stopped (the task completes without an error).
            var epochs = await run.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(epochs.Count < 200, $"attempt {attempt}: the run was not cancelled");
            Assert.Throws<ObjectDisposedException>(() => trainer.Evaluate());
            Assert.Throws<ObjectDisposedException>(() => trainer.TrainBatches(1));
            Assert.Throws<ObjectDisposedException>(() => { _ = trainer.RunAsync(); });
            Assert.Throws<ObjectDisposedException>(() => trainer.Status);
            Assert.Throws<ObjectDisposedException>(() => trainer.ParameterCount);
            trainer.Dispose();
        }
    }

    [Fact]
    public async Task Dispose_from_the_runs_own_progress_callback_frees_when_the_run_returns()
    {
        var trainer = Long();
        var epochs = await trainer.RunAsync(new SyncProgress<Progress>(_ => trainer.Dispose()));
        Assert.Empty(epochs);
        Assert.Throws<ObjectDisposedException>(() => trainer.Evaluate());
    }

    [Fact]
    public void A_module_in_two_networks_is_refused_naming_the_other_network()
    {
        var shared = nn.Linear(4, 3);
        using var first = Network.FromModules("first", [nn.Linear(6, 4), shared], [6], device: Device.Cpu);
        var e = Assert.Throws<ArgumentException>(() => Network.FromModules("second", [nn.Linear(5, 4), shared], [5], device: Device.Cpu));
        Assert.Contains("block 1 (", e.Message);
        Assert.Contains("already part of block 1 of network 'first'", e.Message);
        var twice = nn.Linear(4, 4);
        var again = Assert.Throws<ArgumentException>(() => Network.FromModules("twice", [twice, twice], [4], device: Device.Cpu));
        Assert.Contains("also part of block 0", again.Message);
    }

    [Fact]
    public void A_module_is_free_again_once_its_network_is_disposed_and_the_refused_network_claimed_nothing()
    {
        var shared = nn.Linear(4, 3);
        var block = nn.Linear(5, 4);
        var first = Network.FromModules("first", [nn.Linear(6, 4), shared], [6], device: Device.Cpu);
        Assert.Throws<ArgumentException>(() => Network.FromModules("second", [block, shared], [5], device: Device.Cpu));
        first.Dispose();
        // The refused network did not keep `block`: a new network can use it.
        using var third = Network.FromModules("third", [block, nn.Linear(4, 2)], [5], device: Device.Cpu);
        Assert.Equal(2, third.Outputs);
    }

    [Fact]
    public void A_network_given_to_a_second_trainer_is_refused()
    {
        var data = Synthetic.Images(24, 12);
        using var trainer = Trainer.Create(Synthetic.Options(epochs: 1), Synthetic.ConvNet(), data);
        var e = Assert.Throws<InvalidOperationException>(() => Trainer.Create(Synthetic.Options(epochs: 1), trainer.Network, data));
        Assert.Contains("already belongs to another trainer", e.Message);
        Assert.Contains("two-conv", e.Message);
        Assert.True(trainer.TrainBatches(1).Count == 0 && trainer.Status == RunStatus.Running, "the first trainer is unaffected");
    }

    [Theory]
    [InlineData("linear", "module 'Linear' in field '_proj'")]
    [InlineData("parameter", "a parameter of shape [4] in field '_w'")]
    [InlineData("list", "module 'Linear' in field '_heads[0]'")]
    public void A_block_that_does_not_register_what_it_computes_with_is_refused_by_name(string kind, string what)
    {
        nn.Module<Tensor, Tensor> block = kind switch
        {
            "linear" => new Unregistered(4),
            "parameter" => new LooseParameter(4),
            _ => new ListedHeads(4),
        };
        var e = Assert.Throws<ArgumentException>(() => Network.FromModules("mine", [nn.Linear(6, 4), block, nn.Linear(4, 3)], [6], device: Device.Cpu));
        Assert.StartsWith($"block 1 ({block.GetName()}) holds {what} that it did not register", e.Message);
        Assert.Contains("RegisterComponents()", e.Message);
        Assert.True(HybridErrors.IsUserError(e));
    }

    [Fact]
    public void A_block_that_registers_its_modules_is_accepted_with_all_its_parameters_counted()
    {
        using var net = Network.FromModules("mine", [nn.Linear(6, 4), new RegisteredHeads(4), new Residual(4), nn.Linear(4, 3)], [6], device: Device.Cpu);
        Assert.Equal(6 * 4 + 4 + 2 * (4 * 4 + 4) + 2 * (4 * 4 + 4) + 4 * 3 + 3, net.ParameterCount);
    }

    [Theory]
    [InlineData("backprop", "backpropagation")]
    [InlineData("spc", "inference")]
    [InlineData("epc", "inference")]
    public void A_block_that_detaches_after_it_was_built_is_refused_by_name_in_training(string algorithm, string purpose)
    {
        var block = new Detaching(8, 3);
        var net = Network.FromModules("late", [nn.Sequential(nn.Flatten(), nn.Linear(36, 8), nn.Tanh()), block], [1, 6, 6], device: Device.Cpu);
        var options = Synthetic.Options(epochs: 1) with
        {
            Algorithm = algorithm switch
            {
                "backprop" => Algorithm.Backprop,
                "spc" => Algorithm.PredictiveCoding(steps: 3, stepSize: 0.1),
                _ => Algorithm.PredictiveCoding(steps: 3, stepSize: 0.1, reparam: Reparam.Errors),
            },
        };
        using var trainer = Trainer.Create(options, net, Synthetic.Images(24, 12));
        Assert.Empty(trainer.TrainBatches(1));
        block.Detach = true;
        var before = trainer.Weights();
        var e = Assert.Throws<InvalidOperationException>(() => trainer.TrainBatches(1));
        Assert.StartsWith("block 1 (detaching)'s output has no autograd graph", e.Message);
        Assert.Contains($"{purpose} needs its gradient", e.Message);
        Assert.Equal(before.Select(w => w.Values), trainer.Weights().Select(w => w.Values));
    }

    [Fact]
    public void A_trainer_standardises_array_data_by_the_statistics_it_shows_and_its_network_takes_the_prepared_values()
    {
        var data = Synthetic.Images(60, 30);
        using var trainer = Trainer.Create(Synthetic.Options(epochs: 1), Synthetic.ConvNet(), data);
        trainer.TrainBatches(3);
        var values = data.Train.Values;
        var mean = values.Average(v => (double)v);
        var std = Math.Sqrt(values.Average(v => ((double)v - mean) * ((double)v - mean)));
        var stats = Assert.Single(trainer.InputStatistics!);
        Assert.Equal(mean, stats.Mean, 1e-6);
        Assert.Equal(std, stats.Std, 1e-6);

        var sample = data.Test.Values[..(10 * 36)];
        var prepared = trainer.PrepareInputs(sample);
        for (var i = 0; i < sample.Length; i++) Assert.Equal((sample[i] - mean) / std, prepared[i], 1e-4);
        Assert.Equal(trainer.Predict(sample).Classes, trainer.Network.Predict(prepared).Classes);

        using var raw = Trainer.Create(Synthetic.Options(epochs: 1) with { Normalisation = Normalisation.Unit }, Synthetic.ConvNet(), data);
        Assert.Null(raw.InputStatistics);
        Assert.Equal(sample, raw.PrepareInputs(sample));
        Assert.Equal(raw.Predict(sample).Classes, raw.Network.Predict(sample).Classes);
    }

    [Fact]
    public void Run_of_a_diverging_run_says_so_instead_of_an_empty_list()
    {
        var options = Synthetic.Options(epochs: 2) with { Algorithm = Algorithm.PredictiveCoding(steps: 5, stepSize: 1e4) };
        using var trainer = Trainer.Create(options, Synthetic.Images(60, 30));
        var run = trainer.Run();
        Assert.Equal(RunStatus.Diverged, run.Status);
        Assert.Empty(run);
        Assert.Null(run.Last);
        Assert.False(string.IsNullOrEmpty(run.DivergenceMessage));
        Assert.Equal(trainer.DivergenceMessage, run.DivergenceMessage);
        Assert.StartsWith("diverged after 0 epoch(s): ", run.ToString());

        using var fine = Trainer.Create(Synthetic.Options(epochs: 1), Synthetic.Images(60, 30));
        var done = fine.Run();
        Assert.Equal(RunStatus.Completed, done.Status);
        Assert.Equal(done[^1], done.Last);
        Assert.Null(done.DivergenceMessage);
    }
}
