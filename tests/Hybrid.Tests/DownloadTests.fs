/// `hybrid data fetch` against a real HTTP server on 127.0.0.1 (no outside host): good
/// files, a wrong checksum, a transfer cut short and resumed, 404s and a refused
/// connection; and against raw TCP servers that never answer, stall, trickle or send
/// more than the published size.
module Hybrid.Tests.DownloadTests

open System
open System.Collections.Concurrent
open System.Formats.Tar
open System.IO
open System.IO.Compression
open System.Net
open System.Net.Sockets
open System.Threading
open Expecto
open Hybrid.Data
open Hybrid.Data.Download

let private tempDir () = Directory.CreateTempSubdirectory("hybrid-download-").FullName

let private freePort () =
    let l = new TcpListener(IPAddress.Loopback, 0)
    l.Start()
    let port = (l.LocalEndpoint :?> IPEndPoint).Port
    l.Stop()
    port

/// A file server on 127.0.0.1. Paths: /good/FILE (with range requests), /bad/FILE
/// (other bytes than published), /cut/FILE (the first full request stops half way;
/// range requests are served), anything else 404. It records the requests' ranges.
type private Server(files: Map<string, byte[]>) =
    let port = freePort ()
    let listener = new HttpListener()
    let ranges = ConcurrentQueue<string * string>()
    let cut = ConcurrentDictionary<string, bool>()
    do
        listener.Prefixes.Add(sprintf "http://127.0.0.1:%d/" port)
        listener.Start()
    let serve (ctx: HttpListenerContext) =
        let parts = ctx.Request.Url.AbsolutePath.Trim('/').Split('/')
        let range = ctx.Request.Headers["Range"]
        ranges.Enqueue(ctx.Request.Url.AbsolutePath, (if isNull range then "" else range))
        let r = ctx.Response
        match parts with
        | [| mode; file |] when files.ContainsKey file && (mode = "good" || mode = "bad" || mode = "cut") ->
            let bytes = if mode = "bad" then Array.map (fun b -> b ^^^ 0xFFuy) files[file] else files[file]
            let start = if isNull range then 0L else int64 (range.Replace("bytes=", "").TrimEnd('-'))
            if start > 0L then
                r.StatusCode <- 206
                r.AddHeader("Content-Range", sprintf "bytes %d-%d/%d" start (bytes.LongLength - 1L) bytes.LongLength)
            r.ContentLength64 <- bytes.LongLength - start
            if mode = "cut" && start = 0L && cut.TryAdd(file, true) then
                // Half the bytes, then the connection drops.
                r.OutputStream.Write(bytes, 0, bytes.Length / 2)
                r.OutputStream.Flush()
                r.Abort()
            else
                r.OutputStream.Write(bytes, int start, int (bytes.LongLength - start))
                r.Close()
        | _ ->
            r.StatusCode <- 404
            r.Close()
    let loop =
        Thread(
            (fun () ->
                while listener.IsListening do
                    try serve (listener.GetContext()) with _ -> ()),
            IsBackground = true)
    do loop.Start()
    member _.Base(mode: string) = sprintf "http://127.0.0.1:%d/%s/" port mode
    /// (path, Range header) of every request so far.
    member _.Requests = List.ofSeq ranges
    interface IDisposable with
        member _.Dispose() =
            listener.Stop()
            listener.Close()

/// A small IDX dataset's four gzipped files, by name.
let private idxFiles () =
    let dir = DataTests.idxFolder 30 20 true
    Directory.GetFiles dir |> Array.map (fun f -> Path.GetFileName f, File.ReadAllBytes f) |> Map.ofArray

let private md5 (b: byte[]) = Convert.ToHexString(Security.Cryptography.MD5.HashData b).ToLowerInvariant()

let private setOf (files: Map<string, byte[]>) (bases: string list) =
    { Dataset = "tiny"; Bases = bases; Files = [ for KeyValue(n, b) in files -> { Name = n; Md5 = md5 b; Size = b.LongLength } ]; Unpack = Unpack.Files }

/// Limits short enough for tests.
let private quick = { Response = TimeSpan.FromSeconds 1.0; Stall = TimeSpan.FromSeconds 1.0; MinRate = 1024L }

let private fetch set root = fetchSet set root { quick with Response = TimeSpan.FromSeconds 5.0 } ignore

