/// TensorBoard event files: scalars a run writes so that TensorBoard's viewer opens
/// its folder. The file is a sequence of records (length, masked CRC-32C of the
/// length, an `Event` protocol buffer, masked CRC-32C of the data); the first event
/// names the format version. Only what scalars need is encoded: `Event.wall_time`
/// (1, double), `Event.step` (2, int64), `Event.file_version` (3, string) and
/// `Event.summary` (5) holding `Summary.Value` (1) with `tag` (1) and
/// `simple_value` (2, float).
module Hybrid.TensorBoard

/// CRC-32C (Castagnoli) of bytes, as TFRecord frames use it.
val crc32c: data: System.ReadOnlySpan<byte> -> uint32

/// The masked form TFRecord stores (rotated right by 15, plus a constant).
val masked: crc: uint32 -> uint32

/// A scalar read back from an event file.
type Scalar =
    {
      Tag: string
      Step: int64
      Value: float32
      WallTime: float
    }

module private Proto =
    val varint: w: System.IO.BinaryWriter -> v: uint64 -> unit
    val key: w: System.IO.BinaryWriter -> field: int -> wire: int -> unit
    val bytesField:
      w: System.IO.BinaryWriter -> field: int -> b: byte array -> unit
    val build: f: (System.IO.BinaryWriter -> unit) -> byte array
    val event:
      wallTime: float ->
        step: int64 -> body: (System.IO.BinaryWriter -> unit) -> byte array
    val scalarValue: tag: string -> value: float32 -> byte array

    /// A reader over a message: (field, wire type, payload) triples.
    val fields: data: byte array -> (int * int * byte array) list

val private unixNow: unit -> float

/// Appends events to one event file; every record is flushed as it is written, so a
/// killed process leaves whole records (and at most one cut-short record at the end,
/// which readers skip).
type EventWriter =
    interface System.IDisposable
    new: path: string -> EventWriter

    /// Writes scalars of one step (one event), then flushes.
    member Scalars: step: int64 * values: (string * float) list -> unit

    /// The file.
    member Path: string

/// A new event file in `folder`, named as TensorBoard looks for them
/// (`events.out.tfevents.SECONDS.HOST.PID`).
val create: folder: string -> EventWriter

/// Reads the scalars of an event file, checking both checksums of every record; a
/// record cut short at the end of the file (a killed writer) ends the reading.
val read: path: string -> Scalar list

/// The scalars of an epoch record, at step = epoch.
val epochScalars: r: EpochRecord -> (string * float) list
