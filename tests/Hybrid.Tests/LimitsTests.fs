/// Limits of a run: the memory estimate that refuses oversized models before they are
/// built, allocation failures as named errors, checkpoints streamed in chunks, and the
/// run folder's guards (a results line cut back, the lock's real failure, atomic folder
/// names, symbolic links refused), and divergence naming the block that produced it.
module Hybrid.Tests.LimitsTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Hybrid
open Hybrid.Data
open Hybrid.Tests.Fixtures

let private data () = separableData 80 40

let private small =
    { Config.defaults with
        Name = "limits"
        Architecture = Architecture.Mlp([ 16; 16 ], Activation.Tanh)
        Epochs = 1
        BatchSize = 20
        Device = DeviceChoice.Cpu
        TensorBoard = false }

let private gib = 1073741824.0

/// A stream that takes the first `accept` bytes of any write, then fails as a full disk does.
type private FullDisk(inner: Stream, accept: int) =
    inherit Stream()
    override _.CanRead = inner.CanRead
    override _.CanSeek = inner.CanSeek
    override _.CanWrite = inner.CanWrite
    override _.Length = inner.Length
    override _.Position
        with get () = inner.Position
        and set v = inner.Position <- v
    override _.Flush() = inner.Flush()
    override _.Read(buffer, offset, count) = inner.Read(buffer, offset, count)
    override _.Seek(offset, origin) = inner.Seek(offset, origin)
    override _.SetLength v = inner.SetLength v
    override _.Write(buffer: byte[], offset: int, count: int) =
        inner.Write(buffer, offset, min count accept)
        if count > accept then raise (IOException "No space left on device")

/// A block that takes the square root of its input: NaN for the negative predictions below it.
type private SqrtBlock() =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("sqrt-block")
    override _.forward(h: torch.Tensor) = h.sqrt()

/// A linear layer, a square root and a linear layer; the first layer's weights and bias are
/// -1, so that its predictions for positive-sum inputs are negative.
let private sqrtNet () =
    let net = Network.ofModules "sqrt-net" [ torch.nn.Linear(8L, 6L); new SqrtBlock(); torch.nn.Linear(6L, 4L) ] Loss.CrossEntropy [| 8L |] Precision.Float32 cpu
    use _ = torch.no_grad ()
    use minusOne = (-1.0).ToScalar()
    for p in net.Blocks[0].Parameters do p.fill_(minusOne) |> ignore
    net

