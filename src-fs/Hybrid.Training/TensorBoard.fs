/// TensorBoard event files: scalars a run writes so that TensorBoard's viewer opens
/// its folder. The file is a sequence of records (length, masked CRC-32C of the
/// length, an `Event` protocol buffer, masked CRC-32C of the data); the first event
/// names the format version. Only what scalars need is encoded: `Event.wall_time`
/// (1, double), `Event.step` (2, int64), `Event.file_version` (3, string) and
/// `Event.summary` (5) holding `Summary.Value` (1) with `tag` (1) and
/// `simple_value` (2, float).
module Hybrid.TensorBoard

open System
open System.IO
open System.Numerics
open System.Text

/// CRC-32C (Castagnoli) of bytes, as TFRecord frames use it.
let crc32c (data: ReadOnlySpan<byte>) : uint32 =
    let mutable c = 0xFFFFFFFFu
    for b in data do
        c <- BitOperations.Crc32C(c, b)
    c ^^^ 0xFFFFFFFFu

/// The masked form TFRecord stores (rotated right by 15, plus a constant).
let masked (crc: uint32) : uint32 = ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8u

/// A scalar read back from an event file.
type Scalar = { Tag: string; Step: int64; Value: float32; WallTime: float }

module private Proto =
    let varint (w: BinaryWriter) (v: uint64) =
        let mutable v = v
        while v >= 0x80UL do
            w.Write(byte (v &&& 0x7FUL ||| 0x80UL))
            v <- v >>> 7
        w.Write(byte v)

    let key (w: BinaryWriter) (field: int) (wire: int) = varint w (uint64 ((field <<< 3) ||| wire))

    let bytesField (w: BinaryWriter) (field: int) (b: byte[]) =
        key w field 2
        varint w (uint64 b.Length)
        w.Write b

    let build (f: BinaryWriter -> unit) =
        use m = new MemoryStream()
        use w = new BinaryWriter(m)
        f w
        w.Flush()
        m.ToArray()

    let event (wallTime: float) (step: int64) (body: BinaryWriter -> unit) =
        build (fun w ->
            key w 1 1
            w.Write wallTime
            if step <> 0L then
                key w 2 0
                varint w (uint64 step)
            body w)

    let scalarValue (tag: string) (value: float32) =
        build (fun w ->
            bytesField w 1 (Encoding.UTF8.GetBytes tag)
            key w 2 5
            w.Write value)

    /// A reader over a message: (field, wire type, payload) triples.
    let fields (data: byte[]) =
        let mutable i = 0
        let readVarint () =
            let mutable v = 0UL
            let mutable shift = 0
            let mutable go = true
            while go do
                if i >= data.Length then raise (Data.DataError("event file", "truncated varint"))
                let b = data[i]
                i <- i + 1
                v <- v ||| (uint64 (b &&& 0x7Fuy) <<< shift)
                shift <- shift + 7
                go <- b &&& 0x80uy <> 0uy
            v
        [ while i < data.Length do
              let k = readVarint ()
              let field, wire = int (k >>> 3), int (k &&& 7UL)
              match wire with
              | 0 -> yield field, 0, BitConverter.GetBytes(readVarint ())
              | 1 ->
                  yield field, 1, data[i .. i + 7]
                  i <- i + 8
              | 2 ->
                  let n = int (readVarint ())
                  yield field, 2, data[i .. i + n - 1]
                  i <- i + n
              | 5 ->
                  yield field, 5, data[i .. i + 3]
                  i <- i + 4
              | w -> raise (Data.DataError("event file", sprintf "unsupported wire type %d" w)) ]

let private unixNow () = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

