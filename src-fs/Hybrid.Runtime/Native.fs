/// Loading TorchSharp's native libraries on every host the project runs on.
///
/// TorchSharp's shim `libLibTorchSharp.so` is built with GCC 13 and declares a
/// need for `GLIBCXX_3.4.32`, a version tag whose only symbol is an anchor that
/// is never called. Debian 12's libstdc++ (GCC 12) stops at `GLIBCXX_3.4.30`, so
/// the loader refuses the library. When (and only when) the host's libstdc++
/// lacks a version that the shim requires, this module writes a copy of the
/// shim into a cache folder in which those version requirements are marked weak
/// (`VER_FLG_WEAK` in `.gnu.version_r`), loads libtorch from its own folder,
/// loads the patched copy, and routes TorchSharp's `DllImport("LibTorchSharp")`
/// to it. The original files (build output, NuGet cache) are never modified.
/// Hosts with a new enough libstdc++ are left alone.
module Hybrid.Native

open System
open System.IO
open System.Runtime.InteropServices
open System.Security.Cryptography

/// The ELF structures read here (64-bit little-endian only).
module Elf =
    let private shtGnuVerdef = 0x6ffffffdu
    let private shtGnuVerneed = 0x6ffffffeu

    /// VER_FLG_WEAK: a version requirement the loader may leave unsatisfied.
    [<Literal>]
    let VerFlagWeak = 0x2us

    type private Section = { Type: uint32; Offset: int; Size: int; Link: int; Info: int }

    let private u16 (b: byte[]) (o: int) = BitConverter.ToUInt16(b, o)
    let private u32 (b: byte[]) (o: int) = BitConverter.ToUInt32(b, o)
    let private u64 (b: byte[]) (o: int) = BitConverter.ToUInt64(b, o)

    let private cstring (b: byte[]) (o: int) =
        let mutable e = o
        while e < b.Length && b[e] <> 0uy do e <- e + 1
        Text.Encoding.ASCII.GetString(b, o, e - o)

    let private sections (b: byte[]) (file: string) =
        if b.Length < 64 || b[0] <> 0x7fuy || b[1] <> byte 'E' || b[2] <> byte 'L' || b[3] <> byte 'F' then
            failwithf "%s: not an ELF file" file
        if b[4] <> 2uy || b[5] <> 1uy then failwithf "%s: only 64-bit little-endian ELF is supported" file
        let shoff = int (u64 b 0x28)
        let shentsize = int (u16 b 0x3A)
        let shnum = int (u16 b 0x3C)
        if shoff <= 0 || shoff + shnum * shentsize > b.Length then failwithf "%s: truncated section table" file
        [| for i in 0 .. shnum - 1 ->
               let o = shoff + i * shentsize
               { Type = u32 b (o + 4)
                 Offset = int (u64 b (o + 0x18))
                 Size = int (u64 b (o + 0x20))
                 Link = int (u32 b (o + 0x28))
                 Info = int (u32 b (o + 0x2C)) } |]

    /// A version requirement: the file that must provide it, its name, the
    /// byte offset of its `vna_flags` field, and the flags.
    type Requirement = { File: string; Name: string; FlagsOffset: int; Flags: uint16 }

    /// The version requirements (`.gnu.version_r`) of an ELF image.
    let requirements (b: byte[]) (file: string) : Requirement list =
        let secs = sections b file
        [ for s in secs do
              if s.Type = shtGnuVerneed then
                  let strtab = secs[s.Link].Offset
                  let mutable vn = s.Offset
                  for _ in 1 .. s.Info do
                      let cnt = int (u16 b (vn + 2))
                      let fileName = cstring b (strtab + int (u32 b (vn + 4)))
                      let mutable aux = vn + int (u32 b (vn + 8))
                      for _ in 1 .. cnt do
                          yield { File = fileName
                                  Name = cstring b (strtab + int (u32 b (aux + 8)))
                                  FlagsOffset = aux + 4
                                  Flags = u16 b (aux + 4) }
                          aux <- aux + int (u32 b (aux + 12))
                      vn <- vn + int (u32 b (vn + 12)) ]

    /// The version names an ELF image defines (`.gnu.version_d`).
    let definitions (b: byte[]) (file: string) : Set<string> =
        let secs = sections b file
        set [ for s in secs do
                  if s.Type = shtGnuVerdef then
                      let strtab = secs[s.Link].Offset
                      let mutable vd = s.Offset
                      for _ in 1 .. s.Info do
                          let aux = vd + int (u32 b (vd + 12))
                          yield cstring b (strtab + int (u32 b aux))
                          vd <- vd + int (u32 b (vd + 16)) ]

    /// Marks the named requirements weak in place; returns how many were changed.
    let markWeak (b: byte[]) (file: string) (names: Set<string>) =
        let mutable n = 0
        for r in requirements b file do
            if names.Contains r.Name && r.Flags &&& VerFlagWeak = 0us then
                let f = r.Flags ||| VerFlagWeak
                b[r.FlagsOffset] <- byte (f &&& 0xffus)
                b[r.FlagsOffset + 1] <- byte (f >>> 8)
                n <- n + 1
        n

