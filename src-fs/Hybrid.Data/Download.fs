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
open System.Threading.Tasks

/// A download failed: no network, an HTTP error, a transfer cut short or a checksum
/// mismatch. The message names the file, the address and what to do.
exception DownloadError of string with
    override this.Message = this.Data0

/// A file as its publisher lists it: its name and MD5 checksum.
type RemoteFile = { Name: string; Md5: string }

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

/// The sets `hybrid data fetch` knows, from their official locations (the checksums are
/// the ones their publishers list).
let sets: RemoteSet list =
    let idx = [ "train-images-idx3-ubyte.gz"; "train-labels-idx1-ubyte.gz"; "t10k-images-idx3-ubyte.gz"; "t10k-labels-idx1-ubyte.gz" ]
    [ { Dataset = "mnist"
        // LeCun's page first; the PyTorch project's copy is what most tools fetch today.
        Bases = [ "https://yann.lecun.com/exdb/mnist/"; "https://ossci-datasets.s3.amazonaws.com/mnist/" ]
        Files =
          List.zip idx [ "f68b3c2dcbeaaa9fbdd348bbdeb94873"; "d53e105ee54ea40749a09fcbcd1e9432"; "9fb629c4189551a2d022fa330f9573f3"; "ec29112dd5afa0611ce80d1b7f02629c" ]
          |> List.map (fun (n, m) -> { Name = n; Md5 = m })
        Unpack = Unpack.Files }
      { Dataset = "kmnist"
        Bases = [ "https://codh.rois.ac.jp/kmnist/dataset/kmnist/" ]
        Files =
          List.zip idx [ "bdb82020997e1d708af4cf47b453dcf7"; "e144d726b3acfaa3e44228e80efcd344"; "5c965bf0a639b31b8f53240b1b52f4d7"; "7320c461ea6c1c855c0b718fb2a4b134" ]
          |> List.map (fun (n, m) -> { Name = n; Md5 = m })
        Unpack = Unpack.Files }
      { Dataset = "cifar10"
        Bases = [ "https://www.cs.toronto.edu/~kriz/" ]
        Files = [ { Name = "cifar-10-binary.tar.gz"; Md5 = "c32a1d4ab5d03f1284b67883e8d87530" } ]
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

/// Transfers `url` into `part`, resuming from the bytes already there.
let private transfer (client: HttpClient) (url: string) (part: string) (file: string) (progress: Progress -> unit) : Attempt =
    let have = if File.Exists part then FileInfo(part).Length else 0L
    use request = new HttpRequestMessage(HttpMethod.Get, url)
    if have > 0L then request.Headers.Range <- Headers.RangeHeaderValue(Nullable have, Nullable())
    let response =
        try Ok(client.Send(request, HttpCompletionOption.ResponseHeadersRead))
        with
        | :? HttpRequestException as e -> Error(sprintf "could not connect to %s (%s)" (Uri(url).Authority) e.Message)
        | :? TaskCanceledException -> Error(sprintf "%s did not answer in time" (Uri(url).Authority))
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
            use output = new FileStream(part, (if resumed then FileMode.Append else FileMode.Create), FileAccess.Write)
            use input = response.Content.ReadAsStream()
            let buffer = Array.zeroCreate<byte> (1 <<< 16)
            let mutable written = start
            let mutable lastShown = -1L
            let show () =
                progress { File = file; Done = written; Total = total }
                lastShown <- written
            show ()
            let cutShort (detail: string) =
                output.Flush()
                raise (
                    DownloadError(
                        sprintf "the transfer of %s from %s was cut short at %d of %s bytes (%s); run the same command again to resume it" file url written
                            (match total with Some t -> string t | None -> "?") detail))
            try
                let mutable n = input.Read(buffer, 0, buffer.Length)
                while n > 0 do
                    output.Write(buffer, 0, n)
                    written <- written + int64 n
                    if written - lastShown >= (1L <<< 20) then show ()
                    n <- input.Read(buffer, 0, buffer.Length)
            with :? IOException as e -> cutShort e.Message
            match total with
            | Some t when written < t -> cutShort "the connection closed early"
            | _ -> ()
            show ()
            Done
        | status -> Next(sprintf "HTTP %d %s for %s" (int status) (string response.ReasonPhrase) url)

/// Downloads one file into `folder` (skipping it when a verified copy is there),
/// trying each address in turn; the checksum must match.
let private fetchFile (client: HttpClient) (set: RemoteSet) (folder: string) (f: RemoteFile) (progress: Progress -> unit) =
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
                match transfer client (b + f.Name) part f.Name progress with
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
/// and read as a dataset, and only then moved into place. Returns the folder.
let fetchSet (set: RemoteSet) (root: string) (timeout: TimeSpan) (progress: Progress -> unit) : string =
    let dest = Path.Combine(root, set.Dataset)
    if Directory.Exists dest then
        raise (DataError(dest, "the folder exists but does not hold the whole dataset; move it away (nothing in it is overwritten) and fetch again"))
    let staging = dest + ".partial"
    Directory.CreateDirectory staging |> ignore
    use handler = new SocketsHttpHandler(ConnectTimeout = timeout, AutomaticDecompression = DecompressionMethods.None)
    use client = new HttpClient(handler, Timeout = Threading.Timeout.InfiniteTimeSpan)
    client.DefaultRequestHeaders.UserAgent.ParseAdd "hybrid-data-fetch/1.0"
    for f in set.Files do fetchFile client set staging f progress
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
