using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The built `hybrid` run as a user runs it, in a temporary folder.</summary>
public static class Cli
{
    /// <summary>The runner of the same configuration as these tests (Release in CI).</summary>
    static readonly string Dll = FindDll();

    /// <summary>Where the runner's hybrid.dll is.</summary>
    public static string DllPath => Dll;

    static string FindDll()
    {
        // tests/Hybrid.Facade.Tests/bin/CONFIG/net10.0/linux-x64/ -> src-cs/Hybrid.Cli/bin/CONFIG/net10.0/linux-x64/hybrid.dll
        var here = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var rid = here.Name;
        var tfm = here.Parent!.Name;
        var config = here.Parent!.Parent!.Name;
        var root = here.Parent!.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        var dll = Path.Combine(root, "src-cs", "Hybrid.Cli", "bin", config, tfm, rid, "hybrid.dll");
        if (!File.Exists(dll)) throw new FileNotFoundException($"build the runner first: {dll} not found");
        return dll;
    }

    /// <summary>The result of a command: exit code, stdout and stderr.</summary>
    public sealed record Result(int Code, string Out, string Err)
    {
        /// <summary>The lines of stderr.</summary>
        public IReadOnlyList<string> ErrLines => Err.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>Runs `hybrid ARGS` in <paramref name="dir"/> and waits for it (at most <paramref name="seconds"/>);
    /// as another user when <paramref name="user"/> is given (through runuser: the tests must run as root).</summary>
    public static Result Run(string dir, IEnumerable<string> args, int seconds = 120, string? user = null,
        IReadOnlyDictionary<string, string>? env = null)
    {
        using var p = Start(dir, args, user, env);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(seconds * 1000))
        {
            p.Kill(true);
            throw new TimeoutException($"hybrid {string.Join(' ', args)} did not finish in {seconds}s");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts `hybrid ARGS` in <paramref name="dir"/> without waiting.</summary>
    public static Process Start(string dir, IEnumerable<string> args, string? user = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(user is null ? "dotnet" : "runuser")
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (user is not null)
        {
            foreach (var a in new[] { "-u", user, "--", "dotnet" }) psi.ArgumentList.Add(a);
            // Its home is the folder it runs in, which it may not write (the tests' folders are root's).
            psi.Environment["HOME"] = dir;
            foreach (var v in new[] { "XDG_CACHE_HOME", "XDG_DATA_HOME", "HYBRID_NATIVE_CACHE", "HYBRID_DATA" }) psi.Environment.Remove(v);
        }
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        psi.Environment["HYBRID_PROPERTY_SEED"] = "";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }
}

/// <summary>Small dataset folders and files for the tests.</summary>
public static class Files
{
    public static string Temp(string prefix) => Directory.CreateTempSubdirectory(prefix).FullName;

    static byte[] Be32(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    /// <summary>IDX images: image i of class i % 10 is bright in a class-specific row, so that it can be learned.</summary>
    public static byte[] Images(int n, int rows, int cols, int magic = 0x803)
    {
        var pixels = new byte[n * rows * cols];
        for (var i = 0; i < n; i++)
            for (var c = 0; c < cols; c++)
                pixels[i * rows * cols + (i % 10 % rows) * cols + c] = 255;
        return [.. Be32(magic), .. Be32(n), .. Be32(rows), .. Be32(cols), .. pixels];
    }

    public static byte[] Labels(int n) => [.. Be32(0x801), .. Be32(n), .. Enumerable.Range(0, n).Select(i => (byte)(i % 10))];

    /// <summary>An IDX dataset folder.</summary>
    public static string Idx(string dir, int train, int test, int rows = 8, int testRows = 8, int trainMagic = 0x803)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"), Images(train, rows, rows, trainMagic));
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), Labels(train));
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), Images(test, testRows, testRows));
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), Labels(test));
        return dir;
    }
}