/// glibc's malloc_trim: returns free heap pages to the system.
[<DllImport("libc", EntryPoint = "malloc_trim")>]
extern int mallocTrim(unativeint pad)

/// What the loader did, for `hybrid info` and diagnostics.
type LoadReport =
    { /// The shim TorchSharp ships, as found.
      Original: string
      /// The file actually loaded (the original, or the patched copy).
      Loaded: string
      /// Version requirements that were marked weak (empty: nothing patched).
      Weakened: string list
      /// The host libstdc++ that was checked.
      HostLibStdCxx: string }

let private shimName = "libLibTorchSharp.so"
let private lockObj = obj ()
let mutable private report : LoadReport option = None

let private hostLibStdCxx () =
    let fromMaps =
        try
            File.ReadLines "/proc/self/maps"
            |> Seq.map (fun l -> l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            |> Seq.filter (fun p -> p.Length >= 6 && Path.GetFileName(p[5]).StartsWith "libstdc++.so")
            |> Seq.map (fun p -> p[5])
            |> Seq.tryHead
        with _ -> None
    match fromMaps with
    | Some p -> Some p
    | None ->
        [ "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"; "/lib/x86_64-linux-gnu/libstdc++.so.6"; "/usr/lib64/libstdc++.so.6" ]
        |> List.tryFind File.Exists

let private torchSharpAssembly () = typeof<TorchSharp.torch.Tensor>.Assembly

/// Folders that may hold TorchSharp's natives, in the order the runtime uses.
let private candidateFolders () =
    let baseDir = AppContext.BaseDirectory
    let tsDir = Path.GetDirectoryName(torchSharpAssembly().Location)
    let rid = Path.Combine("runtimes", "linux-x64", "native")
    [ yield baseDir
      yield Path.Combine(baseDir, rid)
      if not (String.IsNullOrEmpty tsDir) then
          yield tsDir
          yield Path.Combine(tsDir, rid)
          // NuGet cache layout: torchsharp/<v>/lib/<tfm>/TorchSharp.dll
          let pkgHome = Path.GetFullPath(Path.Combine(tsDir, "..", ".."))
          yield Path.Combine(pkgHome, rid)
          let packages = Path.GetFullPath(Path.Combine(pkgHome, "..", ".."))
          let libtorch = Path.Combine(packages, "libtorch-cpu-linux-x64")
          if Directory.Exists libtorch then
              for v in Directory.GetDirectories libtorch |> Array.sortDescending do
                  yield Path.Combine(v, rid) ]
    |> List.distinct

let private findFile name =
    candidateFolders () |> List.map (fun d -> Path.Combine(d, name)) |> List.tryFind File.Exists

let private cacheRoot () =
    match Environment.GetEnvironmentVariable "HYBRID_NATIVE_CACHE" with
    | s when not (String.IsNullOrWhiteSpace s) -> s
    | _ ->
        let xdg = Environment.GetEnvironmentVariable "XDG_CACHE_HOME"
        let baseDir =
            if String.IsNullOrWhiteSpace xdg then
                let home = Environment.GetFolderPath Environment.SpecialFolder.UserProfile
                if String.IsNullOrWhiteSpace home then Path.GetTempPath() else Path.Combine(home, ".cache")
            else xdg
        Path.Combine(baseDir, "hybrid", "native")

/// The patched copy of the shim, written atomically into the cache (and reused from
/// there by later processes); returns its path and whether it is a private copy to
/// delete once loaded. When the cache folder cannot be written (a read-only home, no
/// home), the copy goes to a fresh folder of this process's own under the temporary
/// folder (created for the owner only), which is deleted again once the copy is
/// loaded: nothing is ever loaded from a shared folder that others could write.
let private patchedCopy (original: string) (bytes: byte[]) (weak: Set<string>) =
    let hash = Convert.ToHexString(SHA256.HashData bytes).Substring(0, 16).ToLowerInvariant()
    let patched =
        lazy
            let copy = Array.copy bytes
            let n = Elf.markWeak copy original weak
            if n <> weak.Count then failwithf "%s: expected to weaken %d version requirements, weakened %d" original weak.Count n
            copy
    let cache = Path.Combine(cacheRoot (), hash)
    let target = Path.Combine(cache, shimName)
    try
        if not (File.Exists target) then
            Directory.CreateDirectory cache |> ignore
            AtomicFile.writeBytes target patched.Value
        target, false
    with e when (e :? UnauthorizedAccessException) || (e :? IOException) ->
        if not (String.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable "HYBRID_NATIVE_CACHE")) then
            raise (IOException(sprintf "HYBRID_NATIVE_CACHE: Hybrid could not write its patched copy of %s to %s (%s)" shimName cache e.Message))
        let own =
            try Directory.CreateTempSubdirectory("hybrid-native-").FullName
            with inner ->
                raise (IOException(sprintf "Hybrid could not write its patched copy of %s to %s (%s) nor to the temporary folder (%s); set HYBRID_NATIVE_CACHE to a writable folder" shimName cache e.Message inner.Message))
        let path = Path.Combine(own, shimName)
        File.WriteAllBytes(path, patched.Value)
        path, true