/// Appends events to one event file; every record is flushed as it is written, so a
/// killed process leaves whole records (and at most one cut-short record at the end,
/// which readers skip).
type EventWriter(path: string) =
    let stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)

    let record (data: byte[]) =
        let frame = Array.zeroCreate<byte> (12 + data.Length + 4)
        BitConverter.TryWriteBytes(Span<byte>(frame, 0, 8), uint64 data.Length) |> ignore
        BitConverter.TryWriteBytes(Span<byte>(frame, 8, 4), masked (crc32c (ReadOnlySpan<byte>(frame, 0, 8)))) |> ignore
        Array.blit data 0 frame 12 data.Length
        BitConverter.TryWriteBytes(Span<byte>(frame, 12 + data.Length, 4), masked (crc32c (ReadOnlySpan<byte> data))) |> ignore
        stream.Write(frame, 0, frame.Length)

    do
        if stream.Length = 0L then
            record (Proto.event (unixNow ()) 0L (fun w -> Proto.bytesField w 3 (Encoding.UTF8.GetBytes "brain.Event:2")))
            stream.Flush(true)

    /// The file.
    member _.Path = path

    /// Writes scalars of one step (one event), then flushes.
    member _.Scalars(step: int64, values: (string * float) list) =
        if not values.IsEmpty then
            let summary =
                Proto.build (fun w ->
                    for tag, v in values do
                        Proto.bytesField w 1 (Proto.scalarValue tag (float32 v)))
            record (Proto.event (unixNow ()) step (fun w -> Proto.bytesField w 5 summary))
            stream.Flush(true)

    interface IDisposable with
        member _.Dispose() = stream.Dispose()

/// A new event file in `folder`, named as TensorBoard looks for them
/// (`events.out.tfevents.SECONDS.HOST.PID`).
let create (folder: string) =
    let name = sprintf "events.out.tfevents.%d.%s.%d" (DateTimeOffset.UtcNow.ToUnixTimeSeconds()) Environment.MachineName Environment.ProcessId
    new EventWriter(Path.Combine(folder, name))

/// Reads the scalars of an event file, checking both checksums of every record; a
/// record cut short at the end of the file (a killed writer) ends the reading.
let read (path: string) : Scalar list =
    let bytes = File.ReadAllBytes path
    let mutable i = 0
    let out = ResizeArray<Scalar>()
    while i + 12 <= bytes.Length do
        let n = int (BitConverter.ToUInt64(bytes, i))
        if masked (crc32c (ReadOnlySpan<byte>(bytes, i, 8))) <> BitConverter.ToUInt32(bytes, i + 8) then
            raise (Data.DataError(path, sprintf "bad length checksum at byte %d" i))
        if i + 12 + n + 4 > bytes.Length then i <- bytes.Length
        else
            let data = bytes[i + 12 .. i + 12 + n - 1]
            if masked (crc32c (ReadOnlySpan<byte> data)) <> BitConverter.ToUInt32(bytes, i + 12 + n) then
                raise (Data.DataError(path, sprintf "bad data checksum at byte %d" i))
            let fields = Proto.fields data
            let wall = fields |> List.tryPick (fun (f, w, b) -> if f = 1 && w = 1 then Some(BitConverter.ToDouble(b, 0)) else None)
            let step = fields |> List.tryPick (fun (f, w, b) -> if f = 2 && w = 0 then Some(BitConverter.ToInt64(b, 0)) else None)
            for f, w, b in fields do
                if f = 5 && w = 2 then
                    for vf, vw, vb in Proto.fields b do
                        if vf = 1 && vw = 2 then
                            let parts = Proto.fields vb
                            let tag = parts |> List.tryPick (fun (f, w, b) -> if f = 1 && w = 2 then Some(Encoding.UTF8.GetString b) else None)
                            let value = parts |> List.tryPick (fun (f, w, b) -> if f = 2 && w = 5 then Some(BitConverter.ToSingle(b, 0)) else None)
                            match tag, value with
                            | Some t, Some v -> out.Add { Tag = t; Step = defaultArg step 0L; Value = v; WallTime = defaultArg wall 0.0 }
                            | _ -> ()
            i <- i + 12 + n + 4
    List.ofSeq out

/// The scalars of an epoch record, at step = epoch.
let epochScalars (r: EpochRecord) : (string * float) list =
    [ yield "test/accuracy", r.TestAccuracy
      yield "train/energy", r.TrainEnergy
      yield "train/meanSteps", r.MeanSteps
      yield "train/seconds", r.Seconds
      yield "train/smm", float r.Smm
      for i, e in Array.indexed r.LayerEnergies do
          yield sprintf "energy/layer%d" (i + 1), e ]
