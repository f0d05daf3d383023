/// Downloading published dataset files over HTTP: transfers that resume where a broken
/// one stopped (HTTP range requests), the published MD5 checksums, progress, and a move
/// into the data root only once every file is complete and the dataset reads.
module Hybrid.Data.Download

open System
open System.Formats.Tar
open System.IO
open System.IO.Compression
open System.Net
open System.Net.Http
open System.Security.Cryptography
open System.Threading
open System.Threading.Tasks

/// A download failed: no network, an HTTP error, a transfer cut short or a checksum
/// mismatch. The message names the file, the address and what to do.
exception DownloadError of string with
    override this.Message = this.Data0

/// A file as its publisher lists it: its name, MD5 checksum and size in bytes. No
/// transfer writes more than the size: a longer body is stopped and deleted.
type RemoteFile = { Name: string; Md5: string; Size: int64 }

/// How the downloaded files become the dataset's folder.
[<RequireQualifiedAccess>]
type Unpack =
    /// The files are the dataset (IDX files, gzipped or not).
    | Files
    /// A tar.gz whose members under this folder are the dataset (CIFAR-10's binary batches).
    | TarFolder of string

/// A dataset as published: the addresses to try in order (each followed by a file's
/// name), its files, and how they become its folder.
type RemoteSet = { Dataset: string; Bases: string list; Files: RemoteFile list; Unpack: Unpack }

/// Progress of one file's transfer.
type Progress = { File: string; Done: int64; Total: int64 option }

/// How long a transfer may wait and how slow it may be. A transfer that breaks one of
/// them fails with a `DownloadError` naming the limit, its variable and the address.
type Limits =
    { /// To connect and receive the response's headers (`HYBRID_FETCH_TIMEOUT`, seconds).
      Response: TimeSpan
      /// The longest wait for the next bytes of a body (`HYBRID_FETCH_STALL`, seconds); also
      /// the length of the windows over which `MinRate` is measured.
      Stall: TimeSpan
      /// The least average rate in each window of `Stall`, bytes per second
      /// (`HYBRID_FETCH_MIN_RATE`; 0 turns the rule off).
      MinRate: int64 }

module Limits =
    /// 30 s to answer, 60 s without a byte at most, and at least 1 KiB/s over each minute.
    let defaults = { Response = TimeSpan.FromSeconds 30.0; Stall = TimeSpan.FromSeconds 60.0; MinRate = 1024L }

    let private read (name: string) (minimum: float) (unit: string) (fallback: float) =
        match Environment.GetEnvironmentVariable name with
        | v when String.IsNullOrWhiteSpace v -> fallback
        | v ->
            match Double.TryParse(v.Trim(), Globalization.NumberStyles.Float, Globalization.CultureInfo.InvariantCulture) with
            | true, x when Double.IsFinite x && (if minimum = 0.0 then x >= 0.0 else x >= minimum) && x < 1e9 -> x
            | _ ->
                raise (ArgumentException(sprintf "%s=%s is not a number of %s %s" name v unit (if minimum = 0.0 then "of at least 0" else sprintf "of at least %g" minimum)))

    /// The defaults, with `HYBRID_FETCH_TIMEOUT`, `HYBRID_FETCH_STALL` (seconds, at least
    /// 0.1) and `HYBRID_FETCH_MIN_RATE` (bytes per second, 0 or more) where they are set.
    let fromEnvironment () =
        { Response = TimeSpan.FromSeconds(read "HYBRID_FETCH_TIMEOUT" 0.1 "seconds" defaults.Response.TotalSeconds)
          Stall = TimeSpan.FromSeconds(read "HYBRID_FETCH_STALL" 0.1 "seconds" defaults.Stall.TotalSeconds)
          MinRate = int64 (read "HYBRID_FETCH_MIN_RATE" 0.0 "bytes per second" (float defaults.MinRate)) }

let private seconds (t: TimeSpan) = sprintf "%g s" (Math.Round(t.TotalSeconds, 1))

