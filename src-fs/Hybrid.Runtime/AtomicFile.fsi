/// Writing files so that a crash, a kill or a full disk never leaves a half-written
/// one: the content goes to a temporary file in the same folder, is flushed to disk,
/// and is renamed over the target (the previous file stays whole until then).
module Hybrid.AtomicFile

open System.IO

/// Writes `path` through `write`; on any failure the temporary file is removed and the
/// previous file is left as it was.
val write: path: string -> write: (Stream -> unit) -> unit

/// Writes bytes to `path`.
val writeBytes: path: string -> bytes: byte array -> unit

/// Writes UTF-8 text (no byte-order mark) to `path`.
val writeText: path: string -> text: string -> unit