/// <summary>Every command fed bad input: one line on stderr naming the problem, the documented exit code,
/// no stack trace, and no run folder left behind.</summary>
public class BadInputTests
{
    static readonly string Root = Files.Temp("hybrid-bad-");
    static readonly string Good = Files.Idx(Path.Combine(Root, "good"), 40, 20);
    static readonly string Empty = Files.Idx(Path.Combine(Root, "empty"), 0, 20);
    static readonly string Shapes = Files.Idx(Path.Combine(Root, "shapes"), 40, 20, rows: 8, testRows: 5);
    static readonly string BadMagic = Files.Idx(Path.Combine(Root, "magic"), 40, 20, trainMagic: 0x802);
    static readonly string PartRoot = PartialRoot();

    static string PartialRoot()
    {
        var root = Path.Combine(Root, "part");
        var dir = Files.Idx(Path.Combine(root, "fashion-mnist"), 40, 20);
        File.Delete(Path.Combine(dir, "train-images-idx3-ubyte"));
        Directory.CreateDirectory(Path.Combine(dir, "train-images-idx3-ubyte"));
        return root;
    }

    static string Config(string name, string json)
    {
        var path = Path.Combine(Root, name);
        File.WriteAllText(path, json);
        return path;
    }

    static readonly string Blocker = Config("a-file", "not a folder");