/// The sets `hybrid data fetch` knows, from their official locations (the checksums and
/// sizes are those of the published files).
let sets: RemoteSet list =
    let idx = [ "train-images-idx3-ubyte.gz"; "train-labels-idx1-ubyte.gz"; "t10k-images-idx3-ubyte.gz"; "t10k-labels-idx1-ubyte.gz" ]
    [ { Dataset = "mnist"
        // LeCun's page first; the PyTorch project's copy is what most tools fetch today.
        Bases = [ "https://yann.lecun.com/exdb/mnist/"; "https://ossci-datasets.s3.amazonaws.com/mnist/" ]
        Files =
          List.zip3 idx [ "f68b3c2dcbeaaa9fbdd348bbdeb94873"; "d53e105ee54ea40749a09fcbcd1e9432"; "9fb629c4189551a2d022fa330f9573f3"; "ec29112dd5afa0611ce80d1b7f02629c" ]
              [ 9912422L; 28881L; 1648877L; 4542L ]
          |> List.map (fun (n, m, size) -> { Name = n; Md5 = m; Size = size })
        Unpack = Unpack.Files }
      { Dataset = "kmnist"
        Bases = [ "https://codh.rois.ac.jp/kmnist/dataset/kmnist/" ]
        Files =
          List.zip3 idx [ "bdb82020997e1d708af4cf47b453dcf7"; "e144d726b3acfaa3e44228e80efcd344"; "5c965bf0a639b31b8f53240b1b52f4d7"; "7320c461ea6c1c855c0b718fb2a4b134" ]
              [ 18165135L; 29497L; 3041136L; 5120L ]
          |> List.map (fun (n, m, size) -> { Name = n; Md5 = m; Size = size })
        Unpack = Unpack.Files }
      { Dataset = "cifar10"
        Bases = [ "https://www.cs.toronto.edu/~kriz/" ]
        Files = [ { Name = "cifar-10-binary.tar.gz"; Md5 = "c32a1d4ab5d03f1284b67883e8d87530"; Size = 170052171L } ]
        Unpack = Unpack.TarFolder "cifar-10-batches-bin" } ]

/// The MD5 checksum of a file, lower-case hex.
let md5Of (path: string) =
    use s = File.OpenRead path
    Convert.ToHexString(MD5.HashData s).ToLowerInvariant()

/// A set with its addresses replaced by `mirror`/DATASET/ (`HYBRID_MIRROR`).
let withMirror (mirror: string) (set: RemoteSet) =
    { set with Bases = [ mirror.TrimEnd('/') + "/" + set.Dataset + "/" ] }

type private Attempt =
    | Done
    /// This address failed before any byte of the file came: try the next one.
    | Next of string

/// Transfers `url` into `part`, resuming from the bytes already there, within `limits`
/// and never past the file's published size.
let private transfer (client: HttpClient) (limits: Limits) (url: string) (part: string) (f: RemoteFile) (progress: Progress -> unit) : Attempt =
    let file = f.Name
    let have = if File.Exists part then FileInfo(part).Length else 0L
    use request = new HttpRequestMessage(HttpMethod.Get, url)
    if have > 0L then request.Headers.Range <- Headers.RangeHeaderValue(Nullable have, Nullable())
    let response =
        use answer = new CancellationTokenSource(limits.Response)
        try Ok(client.Send(request, HttpCompletionOption.ResponseHeadersRead, answer.Token))
        with
        | :? HttpRequestException as e -> Error(sprintf "could not connect to %s (%s)" (Uri(url).Authority) e.Message)
        | :? OperationCanceledException ->
            Error(sprintf "%s did not answer within %s (the response timeout, HYBRID_FETCH_TIMEOUT)" url (seconds limits.Response))
    match response with
    | Error why -> Next why
    | Ok response ->
        use response = response
        match response.StatusCode with
        | HttpStatusCode.RequestedRangeNotSatisfiable when have > 0L -> Done // the part holds the whole file; the checksum decides
        | HttpStatusCode.OK
        | HttpStatusCode.PartialContent ->
            let resumed = response.StatusCode = HttpStatusCode.PartialContent
            let start = if resumed then have else 0L
            let length = response.Content.Headers.ContentLength |> Option.ofNullable
            let total = length |> Option.map (fun l -> l + start)
            match total with
            | Some t when t > f.Size ->
                Next(sprintf "%s declares %d bytes, more than the %d bytes of the published %s (nothing was written)" url t f.Size file)
            | _ ->
                use output = new FileStream(part, (if resumed then FileMode.Append else FileMode.Create), FileAccess.Write)
                use input = response.Content.ReadAsStream()
                let buffer = Array.zeroCreate<byte> (1 <<< 16)
                let mutable written = start
                let mutable lastShown = -1L
                let show () =
                    progress { File = file; Done = written; Total = Some(defaultArg total f.Size) }
                    lastShown <- written
                show ()
                let sizeText () = string (defaultArg total f.Size)
                let kept (what: string) =
                    output.Flush()
                    raise (
                        DownloadError(
                            sprintf "the transfer of %s from %s %s at %d of %s bytes; the bytes so far are kept, run the same command again to resume it"
                                file url what written (sizeText ())))
                let cutShort (detail: string) = kept (sprintf "was cut short (%s)" detail)
                // The next bytes, waiting at most `Stall` for them.
                let next () =
                    use wait = new CancellationTokenSource(limits.Stall)
                    try input.ReadAsync(buffer.AsMemory(), wait.Token).AsTask().GetAwaiter().GetResult()
                    with
                    | e when wait.IsCancellationRequested && (e :? OperationCanceledException || e :? IOException) ->
                        kept (sprintf "stalled: no data for %s (the stall timeout, HYBRID_FETCH_STALL)" (seconds limits.Stall))
                    | :? IOException as e -> cutShort e.Message
                    | :? HttpRequestException as e -> cutShort e.Message
                let window = Diagnostics.Stopwatch.StartNew()
                let mutable windowStart = written
                let mutable n = next ()
                while n > 0 do
                    if written + int64 n > f.Size then
                        output.Dispose()
                        File.Delete part
                        raise (
                            DownloadError(
                                sprintf "%s from %s sent more than the %d bytes of the published file; the transfer was stopped and the partial file deleted" file url f.Size))
                    output.Write(buffer, 0, n)
                    written <- written + int64 n
                    if written - lastShown >= (1L <<< 20) then show ()
                    if limits.MinRate > 0L && window.Elapsed >= limits.Stall then
                        let got = written - windowStart
                        if float got < float limits.MinRate * window.Elapsed.TotalSeconds then
                            kept (sprintf "was too slow: %d bytes in %s, below the minimum of %d bytes/s (HYBRID_FETCH_MIN_RATE)" got (seconds window.Elapsed) limits.MinRate)
                        window.Restart()
                        windowStart <- written
                    n <- next ()
                match total with
                | Some t when written < t -> cutShort "the connection closed early"
                | _ -> ()
                show ()
                Done
        | status -> Next(sprintf "HTTP %d %s for %s" (int status) (string response.ReasonPhrase) url)