/// A TCP server on 127.0.0.1 that reads each request's headers and hands the connection
/// to `answer` (on a thread of its own); disposing it closes every connection.
type private RawServer(answer: NetworkStream -> unit) =
    let listener = new TcpListener(IPAddress.Loopback, 0)
    do listener.Start()
    let port = (listener.LocalEndpoint :?> IPEndPoint).Port
    let clients = ConcurrentBag<TcpClient>()
    let serve (c: TcpClient) =
        try
            let s = c.GetStream()
            // The request's headers end with an empty line.
            let mutable last4 = 0
            while last4 <> 0x0D0A0D0A do
                let b = s.ReadByte()
                if b < 0 then raise (IOException "closed")
                last4 <- (last4 <<< 8) ||| b
            answer s
        with _ -> ()
    let loop =
        Thread(
            (fun () ->
                try
                    while true do
                        let c = listener.AcceptTcpClient()
                        clients.Add c
                        Thread((fun () -> serve c), IsBackground = true).Start()
                with _ -> ()),
            IsBackground = true)
    do loop.Start()
    member _.Base = sprintf "http://127.0.0.1:%d/d/" port
    interface IDisposable with
        member _.Dispose() =
            listener.Stop()
            for c in clients do c.Close()

/// Waits, sending nothing, until the client closes the connection (or the server stops).
let private hang (s: NetworkStream) = s.ReadByte() |> ignore

let private headers (s: NetworkStream) (length: int64 option) =
    let text =
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        + (match length with Some l -> sprintf "Content-Length: %d\r\n" l | None -> "Connection: close\r\n")
        + "\r\n"
    let b = Text.Encoding.ASCII.GetBytes text
    s.Write(b, 0, b.Length)
    s.Flush()

/// A one-file set of `size` bytes (its checksum is of zeros; these servers never complete it).
let private oneFile (size: int64) (bases: string list) =
    { Dataset = "tiny"; Bases = bases; Files = [ { Name = "train-images-idx3-ubyte.gz"; Md5 = md5 (Array.zeroCreate (int size)); Size = size } ]; Unpack = Unpack.Files }