    /// <summary>(arguments, exit code, a fragment of the one error line).</summary>
    public static TheoryData<string, int, string> Cases() => new()
    {
        // Datasets
        { "train --dataset imagenet", 4, "unknown dataset 'imagenet'" },
        { $"train --dataset folder:{Empty}", 4, "holds 0 images" },
        { $"train --dataset folder:{Shapes}", 4, "the training images are [1, 8, 8] but the test images [1, 5, 5]" },
        { $"train --dataset folder:{BadMagic}", 4, "wrong magic number" },
        { $"train --data {PartRoot} --dataset fashion-mnist", 4, "train-images-idx3-ubyte (a folder, not a file)" },
        { $"train --dataset folder:{Root}/nowhere", 4, "folder not found" },
        // Configurations and flags
        { $"train --config {Root}/missing.json", 4, "missing.json not found" },
        { $"train --config {Config("malformed.json", "{ \"epochs\": ")}", 4, "malformed JSON" },
        { $"train --config {Config("unknown.json", "{ \"epoch\": 3 }")}", 4, "unknown config field 'epoch'" },
        { $"train --config {Config("inf.json", "{ \"optimizer\": { \"lr\": \"Infinity\" } }")}", 4, "'optimizer.lr' must be a finite number" },
        { $"train --config {Config("div0.json", "{ \"inference\": { \"divergenceFactor\": 0 } }")}", 4, "'inference.divergenceFactor' must be at least 1, got 0" },
        { $"train --config {Config("bigbatch.json", "{ \"batchSize\": 3e9 }")}", 4, "'batchSize' is out of range" },
        { "train --lr NaN", 4, "--lr must be a finite number, got NaN" },
        { "train --lr Infinity", 4, "--lr must be a finite number, got Infinity" },
        { "train --step-size Infinity", 4, "--step-size must be a finite number" },
        { "train --momentum NaN", 4, "--momentum must be a finite number" },
        { "train --momentum 1", 4, "momentum must be in [0,1)" },
        { "train --lr -1", 4, "learning rate must be positive and finite" },
        { "train --tolerance NaN", 4, "--tolerance must be a finite number" },
        { "train --tolerance 0", 4, "tolerance must be positive and finite" },
        { "train --epochs 2147483648", 2, "--epochs: '2147483648' is not an integer from -2147483648 to 2147483647" },
        { "train --seed 1.5", 2, "--seed: '1.5' is not a 64-bit integer" },
        { "train --lr abc", 2, "--lr: 'abc' is not a number" },
        { $"train --dataset folder:{Good} --batch-size 100", 4, "batch size 100 is larger than the 40 training samples" },
        { $"train --dataset folder:{Good} --threads -3", 4, "threads must be at least 1" },
        { $"train --dataset folder:{Good} --batch-size 10 --model alexnet", 4, "alexnet is the paper's network for 32x32 colour images" },
        { "train --model resmlp --weight-init kaiming", 4, "residual MLP's initialisation is set by its parameterisation" },
        { "train --algorithm bp --init forward", 4, "--init applies to predictive coding" },
        { "train --activation swish", 2, "--activation: unknown value 'swish'" },
        { "train --reparam epc --dense-inference", 4, "dense applies to sPC" },
        // Run folders and the filesystem
        { $"train --resume {Root}", 4, "no checkpoint.ck to resume from" },
        { $"train --resume {Root}/nowhere", 4, "not found" },
        { $"train --dataset folder:{Good} --batch-size 10 --out {Blocker}/runs --device cpu", 4, "a-file" },
        // Experiment commands
        { "ham bench --layers \"\"", 4, "layers needs at least one network" },
        { "ham bench --layers 784,0,10", 4, "a layer needs at least 1 unit" },
        { "ham bench --repeats 0", 4, "repeats must be at least 1" },
        { "ham bench --epochs 0", 4, "epochs must be at least 1" },
        { "ham bench --lr -1", 4, "lr must be positive" },
        { "ham bench --batch-size 0", 4, "batchSize must be at least 1" },
        { "ham bench --train-solver newton", 4, "unknown solver 'newton'" },
        { $"hopfield retrieve --dataset folder:{Good} --count 1", 4, "count must be at least 2" },
        { $"hopfield retrieve --dataset folder:{Good} --beta Infinity", 2, "'Infinity' is not a finite number" },
        { $"hopfield retrieve --dataset folder:{Good} --corrupt blur:3", 4, "unknown corruption 'blur'" },
        { "hopfield phase --dim -5", 4, "dimension must be 0" },
        { "hopfield phase --starts 0", 4, "starts must be at least 1" },
        { "hopfield phase --count 1", 4, "1 is not a pattern count of at least 2" },
        { "decay --depths 1", 4, "1 is not a depth of at least 2" },
        { "decay --depths x", 2, "--depths: 'x' is not an integer" },
        { "decay --tolerance 2", 4, "tolerance must be in (0,1)" },
        { "reproduce table1 --methods pc-foo", 4, "unknown Table 1 method 'pc-foo'" },
        { "reproduce table1 --seeds 0", 4, "seeds must be at least 1" },
        { "reproduce table1 --fraction 1.5", 4, "training fraction 1.5 is outside (0,1]" },
        { "reproduce inits --inits forward,bogus", 4, "unknown initializer 'bogus'" },
        { "reproduce steps --fractions 0.5,0", 4, "training fraction 0 is outside (0,1]" },
        { "reproduce steps --methods bp", 4, "bp has no inference steps" },
        { "reproduce speed --errors 1,120", 4, "a relative error is a percentage in (0,100), got 120" },
        { "reproduce speed --eval-every 0", 4, "evalEvery must be at least 1" },
        { "reproduce speed --errors 1,x", 2, "--errors: 'x' is not a finite number" },
        { "train --eval-every -1", 4, "evalEvery must be 0" },
        { "reproduce conv --divisor 3", 4, "divisor must divide 64" },
        { "reproduce conv --models vgg9", 4, "unknown model 'vgg9'" },
        { "reproduce reconstruction --eval-steps 3,0", 4, "evalSteps: 0 is not a step count of at least 1" },
        { "reproduce mupc --depths 2", 4, "depths must be at least 3" },
        { "reproduce reconstruction --steps 0", 4, "0 is not a step count of at least 1" },
        { "reproduce reconstruction --inits nothing", 4, "reconstruction/nothing.json not found" },
        { "config schema nothing", 4, "unknown configuration form 'nothing'" },
        // Sweeps
        { $"sweep create {Root}/missing.json --storage {Root}/s1.db", 4, "missing.json not found" },
        { $"sweep create {Config("sweep-field.json", "{ \"axis\": {} }")} --storage {Root}/s2.db", 4, "unknown sweep field 'axis'" },
        { $"sweep create {Config("sweep-axis.json", "{ \"axes\": { \"optimizer.lr\": [0.1, -1] } }")} --storage {Root}/s3.db", 4, "optimizer.lr=-1" },
        { $"sweep create {Config("sweep-path.json", "{ \"axes\": { \"optimiser.lr\": [0.1] } }")} --storage {Root}/s4.db", 4, "unknown config field 'optimiser'" },
        { $"sweep create {Config("sweep-bp.json", "{ \"base\": { \"algorithm\": \"bp\" }, \"axes\": { \"inference.steps\": [2] } }")} --storage {Root}/s5.db", 4, "'inference' applies to predictive coding" },
        { $"sweep status --storage {Root}/s6.db", 6, "no sweep in sqlite:" },
        { $"sweep work --storage {Root}/nowhere/s.db", 6, "does not exist" },
        { $"sweep work --storage {Root}/s7.db --lease 0", 4, "the lease must be at least 1 second" },
        { "sweep status --storage postgres://nobody@127.0.0.1:1/none?Timeout=3", 6, "127.0.0.1:1" },
        { "sweep report --storage redis://host/x", 6, "unknown kind" },
        { "frobnicate", 2, "Unrecognized command or argument 'frobnicate'" },
        { "train --frobnicate 3", 2, "Unrecognized command or argument '--frobnicate'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInputGetsOneLineAndExitCodeAndLeavesNoRunFolder(string args, int code, string fragment)
    {
        var dir = Files.Temp("hybrid-cmd-");
        var argv = Split(args).ToList();
        if (!argv.Contains("--out") && argv[0] is "train" or "reproduce") argv.AddRange(["--out", Path.Combine(dir, "runs")]);
        if (argv[0] is "decay" || argv is ["hopfield", "phase", ..]) argv.AddRange(["--out", Path.Combine(dir, "out")]);
        var r = Cli.Run(dir, argv);
        Assert.True(r.Code == code, $"exit {r.Code} (expected {code}); stderr: {r.Err}");
        var errors = r.ErrLines.Where(l => l.StartsWith("error:")).ToList();
        Assert.True(errors.Count == 1 && r.ErrLines.Count == 1, $"one error line expected, stderr was:\n{r.Err}");
        Assert.Contains(fragment, errors[0]);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("Exception", r.Err);
        var runs = Path.Combine(dir, "runs");
        Assert.True(!Directory.Exists(runs) || Directory.GetFileSystemEntries(runs).Length == 0, "no run folder is left behind");
    }

    /// <summary>Splits a command line on spaces, keeping "" as an empty argument.</summary>
    static IEnumerable<string> Split(string args) => args.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a == "\"\"" ? "" : a);
}

/// <summary>The command line's conventions: exit codes by what went wrong, one JSON document on stdout with --json
/// whatever happens, JSON objects at the top of every command's document, and shell completion.</summary>
public class ConventionTests
{
    [Theory]
    [InlineData("train --epochs x", 2, "usage")]
    [InlineData("train --activation swish", 2, "usage")]
    [InlineData("nothing-such", 2, "usage")]
    [InlineData("train --epochs 0", 4, "input")]
    [InlineData("train --dataset imagenet", 4, "input")]
    public void WithJsonEveryErrorIsOneJsonDocumentOnStdout(string args, int code, string kind)
    {
        var dir = Files.Temp("hybrid-json-");
        var r = Cli.Run(dir, [.. args.Split(' '), "--json", "--out", Path.Combine(dir, "runs")]);
        Assert.True(r.Code == code, $"exit {r.Code}: {r.Err}");
        var doc = JsonNode.Parse(r.Out)!.AsObject();
        Assert.Equal(kind, doc["error"]!["kind"]!.GetValue<string>());
        Assert.Equal(code, doc["error"]!["exitCode"]!.GetValue<int>());
        Assert.Equal(r.ErrLines.Single()["error: ".Length..], doc["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public void AStorageFailureExitsWith6AsAJsonErrorOfKindStorage()
    {
        var dir = Files.Temp("hybrid-json-");
        var r = Cli.Run(dir, ["sweep", "status", "--storage", "postgres://nobody@127.0.0.1:1/none?Timeout=3", "--json"]);
        Assert.True(r.Code == ExitCodes.Storage, $"exit {r.Code}: {r.Err}");
        var doc = JsonNode.Parse(r.Out)!.AsObject();
        Assert.Equal("storage", doc["error"]!["kind"]!.GetValue<string>());
        Assert.Contains("127.0.0.1:1", doc["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public void AFailedDownloadExitsWith5AndSaysWhyLeavingNoDataset()
    {
        var dir = Files.Temp("hybrid-fetch-");
        // A port nothing listens on: the connection is refused at once.
        var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        probe.Start();
        var port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var r = Cli.Run(dir, ["data", "fetch", "kmnist", "--data", dir, "--json"], env: new Dictionary<string, string> { ["HYBRID_MIRROR"] = $"http://127.0.0.1:{port}" });
        Assert.True(r.Code == ExitCodes.Download, $"exit {r.Code}: {r.Err}");
        var doc = JsonNode.Parse(r.Out)!.AsObject();
        Assert.Equal("download", doc["error"]!["kind"]!.GetValue<string>());
        Assert.Contains($"could not connect to 127.0.0.1:{port}", doc["error"]!["message"]!.GetValue<string>());
        Assert.False(Directory.Exists(Path.Combine(dir, "kmnist")));
    }

    [Theory]
    [InlineData("info")]
    [InlineData("data list")]
    [InlineData("config list")]
    [InlineData("config schema train")]
    [InlineData("hopfield phase --count 3 --norm 1 --points 6 --starts 4")]
    [InlineData("sweep list")]
    public void EveryJsonDocumentIsAnObject(string args)
    {
        var dir = Files.Temp("hybrid-json-");
        var argv = args.Split(' ').ToList();
        if (argv[0] == "hopfield") argv.AddRange(["--out", Path.Combine(dir, "out")]);
        var r = Cli.Run(dir, [.. argv, "--json"]);
        Assert.True(r.Code == 0, r.Err);
        Assert.IsType<JsonObject>(JsonNode.Parse(r.Out));
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void BashCompletesCommandsOptionsAndOptionValues()
    {
        var dir = Files.Temp("hybrid-complete-");
        // `hybrid` on PATH, as the dotnet tool puts it there.
        var bin = Directory.CreateDirectory(Path.Combine(dir, "bin")).FullName;
        var wrapper = Path.Combine(bin, "hybrid");
        File.WriteAllText(wrapper, "#!/bin/sh\nexec dotnet '" + Cli.DllPath + "' \"$@\"\n");
        File.SetUnixFileMode(wrapper, (UnixFileMode)Convert.ToInt32("755", 8));
        var script = Cli.Run(dir, ["completion", "bash"]);
        Assert.Equal(0, script.Code);
        var source = Path.Combine(dir, "hybrid.bash");
        File.WriteAllText(source, script.Out);

        string[] Complete(string line)
        {
            var words = line.Split(' ');
            var quoted = string.Join(" ", words.Select(w => "'" + w + "'"));
            var probe = string.Join("\n",
                "export PATH='" + bin + "':\"$PATH\"",
                "source '" + source + "'",
                $"COMP_LINE='{line}'; COMP_POINT={line.Length}; COMP_WORDS=({quoted}); COMP_CWORD={words.Length - 1}",
                "_hybrid_complete",
                "printf '%s\\n' \"${COMPREPLY[@]}\"");
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(probe);
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        Assert.Contains("reproduce", Complete("hybrid rep"));
        Assert.Contains("--activation", Complete("hybrid train --activ"));
        Assert.Equal(["leaky_relu"], Complete("hybrid train --activation le"));
        Assert.Contains("mupc", Complete("hybrid train --parameterisation "));
        Assert.Contains("fish", Complete("hybrid completion f"));
    }
}

/// <summary>Files and folders the user may not read or write, run as an unprivileged user: each is named in
/// one line (exit 2) before any run folder is made; a home folder that cannot be written does not stop Hybrid
/// from loading its natives.</summary>
public class PermissionTests
{
    [SkippableFact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void UnreadableDataAndUnwritableFoldersAreNamed()
    {
        const string user = "nobody";
        var dir = Files.Temp("hybrid-perm-");
        File.SetUnixFileMode(dir, (UnixFileMode)Convert.ToInt32("755", 8));
        Skip.IfNot(Environment.IsPrivilegedProcess && OperatingSystem.IsLinux() && File.Exists("/usr/sbin/runuser")
                   && Cli.Run(dir, ["--help"], user: user).Code == 0,
            "running as another user needs root and runuser (CI runs as root)");
        var data = Files.Idx(Path.Combine(dir, "data"), 40, 20);
        var unreadable = Files.Idx(Path.Combine(dir, "unreadable"), 40, 20);
        File.SetUnixFileMode(Path.Combine(unreadable, "t10k-images-idx3-ubyte"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var locked = Path.Combine(dir, "locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var outside = Path.Combine(dir, "out");
        Directory.CreateDirectory(outside);
        File.SetUnixFileMode(outside, (UnixFileMode)Convert.ToInt32("777", 8));

        void Refused(string[] args, string fragment)
        {
            var r = Cli.Run(dir, args, user: user);
            Assert.True(r.Code == 4, $"exit {r.Code}: {r.Err}");
            Assert.True(r.ErrLines.Count == 1, r.Err);
            Assert.Contains(fragment, r.ErrLines[0]);
            Assert.False(Directory.Exists(outside) && Directory.GetFileSystemEntries(outside).Length > 0, "no run folder is left behind");
        }

        string[] Train(string dataset, string output) =>
            ["train", "--dataset", $"folder:{dataset}", "--batch-size", "10", "--epochs", "1", "--device", "cpu", "--out", output];
        Refused(Train(unreadable, outside), "t10k-images-idx3-ubyte");
        Refused(Train(data, Path.Combine(locked, "runs")), "locked/runs");
        Refused(Train(data, locked), "locked");

        // All along, HOME was a folder the user cannot write: the natives loaded all the same, and a run completes.
        Assert.True(Cli.Run(dir, ["info"], user: user).Code == 0);
        var ok = Cli.Run(dir, Train(data, outside), user: user);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Single(Directory.GetDirectories(outside));
    }
}

/// <summary>Run folders: a checkpoint belongs to its run, a damaged one is refused in one line, one process owns a
/// folder at a time, interruptions save and resume, and nothing written is lost.</summary>
public class RunFolderTests
{
    static readonly string Data = Files.Idx(Path.Combine(Files.Temp("hybrid-runs-"), "data"), 400, 100);

    static string[] Train(string outRoot, string name, int width, int epochs, int batch = 10) =>
        ["train", "--dataset", $"folder:{Data}", "--width", $"{width}", "--hidden", "2", "-T", "3", "--epochs", $"{epochs}", "--batch-size", $"{batch}",
         "--name", name, "--out", outRoot, "--device", "cpu", "--threads", "1"];

    static string OnlyFolder(string root, string prefix) => Directory.GetDirectories(root, prefix + "-*").Single();

    static Dictionary<string, byte[]> Snapshot(string folder) =>
        Directory.GetFiles(folder).Where(f => !f.EndsWith(".png") && !f.EndsWith(".lock")).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);

    [Fact]
    public void AForeignOrDamagedCheckpointIsRefusedAndNothingIsChanged()
    {
        var dir = Files.Temp("hybrid-foreign-");
        var root = Path.Combine(dir, "R");
        Assert.Equal(0, Cli.Run(dir, Train(root, "X", 16, 3)).Code);
        Assert.Equal(0, Cli.Run(dir, Train(root, "other", 24, 1)).Code);
        var x = OnlyFolder(root, "X");
        var other = OnlyFolder(root, "other");
        var mine = File.ReadAllBytes(Path.Combine(x, "checkpoint.ck"));

        void Refused(byte[] checkpoint, string fragment)
        {
            File.WriteAllBytes(Path.Combine(x, "checkpoint.ck"), checkpoint);
            var before = Snapshot(x);
            var r = Cli.Run(dir, ["train", "--resume", x]);
            Assert.True(r.Code == 4, $"exit {r.Code}: {r.Err}");
            Assert.Single(r.ErrLines);
            Assert.Contains(fragment, r.ErrLines[0]);
            var after = Snapshot(x);
            Assert.Equal(before.Keys.Order(), after.Keys.Order());
            foreach (var (name, bytes) in before) Assert.True(bytes.SequenceEqual(after[name]), $"{name} changed");
        }

        Refused(File.ReadAllBytes(Path.Combine(other, "checkpoint.ck")), "belongs to another run");
        Refused([], "not a Hybrid checkpoint");
        Refused(mine[..(mine.Length / 2)], "checksum mismatch");
        Refused([.. "NOTACKPT"u8.ToArray(), .. mine[8..]], "not a Hybrid checkpoint");
        var flipped = mine.ToArray();
        flipped[mine.Length / 3] ^= 0xFF;
        Refused(flipped, "checksum mismatch");

        // The run's own checkpoint still resumes (a finished run: nothing more to do).
        File.WriteAllBytes(Path.Combine(x, "checkpoint.ck"), mine);
        var ok = Cli.Run(dir, ["train", "--resume", x, "--json"]);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(x, "results.jsonl")).Length);
    }

    [Fact]
    public void OneProcessOwnsARunFolderAndInterruptionsLoseNothing()
    {
        var dir = Files.Temp("hybrid-lock-");
        var root = Path.Combine(dir, "R");
        const int epochs = 30;
        using var first = Cli.Start(dir, Train(root, "long", 32, epochs, batch: 4));
        var folder = WaitFor(() => Directory.Exists(root) ? Directory.GetDirectories(root).FirstOrDefault(d => File.Exists(Path.Combine(d, "checkpoint.ck"))) : null);

        // A second process cannot resume a folder in use.
        var second = Cli.Run(dir, ["train", "--resume", folder]);
        Assert.True(second.Code == 4, $"exit {second.Code}: {second.Err}");
        Assert.Contains("is in use by another process", second.ErrLines.Single());

        // SIGTERM: the run stops after its step, saves its checkpoint and summary, exits 130.
        Signal(first, "TERM");
        Assert.True(first.WaitForExit(60_000), "stopped after SIGTERM");
        Assert.Equal(130, first.ExitCode);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")))!;
        Assert.Equal("cancelled", summary["status"]!.GetValue<string>());

        // kill -9 in the middle of a resumed run, with a temporary file left as an interrupted write leaves it.
        using (var killed = Cli.Start(dir, ["train", "--resume", folder]))
        {
            Thread.Sleep(4000);
            killed.Kill(entireProcessTree: true);
            killed.WaitForExit();
            // What a write cut short leaves: a temporary checkpoint and a results line without its end.
            File.WriteAllText(Path.Combine(folder, ".checkpoint.ck.99999.tmp"), "half");
            File.AppendAllText(Path.Combine(folder, "results.jsonl"), "{\"epoch\": 99, \"testAcc");
        }

        // The lock went with the process; the last resume finishes the run.
        var last = Cli.Run(dir, ["train", "--resume", folder], seconds: 600);
        Assert.True(last.Code == 0, $"exit {last.Code}: {last.Err}");
        var lines = File.ReadAllLines(Path.Combine(folder, "results.jsonl"));
        Assert.Equal(Enumerable.Range(1, epochs), lines.Select(l => JsonNode.Parse(l)!["epoch"]!.GetValue<int>()));
        Assert.Empty(Directory.GetFiles(folder, "*.tmp").Concat(Directory.GetFiles(folder, ".*.tmp")));
        Assert.Equal("completed", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")))!["status"]!.GetValue<string>());
    }

    [Fact]
    public void ADivergingRunExitsWithItsCauseAndASummary()
    {
        var dir = Files.Temp("hybrid-diverge-");
        var root = Path.Combine(dir, "R");
        var r = Cli.Run(dir, [.. Train(root, "div", 16, 2), "--step-size", "1e4"]);
        Assert.True(r.Code == 3, $"exit {r.Code}: {r.Err}");
        var error = r.ErrLines.Single(l => l.StartsWith("error:"));
        Assert.Contains("inference diverged", error);
        Assert.Contains("step size alpha = 10000; lower it", error);
        Assert.DoesNotContain("   at ", r.Err);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(OnlyFolder(root, "div"), "summary.json")))!;
        Assert.Equal("diverged", summary["status"]!.GetValue<string>());
        Assert.Equal(error["error: ".Length..], summary["error"]!.GetValue<string>());
    }

    [SkippableFact]
    public void AFullDiskStopsTheRunInOneLineAndLosesNothing()
    {
        var dir = Files.Temp("hybrid-full-");
        var disk = Path.Combine(dir, "disk");
        Directory.CreateDirectory(disk);
        Skip.IfNot(Environment.IsPrivilegedProcess && Command("mount", $"-t tmpfs -o size=8m tmpfs {disk}"),
            "a small disk to fill is a tmpfs mount, which needs root (CI runs as root)");
        try
        {
            var root = Path.Combine(disk, "R");
            using var first = Cli.Start(dir, Train(root, "full", 32, 1000, batch: 4));
            var firstErr = first.StandardError.ReadToEndAsync();
            var folder = WaitFor(() => Directory.Exists(root) ? Directory.GetDirectories(root).FirstOrDefault(d => File.Exists(Path.Combine(d, "checkpoint.ck"))) : null);

            // Stopped at an arbitrary point, the disk filled, continued: the next write fails.
            Signal(first, "STOP");
            var filler = Path.Combine(disk, "filler");
            try
            {
                using var f = File.Create(filler);
                var block = new byte[1 << 16];
                while (true) f.Write(block);
            }
            catch (IOException) { }
            Signal(first, "CONT");
            Assert.True(first.WaitForExit(60_000), "stopped on the full disk");
            Assert.True(first.ExitCode == 4, $"exit {first.ExitCode}: {firstErr.Result}");
            var errors = firstErr.Result.Split('\n').Where(l => l.StartsWith("error:")).ToList();
            Assert.True(errors.Count == 1, firstErr.Result);
            Assert.Contains("No space left on device", errors[0]);
            Assert.DoesNotContain("   at ", firstErr.Result);
            Assert.Empty(Directory.GetFiles(folder, "*.tmp").Concat(Directory.GetFiles(folder, ".*.tmp")));
            var written = Epochs(folder);
            Assert.Equal(Enumerable.Range(1, written.Count), written);

            // Space freed, the run resumes where its checkpoint stands, and stops cleanly.
            File.Delete(filler);
            using var second = Cli.Start(dir, ["train", "--resume", folder]);
            var secondErr = second.StandardError.ReadToEndAsync();
            WaitFor(() => Epochs(folder).Count >= written.Count + 2 ? folder : null);
            Signal(second, "TERM");
            Assert.True(second.WaitForExit(60_000), "stopped after SIGTERM");
            Assert.True(second.ExitCode == 130, $"exit {second.ExitCode}: {secondErr.Result}");
            var all = Epochs(folder);
            Assert.Equal(Enumerable.Range(1, all.Count), all);
            Assert.True(all.Count >= written.Count + 2);
            Assert.Equal("cancelled", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "summary.json")))!["status"]!.GetValue<string>());
        }
        finally
        {
            Command("umount", $"-l {disk}");
        }
    }

    static List<int> Epochs(string folder) =>
        File.ReadAllLines(Path.Combine(folder, "results.jsonl")).Select(l => JsonNode.Parse(l)!["epoch"]!.GetValue<int>()).ToList();

    static bool Command(string file, string args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode == 0;
    }

    static string WaitFor(Func<string?> probe)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed.TotalSeconds < 120)
        {
            if (probe() is { } found) return found;
            Thread.Sleep(100);
        }
        throw new TimeoutException("the run did not write its first checkpoint in 120 s");
    }

    static void Signal(Process p, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {p.Id}");
        kill.WaitForExit();
    }
}