/// Downloads one file into `folder` (skipping it when a verified copy is there),
/// trying each address in turn; the checksum must match.
let private fetchFile (client: HttpClient) (limits: Limits) (set: RemoteSet) (folder: string) (f: RemoteFile) (progress: Progress -> unit) =
    let final = Path.Combine(folder, f.Name)
    if not (File.Exists final && md5Of final = f.Md5.ToLowerInvariant()) then
        let part = final + ".part"
        let rec attempt (bases: string list) (failures: string list) =
            match bases with
            | [] ->
                raise (
                    DownloadError(
                        sprintf "%s could not be downloaded: %s. Without a network, copy the files into the data root by hand, or set HYBRID_MIRROR to a mirror"
                            f.Name (String.Join("; ", List.rev failures))))
            | b :: rest ->
                match transfer client limits (b + f.Name) part f progress with
                | Done -> b + f.Name
                | Next why -> attempt rest (why :: failures)
        let url = attempt set.Bases []
        let sum = md5Of part
        if sum <> f.Md5.ToLowerInvariant() then
            File.Delete part
            raise (
                DownloadError(
                    sprintf "%s from %s has MD5 %s, and its publisher lists %s: the download is corrupt or not the published file; it was deleted, run the same command again"
                        f.Name url sum (f.Md5.ToLowerInvariant())))
        File.Move(part, final, true)

/// Extracts the members of a tar.gz under `prefix`/ (regular files only, no paths
/// outside the folder) into `folder`.
let private untar (archive: string) (prefix: string) (folder: string) =
    use fs = File.OpenRead archive
    use gz = new GZipStream(fs, CompressionMode.Decompress)
    use tar = new TarReader(gz)
    let mutable entry = tar.GetNextEntry()
    let mutable count = 0
    while not (isNull entry) do
        let name = entry.Name.Replace('\\', '/').TrimStart('.', '/')
        if entry.EntryType = TarEntryType.RegularFile && name.StartsWith(prefix + "/") then
            let file = Path.GetFileName name
            if file <> "" && not (file.Contains "..") then
                entry.ExtractToFile(Path.Combine(folder, file), true)
                count <- count + 1
        entry <- tar.GetNextEntry()
    if count = 0 then raise (DataError(archive, sprintf "no files under %s/ in the archive" prefix))

/// Fetches a set into ROOT/DATASET: the files are downloaded into ROOT/DATASET.partial
/// (kept there when a transfer breaks, so that the next call resumes), checked, unpacked
/// and read as a dataset, and only then moved into place; each transfer keeps to
/// `limits`. Returns the folder.
let fetchSet (set: RemoteSet) (root: string) (limits: Limits) (progress: Progress -> unit) : string =
    let dest = Path.Combine(root, set.Dataset)
    if Directory.Exists dest then
        raise (DataError(dest, "the folder exists but does not hold the whole dataset; move it away (nothing in it is overwritten) and fetch again"))
    let staging = dest + ".partial"
    Directory.CreateDirectory staging |> ignore
    use handler = new SocketsHttpHandler(ConnectTimeout = limits.Response, AutomaticDecompression = DecompressionMethods.None)
    use client = new HttpClient(handler, Timeout = Threading.Timeout.InfiniteTimeSpan)
    client.DefaultRequestHeaders.UserAgent.ParseAdd "hybrid-data-fetch/1.0"
    for f in set.Files do fetchFile client limits set staging f progress
    match set.Unpack with
    | Unpack.Files -> ()
    | Unpack.TarFolder prefix ->
        for f in set.Files do
            let archive = Path.Combine(staging, f.Name)
            if File.Exists archive then
                untar archive prefix staging
                File.Delete archive
    // Read it before it is put in place: a set that does not load leaves nothing in the root.
    Dataset.loadFolder staging |> ignore
    Directory.Move(staging, dest)
    dest