/// Runs `f`, returning its DownloadError's message and the seconds it took.
let private timedError (f: unit -> 'a) (fragments: string list) =
    let clock = Diagnostics.Stopwatch.StartNew()
    let msg =
        try
            f () |> ignore
            failtest "expected a DownloadError"
        with DownloadError msg -> msg
    for s in fragments do Expect.stringContains msg s "the error names the limit and the address"
    msg, clock.Elapsed.TotalSeconds

let private expectDownloadError (f: unit -> 'a) (fragments: string list) =
    try
        f () |> ignore
        failtest "expected a DownloadError"
    with DownloadError msg ->
        for s in fragments do Expect.stringContains msg s "the error names the problem"
        msg

[<Tests>]
let tests =
    testList "Download" [
        test "the official sets: each with its address and an MD5 per file" {
            for s in sets do
                Expect.isNonEmpty s.Bases s.Dataset
                for b in s.Bases do Expect.isTrue (b.StartsWith "https://" && b.EndsWith "/") b
                for f in s.Files do Expect.isTrue (f.Md5.Length = 32 && f.Md5 |> Seq.forall Uri.IsHexDigit) f.Name
            Expect.equal (sets |> List.map (fun s -> s.Dataset)) [ "mnist"; "kmnist"; "cifar10" ] "the three downloadable sets"
            let m = withMirror "http://127.0.0.1:9/data/" (List.head sets)
            Expect.equal m.Bases [ "http://127.0.0.1:9/data/mnist/" ] "a mirror replaces the addresses"
        }

        test "good files: downloaded with progress, checked, read and moved into place" {
            let files = idxFiles ()
            use server = new Server(files)
            let root = tempDir ()
            let seen = ResizeArray<Progress>()
            let dest = fetchSet (setOf files [ server.Base "good" ]) root { quick with Response = TimeSpan.FromSeconds 5.0 } seen.Add
            Expect.equal dest (Path.Combine(root, "tiny")) "ROOT/NAME"
            let d = Dataset.loadFolder dest
            Expect.equal (d.Train.Count, d.Test.Count) (30, 20) "the dataset reads"
            Expect.isFalse (Directory.Exists(dest + ".partial")) "no staging folder left"
            for KeyValue(name, bytes) in files do
                Expect.isTrue (seen |> Seq.exists (fun p -> p.File = name && p.Done = bytes.LongLength && p.Total = Some bytes.LongLength)) (name + " progress to its size")
            let e = Util.throws<DataError> (fun () -> fetch (setOf files [ server.Base "good" ]) root |> ignore)
            Expect.stringContains e.Message "move it away" "an existing folder is never overwritten"
        }

        test "a wrong checksum: the file is deleted, nothing is put in place, and the error names both sums" {
            let files = idxFiles ()
            use server = new Server(files)
            let root = tempDir ()
            let msg = expectDownloadError (fun () -> fetch (setOf files [ server.Base "bad" ]) root) [ "MD5"; "its publisher lists"; "run the same command again" ]
            let name = files |> Map.toList |> List.map fst |> List.find (fun n -> msg.Contains n)
            Expect.stringContains msg (md5 files[name]) "the published sum"
            Expect.isFalse (Directory.Exists(Path.Combine(root, "tiny"))) "no dataset folder"
            Expect.isEmpty (Directory.GetFiles(Path.Combine(root, "tiny.partial"), "*.part")) "the corrupt file is gone"
        }

        test "a transfer cut short: the bytes are kept, and the next call resumes with a range request" {
            let files = idxFiles ()
            use server = new Server(files)
            let root = tempDir ()
            let set = setOf files [ server.Base "cut" ]
            expectDownloadError (fun () -> fetch set root) [ "cut short"; "run the same command again to resume" ] |> ignore
            let parts = Directory.GetFiles(Path.Combine(root, "tiny.partial"), "*.part")
            Expect.equal parts.Length 1 "the partial file is kept"
            let partial = FileInfo(parts[0]).Length
            let name = Path.GetFileNameWithoutExtension parts[0]
            Expect.equal partial (int64 (files[name].Length / 2)) "half of it"
            // Each further call cuts the next file once, then resumes it.
            let mutable dest = None
            let mutable tries = 0
            while dest.IsNone && tries < 10 do
                tries <- tries + 1
                try dest <- Some(fetch set root) with DownloadError _ -> ()
            Expect.isSome dest "completed by calling again"
            Expect.isTrue (server.Requests |> List.exists (fun (p, r) -> p.EndsWith name && r = sprintf "bytes=%d-" partial)) "resumed from the kept bytes"
            let d = Dataset.loadFolder dest.Value
            Expect.equal d.Train.Count 30 "the resumed files read"
        }

        test "404 at the first address falls back to the next; 404 everywhere and a refused connection are named" {
            let files = idxFiles ()
            use server = new Server(files)
            let dest = fetch (setOf files [ server.Base "nowhere"; server.Base "good" ]) (tempDir ())
            Expect.isTrue (Directory.Exists dest) "the second address served"
            expectDownloadError (fun () -> fetch (setOf files [ server.Base "nowhere" ]) (tempDir ())) [ "HTTP 404"; "could not be downloaded"; "HYBRID_MIRROR" ] |> ignore
            let closed = sprintf "http://127.0.0.1:%d/x/" (freePort ())
            expectDownloadError (fun () -> fetch (setOf files [ closed ]) (tempDir ())) [ "could not connect to 127.0.0.1" ] |> ignore
        }

        test "every published file has its size, and each size bounds its transfer" {
            for s in sets do
                for f in s.Files do Expect.isGreaterThan f.Size 0L (s.Dataset + " " + f.Name)
            Expect.equal (sets |> List.head |> fun s -> s.Files.Head.Size) 9912422L "MNIST's training images"
        }

        test "a server that accepts and never answers fails after the response timeout, naming it and the address" {
            use server = new RawServer(hang)
            let set = oneFile 5000L [ server.Base ]
            let msg, took = timedError (fun () -> fetchSet set (tempDir ()) quick ignore) [ server.Base + "train-images-idx3-ubyte.gz"; "did not answer within 1 s"; "HYBRID_FETCH_TIMEOUT" ]
            Expect.isLessThan took 5.0 (sprintf "in about the timeout: %s" msg)
        }

        test "a body that stalls fails after the stall timeout, keeping the bytes for the next call" {
            use server = new RawServer(fun s ->
                headers s (Some 5000L)
                s.Write(Array.zeroCreate 1000, 0, 1000)
                s.Flush()
                hang s)
            let root = tempDir ()
            let msg, took = timedError (fun () -> fetchSet (oneFile 5000L [ server.Base ]) root quick ignore) [ server.Base + "train-images-idx3-ubyte.gz"; "stalled: no data for 1 s"; "HYBRID_FETCH_STALL"; "at 1000 of 5000 bytes"; "run the same command again" ]
            Expect.isLessThan took 5.0 (sprintf "in about the timeout: %s" msg)
            Expect.equal (FileInfo(Path.Combine(root, "tiny.partial", "train-images-idx3-ubyte.gz.part")).Length) 1000L "the bytes are kept"
        }

        test "a body that trickles below the minimum rate fails after one window" {
            use server = new RawServer(fun s ->
                headers s (Some 100000L)
                while true do
                    s.WriteByte 0uy
                    s.Flush()
                    Thread.Sleep 100)
            let msg, took = timedError (fun () -> fetchSet (oneFile 100000L [ server.Base ]) (tempDir ()) quick ignore) [ server.Base + "train-images-idx3-ubyte.gz"; "was too slow"; "below the minimum of 1024 bytes/s (HYBRID_FETCH_MIN_RATE)" ]
            Expect.isLessThan took 5.0 (sprintf "after about one window: %s" msg)
        }

        test "an endless body without a length is stopped at the published size and deleted" {
            use server = new RawServer(fun s ->
                headers s None
                let chunk = Array.zeroCreate<byte> 4096
                while true do
                    s.Write(chunk, 0, chunk.Length))
            let root = tempDir ()
            let msg, took = timedError (fun () -> fetchSet (oneFile 100000L [ server.Base ]) root quick ignore) [ server.Base + "train-images-idx3-ubyte.gz"; "sent more than the 100000 bytes of the published file"; "deleted" ]
            Expect.isLessThan took 5.0 msg
            Expect.isEmpty (Directory.GetFiles(Path.Combine(root, "tiny.partial"))) "no partial file is left"
            Expect.isFalse (Directory.Exists(Path.Combine(root, "tiny"))) "nothing is put in place"
        }

        test "a declared length above the published size is refused before a byte is written" {
            use server = new RawServer(fun s ->
                headers s (Some 300000000L)
                s.Write(Array.zeroCreate 4096, 0, 4096)
                hang s)
            let root = tempDir ()
            timedError (fun () -> fetchSet (oneFile 5000L [ server.Base ]) root quick ignore) [ server.Base + "train-images-idx3-ubyte.gz declares 300000000 bytes, more than the 5000 bytes"; "could not be downloaded" ] |> ignore
            Expect.isEmpty (Directory.GetFiles(Path.Combine(root, "tiny.partial"))) "nothing was written"
        }

        test "the limits come from HYBRID_FETCH_TIMEOUT, HYBRID_FETCH_STALL and HYBRID_FETCH_MIN_RATE" {
            let names = [ "HYBRID_FETCH_TIMEOUT"; "HYBRID_FETCH_STALL"; "HYBRID_FETCH_MIN_RATE" ]
            let before = names |> List.map Environment.GetEnvironmentVariable
            try
                for n in names do Environment.SetEnvironmentVariable(n, null)
                Expect.equal (Limits.fromEnvironment ()) Limits.defaults "the defaults when unset"
                Environment.SetEnvironmentVariable("HYBRID_FETCH_TIMEOUT", "1.5")
                Environment.SetEnvironmentVariable("HYBRID_FETCH_STALL", "2")
                Environment.SetEnvironmentVariable("HYBRID_FETCH_MIN_RATE", "0")
                Expect.equal (Limits.fromEnvironment ()) { Response = TimeSpan.FromSeconds 1.5; Stall = TimeSpan.FromSeconds 2.0; MinRate = 0L } "set"
                Environment.SetEnvironmentVariable("HYBRID_FETCH_STALL", "-1")
                let e = Util.throws<ArgumentException> (fun () -> Limits.fromEnvironment () |> ignore)
                Expect.stringContains e.Message "HYBRID_FETCH_STALL=-1 is not a number of seconds" "names the variable"
            finally
                List.iter2 (fun (n: string) (v: string) -> Environment.SetEnvironmentVariable(n, v)) names before
        }

        test "a tar.gz of CIFAR-10 binary batches is unpacked, read and put in place" {
            let record (label: int) = Array.append [| byte label |] (Array.init 3072 (fun i -> byte ((i + label) % 256)))
            let batch n = Array.concat [ for i in 0 .. n - 1 -> record (i % 10) ]
            let tgz =
                use ms = new MemoryStream()
                do
                    use gz = new GZipStream(ms, CompressionLevel.Fastest, true)
                    use tar = new TarWriter(gz, TarEntryFormat.Pax, false)
                    for name in [ for i in 1..5 -> sprintf "data_batch_%d.bin" i ] @ [ "test_batch.bin"; "batches.meta.txt" ] do
                        let e = PaxTarEntry(TarEntryType.RegularFile, "cifar-10-batches-bin/" + name)
                        e.DataStream <- new MemoryStream(if name.EndsWith ".bin" then batch 4 else "airplane\n"B)
                        tar.WriteEntry e
                ms.ToArray()
            let files = Map.ofList [ "cifar-10-binary.tar.gz", tgz ]
            use server = new Server(files)
            let set = { Dataset = "cifar10"; Bases = [ server.Base "good" ]; Files = [ { Name = "cifar-10-binary.tar.gz"; Md5 = md5 tgz; Size = tgz.LongLength } ]; Unpack = Unpack.TarFolder "cifar-10-batches-bin" }
            let dest = fetch set (tempDir ())
            let d = Dataset.loadFolder dest
            Expect.equal (d.Train.Count, d.Test.Count) (20, 4) "five training batches and the test batch"
            Expect.equal d.Train.Shape [| 3; 32; 32 |] "colour images"
            Expect.isFalse (File.Exists(Path.Combine(dest, "cifar-10-binary.tar.gz"))) "the archive is not kept"
        }
    ]
