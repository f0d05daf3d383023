module Hybrid.Native

/// The ELF structures read here (64-bit little-endian only).
module Elf =

    /// VER_FLG_WEAK: a version requirement the loader may leave unsatisfied.
    [<Literal>]
    val VerFlagWeak: uint16 = 2us

    /// A version requirement: the file that must provide it, its name, the
    /// byte offset of its `vna_flags` field, and the flags.
    type Requirement =
        {
          File: string
          Name: string
          FlagsOffset: int
          Flags: uint16
        }
    
    /// The version requirements (`.gnu.version_r`) of an ELF image.
    val requirements: b: byte array -> file: string -> Requirement list
    
    /// The version names an ELF image defines (`.gnu.version_d`).
    val definitions: b: byte array -> file: string -> Set<string>
    
    /// Marks the named requirements weak in place; returns how many were changed.
    val markWeak: b: byte array -> file: string -> names: Set<string> -> int

/// glibc's malloc_trim: returns free heap pages to the system.
val mallocTrim: pad: unativeint -> int

/// What the loader did, for `hybrid info` and diagnostics.
type LoadReport =
    {
      
      /// The shim TorchSharp ships, as found.
      Original: string
      
      /// The file actually loaded (the original, or the patched copy).
      Loaded: string
      
      /// Version requirements that were marked weak (empty: nothing patched).
      Weakened: string list
      
      /// The host libstdc++ that was checked.
      HostLibStdCxx: string
    }

val mutable private report: LoadReport option

/// Makes TorchSharp's native libraries loadable in this process. Idempotent and
/// thread-safe; call it before the first use of `TorchSharp.torch`. Does nothing
/// on hosts other than Linux and on hosts whose libstdc++ is new enough.
val ensureLoaded: unit -> LoadReport