[<Tests>]
let footprint =
    testList "Footprint" [
        test "the sizes of every built-in architecture are those of the network it builds" {
            let cases =
                [ Architecture.Mlp([ 16; 7 ], Activation.Tanh), [| 8L |]
                  Architecture.ResidualMlp(12, 4, Activation.Relu, Parameterisation.MuPC), [| 8L |]
                  Architecture.ResidualMlp(6, 3, Activation.Relu, Parameterisation.Sp), [| 5L |]
                  Architecture.ConvNet([ { Channels = 4; Pool = true }; { Channels = 3; Pool = false }; { Channels = 2; Pool = true } ], [ 10 ], Activation.Relu), [| 1L; 9L; 9L |]
                  Architecture.ResNet18(2, Activation.Relu), [| 3L; 8L; 8L |] ]
            for arch, shape in cases do
                use net = Network.create arch Loss.CrossEntropy shape 4 Precision.Float32 cpu 0L
                let s = (Footprint.sizes arch shape 4).Value
                Expect.equal s.Parameters (float net.ParameterCount) (sprintf "%O: parameters" arch)
                let states = [ for l in 0 .. net.Depth -> net.StateShape l |> Array.fold (fun a d -> a * float d) 1.0 ]
                Expect.equal s.States states (sprintf "%O: state sizes" arch)
            Expect.isNone (Footprint.sizes (Architecture.Custom "mine") [| 8L |] 4) "a custom network's sizes are its modules'"
        }

        test "the estimate counts parameters, gradients and the optimiser's state in the run's precision" {
            let s = (Footprint.sizes small.Architecture [| 8L |] 4).Value
            let p = s.Parameters
            let adam = Footprint.estimate small s
            Expect.equal adam.Parameters (4.0 * p) "float32 parameters"
            Expect.equal adam.Gradients (4.0 * p) "one gradient each"
            Expect.equal adam.OptimizerState (8.0 * p) "AdamW: two moments"
            let sgd = Footprint.estimate { small with Optimizer = OptimizerSpec.Sgd(0.1, 0.0); Precision = Precision.Float64 } s
            Expect.equal sgd.Parameters (8.0 * p) "float64 parameters"
            Expect.equal sgd.OptimizerState 0.0 "plain SGD keeps nothing"
            let momentum = Footprint.estimate { small with Optimizer = OptimizerSpec.Sgd(0.1, 0.9) } s
            Expect.equal momentum.OptimizerState (4.0 * p) "SGD momentum: one velocity"
            let batch n = (Footprint.estimate { small with BatchSize = n } s).Batch
            Expect.isGreaterThan (batch 8000) (batch 4000) "a larger batch needs more"
            Expect.isTrue (adam.Total > adam.Parameters + adam.Gradients + adam.OptimizerState) "the batch and buffers count too"
        }

        test "widths near 2^31 neither overflow nor wrap" {
            let w = Int32.MaxValue
            let s = (Footprint.sizes (Architecture.Mlp([ w; w ], Activation.Relu)) [| 784L |] 10).Value
            let fw = float w
            let expected = (784.0 * fw + fw) + (fw * fw + fw) + (fw * 10.0 + 10.0)
            Expect.floatClose Accuracy.veryHigh s.Parameters expected "parameters in floating point"
            Expect.isTrue (s.Parameters > 4.6e18) "no wrap to a small or negative count"
        }

        test "a run that needs more than is available is refused in one line with the estimate, its parts and the remedy" {
            let cfg = { small with Architecture = Architecture.Mlp([ 100000; 100000 ], Activation.Gelu) }
            let e = Footprint.estimate cfg (Footprint.sizes cfg.Architecture [| 784L |] 10).Value
            Expect.isGreaterThan e.Total (100.0 * gib) "the model is large"
            let refused = Util.throws<ConfigError> (fun () -> Footprint.check cfg e (Some { Bytes = 21.8 * gib; Source = "(MemAvailable)" }))
            let msg = refused.Message
            Expect.isFalse (msg.Contains '\n') "one line"
            Expect.stringStarts msg (sprintf "the model needs about %s (parameters %s, gradients" (Footprint.describe e.Total) (Footprint.describe e.Parameters)) "the estimate first"
            Expect.stringContains msg "AdamW state" "the optimiser's part"
            Expect.stringContains msg "but 21.8 GiB is available (MemAvailable)" "what is available"
            Expect.stringContains msg "lower --width or --hidden" "the remedy"
            Expect.stringContains msg "HYBRID_MEMORY_CHECK=0" "how to skip"
            // Enough memory, or no figure at all: nothing is refused.
            Footprint.check cfg e (Some { Bytes = 2.0 * e.Total; Source = "" })
            Footprint.check cfg e None
            // A batch-dominated run is told to lower the batch.
            let wide = { small with BatchSize = 1_000_000 }
            let eb = Footprint.estimate wide (Footprint.sizes wide.Architecture [| 784L |] 10).Value
            let msg = (Util.throws<ConfigError> (fun () -> Footprint.check wide eb (Some { Bytes = 1.0 * gib; Source = "" }))).Message
            Expect.stringContains msg "lower --batch-size" "the batch is the remedy"
        }

        test "sizes for people" {
            Expect.equal (Footprint.describe (812.0 * 1048576.0)) "812 MiB" "MiB"
            Expect.equal (Footprint.describe (74.5 * gib)) "74.5 GiB" "GiB"
            Expect.equal (Footprint.describe (5.9 * 1024.0 * gib)) "5.9 TiB" "TiB"
        }

        test "what is available is read from this machine" {
            match Footprint.available () with
            | Some a -> Expect.isGreaterThan a.Bytes 0.0 "some memory is available"
            | None -> Expect.isFalse (File.Exists "/proc/meminfo") "Linux reports MemAvailable"
        }

        test "a session of an oversized model is refused before its network is built" {
            if Footprint.enabled () then
                use d = data ()
                // 10^12 parameters: no machine has the 4 TiB they need.
                let cfg = { small with Architecture = Architecture.Mlp([ 1_000_000; 1_000_000 ], Activation.Gelu) }
                let watch = Diagnostics.Stopwatch.StartNew()
                let e = Util.throws<ConfigError> (fun () -> TrainingSession.Start(cfg, d) |> ignore)
                Expect.stringContains e.Message "the model needs about" "the estimate"
                Expect.isLessThan watch.Elapsed.TotalSeconds 5.0 "refused at once"
        }

        test "a parameter tensor that cannot be allocated is an error naming its size, not a crash" {
            // 2 * 10^15 float32 values: more than any address space holds.
            let e =
                Util.throws<ArgumentException> (fun () ->
                    Network.create (Architecture.Mlp([ 2_000_000_000 ], Activation.Relu)) Loss.CrossEntropy [| 1_000_000L |] 10 Precision.Float32 cpu 0L
                    |> ignore)
            Expect.stringContains e.Message "cannot be allocated" "named as an allocation failure"
            Expect.stringContains e.Message "[2000000000; 1000000]" "the tensor's shape"
        }

        test "parameters are drawn as before: uniform and Gaussian initialisations are unchanged" {
            // torch.rand / torch.randn from the same generator give the values the network holds.
            use g = Rng.generator (Rng.derive 3L "weights") cpu
            use net = Network.create (Architecture.Mlp([ 5 ], Activation.Relu)) Loss.CrossEntropy [| 3L |] 2 Precision.Float64 cpu (Rng.derive 3L "weights")
            let bound = 1.0 / sqrt 3.0
            let w = Ops.add (Ops.mul (torch.rand([| 5L; 3L |], dtype = torch.float64, generator = g)) (2.0 * bound)) (-bound)
            Expect.isTrue (net.Blocks[0].Weight.equal(w).all().item<bool> ()) "the first weight, value for value"
            use g2 = Rng.generator 4L cpu
            use k = Network.createWith WeightInit.Kaiming (Architecture.Mlp([ 5 ], Activation.Relu)) Loss.CrossEntropy [| 3L |] 2 Precision.Float64 cpu 4L
            let wk = Ops.mul (torch.randn([| 5L; 3L |], dtype = torch.float64, generator = g2)) (sqrt (2.0 / 3.0))
            Expect.isTrue (k.Blocks[0].Weight.equal(wk).all().item<bool> ()) "a Kaiming weight, value for value"
        }
    ]