let private load () =
    let original =
        match findFile shimName with
        | Some p -> p
        | None ->
            failwithf "Hybrid could not find %s. Searched: %s. Reference the packages TorchSharp and libtorch-cpu-linux-x64."
                shimName (String.Join(", ", candidateFolders ()))
    let bytes = File.ReadAllBytes original
    let host = hostLibStdCxx ()
    let provided =
        match host with
        | Some h -> Elf.definitions (File.ReadAllBytes h) h
        | None -> Set.empty
    let missing =
        Elf.requirements bytes original
        |> List.filter (fun r -> r.File.StartsWith "libstdc++.so" && not (provided.Contains r.Name) && r.Flags &&& Elf.VerFlagWeak = 0us)
        |> List.map (fun r -> r.Name)
        |> Set.ofList
    if missing.IsEmpty || host.IsNone then
        { Original = original; Loaded = original; Weakened = []; HostLibStdCxx = defaultArg host "" }
    else
        let patched, privateCopy = patchedCopy original bytes missing
        // libtorch's libraries first, from their own folder (their RUNPATH is $ORIGIN),
        // so that the shim's DT_NEEDED entries match libraries already loaded.
        for dep in [ "libc10.so"; "libtorch_cpu.so"; "libtorch.so" ] do
            match findFile dep with
            | Some p -> NativeLibrary.Load p |> ignore
            | None -> failwithf "Hybrid could not find %s (needed by %s). Searched: %s" dep shimName (String.Join(", ", candidateFolders ()))
        let handle = NativeLibrary.Load patched
        if privateCopy then
            // Loaded libraries stay mapped when their file goes.
            try Directory.Delete(Path.GetDirectoryName patched, true) with _ -> ()
        let resolver =
            DllImportResolver(fun name _ _ ->
                if name = "LibTorchSharp" || name = shimName || name = "libLibTorchSharp" then handle else IntPtr.Zero)
        try NativeLibrary.SetDllImportResolver(torchSharpAssembly (), resolver)
        with :? InvalidOperationException ->
            // Another resolver is set (a second loader in the process); the shim is
            // loaded already, and glibc matches the soname for TorchSharp's own load.
            ()
        { Original = original; Loaded = patched; Weakened = Set.toList missing; HostLibStdCxx = host.Value }

/// Makes TorchSharp's native libraries loadable in this process. Idempotent and
/// thread-safe; call it before the first use of `TorchSharp.torch`. Does nothing
/// on hosts other than Linux and on hosts whose libstdc++ is new enough.
let ensureLoaded () : LoadReport =
    lock lockObj (fun () ->
        match report with
        | Some r -> r
        | None ->
            let r =
                if RuntimeInformation.IsOSPlatform OSPlatform.Linux && RuntimeInformation.ProcessArchitecture = Architecture.X64 then
                    load ()
                else
                    { Original = ""; Loaded = ""; Weakened = []; HostLibStdCxx = "" }
            report <- Some r
            r)