/// Named tensors of every dtype a checkpoint holds, of sizes that do not divide the chunks.
let private contents () : Checkpoint.Contents =
    use g = Rng.generator 11L cpu
    let meta = Text.Json.Nodes.JsonObject()
    meta["kind"] <- "test"
    meta["note"] <- "chunks"
    { Meta = meta
      Tensors =
        Map.ofList
            [ "a", torch.randn([| 37L; 11L |], dtype = torch.float32, generator = g).DetachFromDisposeScope()
              "b", torch.randn([| 5L; 3L |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
              "c", torch.arange(13L, dtype = torch.int64).DetachFromDisposeScope()
              "d", torch.tensor([| 1uy; 2uy; 3uy; 250uy; 7uy |]).DetachFromDisposeScope()
              "e", torch.zeros([| 0L; 4L |], dtype = torch.float32).DetachFromDisposeScope()
              "f", torch.tensor(2.5).DetachFromDisposeScope() ] }

let private sameTensors (a: Checkpoint.Contents) (b: Checkpoint.Contents) =
    Expect.equal (a.Tensors |> Map.keys |> List.ofSeq) (b.Tensors |> Map.keys |> List.ofSeq) "names"
    for KeyValue(name, t) in a.Tensors do
        let u = b.Tensors[name]
        Expect.equal u.shape t.shape (sprintf "%s: shape" name)
        Expect.equal u.dtype t.dtype (sprintf "%s: dtype" name)
        Expect.isTrue (t.numel () = 0L || t.equal(u).all().item<bool> ()) (sprintf "%s: every value" name)

[<Tests>]
let checkpoints =
    testList "Checkpoint.Chunks" [
        test "tensors larger than a chunk stream through it and read back exactly, in the same file format" {
            let dir = Directory.CreateTempSubdirectory("hybrid-chunks-").FullName
            let c = contents ()
            let whole = Path.Combine(dir, "whole.ck")
            let chunked = Path.Combine(dir, "chunked.ck")
            Checkpoint.save whole c
            // 24 bytes: 6 float32 or 3 float64 values at a time, so every tensor spans chunks.
            Checkpoint.saveChunked 24 chunked c
            Expect.sequenceEqual (File.ReadAllBytes chunked) (File.ReadAllBytes whole) "the same bytes whatever the chunk"
            for chunk in [ 8; 16; 40; 1 <<< 20 ] do
                let back = Checkpoint.loadChunked chunk chunked
                sameTensors c back
                Expect.equal (back.Meta.ToJsonString()) (c.Meta.ToJsonString()) (sprintf "chunk %d: header" chunk)
                for t in back.Tensors.Values do t.Dispose()
            let meta = Checkpoint.meta chunked
            Expect.equal (meta["note"].GetValue<string>()) "chunks" "the header alone"
        }

        test "a damaged file is refused by its checksum when read in chunks or for its header alone" {
            let dir = Directory.CreateTempSubdirectory("hybrid-chunks-").FullName
            let path = Path.Combine(dir, "c.ck")
            Checkpoint.saveChunked 16 path (contents ())
            let good = File.ReadAllBytes path
            let refused (bytes: byte[]) (fragment: string) =
                File.WriteAllBytes(path, bytes)
                for read in [ (fun () -> Checkpoint.loadChunked 16 path |> ignore); (fun () -> Checkpoint.meta path |> ignore) ] do
                    let e = Util.throws<Checkpoint.CheckpointError> read
                    Expect.stringContains e.Message fragment fragment
            let flip (i: int) =
                let b = Array.copy good
                b[i] <- b[i] ^^^ 0xFFuy
                b
            refused (flip (good.Length - 40)) "checksum mismatch"
            refused (flip 20) "checksum mismatch"
            refused (good[.. good.Length / 2]) "checksum mismatch"
            refused (good[.. 60]) "checksum mismatch"
            refused (good[.. 20]) "not a Hybrid checkpoint"
            refused (Array.append "NOTACKPT"B (good[8..])) "not a Hybrid checkpoint"
        }
    ]

[<Tests>]
let runFolders =
    testList "Runs.Guards" [
        test "a results line cut short by a full disk is cut back, in memory and on disk" {
            let line = Text.Encoding.UTF8.GetBytes "{\"epoch\":2,\"testAccuracy\":50}\n"
            use memory = new MemoryStream()
            memory.Write("first\n"B, 0, 6)
            let e = Util.throws<IOException> (fun () -> Runs.appendUndoable (new FullDisk(memory, 9)) line ignore)
            Expect.stringContains e.Message "No space" "the failure is raised"
            Expect.sequenceEqual (memory.ToArray()) "first\n"B "cut back to the complete lines"
            let dir = Directory.CreateTempSubdirectory("hybrid-full-").FullName
            let file = Path.Combine(dir, "results.jsonl")
            File.WriteAllBytes(file, "first\n"B)
            do
                // Opened as the run folder opens it: unbuffered, not in append mode.
                use fs = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 0)
                Util.throws<IOException> (fun () -> Runs.appendUndoable (new FullDisk(fs, 9)) line ignore) |> ignore
            Expect.sequenceEqual (File.ReadAllBytes file) "first\n"B "the file holds no half line"
            do
                use fs = new FileStream(file, FileMode.OpenOrCreate, FileAccess.Write, FileShare.Read, 0)
                Runs.appendUndoable fs line ignore
            Expect.sequenceEqual (File.ReadAllBytes file) (Array.append "first\n"B line) "a write that succeeds is appended"
        }

        test "a lock held elsewhere reads 'in use'; a lock that cannot be taken for another reason names it" {
            let root = Directory.CreateTempSubdirectory("hybrid-lock-").FullName
            use first = Runs.RunFolder.CreateAt(Path.Combine(root, "a"), small)
            let e = Util.throws<Runs.RunFolderError> (fun () -> Runs.RunFolder.Open(first.Path) |> ignore)
            Expect.stringContains e.Message "is in use by another process" "held"
            Expect.isTrue (Runs.isLocked first.Path) "isLocked sees it"
            let other = Path.Combine(root, "b")
            Directory.CreateDirectory(Path.Combine(other, Runs.lockFile)) |> ignore
            let e = Util.throws<Runs.RunFolderError> (fun () -> Runs.RunFolder.Open other |> ignore)
            Expect.stringContains e.Message "cannot be locked" "another failure"
            Expect.isFalse (e.Message.Contains "in use by another process") "not reported as in use"
            Expect.isFalse (Runs.isLocked other) "not locked"
        }

        test "runs started together under one root get folders of their own" {
            let root = Path.Combine(Directory.CreateTempSubdirectory("hybrid-race-").FullName, "runs")
            let n = 8
            use start = new Barrier(n)
            let made: Runs.RunFolder[] = Array.zeroCreate n
            let threads =
                Array.init n (fun i -> Thread(fun () -> start.SignalAndWait(); made[i] <- Runs.RunFolder.Create(root, small)))
            for t in threads do t.Start()
            for t in threads do t.Join()
            let folders = made
            try
                let paths = folders |> Array.map (fun f -> f.Path)
                Expect.equal (Array.distinct paths).Length n "distinct folders"
                Expect.equal (Directory.GetDirectories root).Length n "one folder each"
                Expect.equal (folders |> Array.map (fun f -> f.Id) |> Array.distinct).Length n "distinct runs"
                for f in folders do
                    Expect.equal (f.Config()) small (sprintf "%s: its own config" f.Path)
            finally
                for f in folders do (f :> IDisposable).Dispose()
        }

        test "a run folder whose files are symbolic links is refused, and the link's target is untouched" {
            let root = Directory.CreateTempSubdirectory("hybrid-link-").FullName
            let dir = Path.Combine(root, "run")
            do
                use r = Runs.RunFolder.CreateAt(dir, small)
                ()
            let outside = Path.Combine(root, "outside.txt")
            File.WriteAllText(outside, "keep me\n")
            for name in [ "results.jsonl"; "checkpoint.ck"; "config.json"; "summary.json" ] do
                let link = Path.Combine(dir, name)
                let saved = if File.Exists link then Some(File.ReadAllBytes link) else None
                File.Delete link
                File.CreateSymbolicLink(link, outside) |> ignore
                let e = Util.throws<Runs.RunFolderError> (fun () -> Runs.RunFolder.Open dir |> ignore)
                Expect.stringContains e.Message (sprintf "%s is a symbolic link" name) name
                let e = Util.throws<Runs.RunFolderError> (fun () -> Hybrid.Reporting.Pipeline.resume dir Hybrid.Reporting.Observer.silent CancellationToken.None |> ignore)
                Expect.stringContains e.Message "is a symbolic link" (sprintf "%s: resume" name)
                File.Delete link
                saved |> Option.iter (fun b -> File.WriteAllBytes(link, b))
            Expect.equal (File.ReadAllText outside) "keep me\n" "the target is unchanged"
        }
    ]

[<Tests>]
let divergence =
    testList "Divergence.Blocks" [
        test "a block that turns finite states into NaN is named in the divergence, for pc and bp" {
            for algorithm in [ Config.defaults.Algorithm; Algorithm.Backprop ] do
                use d = data ()
                let net = sqrtNet ()
                let cfg = { Config.forNetwork net small with Algorithm = algorithm }
                use s = TrainingSession.StartWith(cfg, d, net)
                s.Step() |> ignore
                match s.Status with
                | RunStatus.Diverged msg ->
                    Expect.stringContains msg "block 1 (sqrt-block) turned finite inputs into non-finite values" (sprintf "%O: the block is named" algorithm)
                | other -> failtestf "%O: expected a divergence, got %O" algorithm other
        }

        test "the block is found at the states, or along the forward pass, and not where none produced it" {
            use net = sqrtNet ()
            let x = Ops.mul (torch.ones([| 2L; 8L |])) 0.5
            let negative = Ops.mul (torch.ones([| 2L; 6L |])) -1.0
            let positive = torch.ones([| 2L; 6L |])
            let nanStates = Ops.mul (torch.ones([| 2L; 6L |])) nan
            Expect.equal (Training.nonFiniteBlock net [| x; negative; positive |]) (Some "block 1 (sqrt-block)") "at the states"
            Expect.equal (Training.nonFiniteBlock net [| x; positive; nanStates |]) (Some "block 1 (sqrt-block)") "along the forward pass"
            use plain = Network.create (Architecture.Mlp([ 6 ], Activation.Tanh)) Loss.CrossEntropy [| 8L |] 4 Precision.Float32 cpu 0L
            Expect.isNone (Training.nonFiniteBlock plain [| x; nanStates |]) "non-finite states are not a block's doing"
        }
    ]
