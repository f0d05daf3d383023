using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>A TCP server on 127.0.0.1 that reads each request's headers and hands the connection to
/// <c>answer</c> on a thread of its own; disposing it closes every connection.</summary>
sealed class RawHttpServer : IDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly List<TcpClient> clients = [];

    public RawHttpServer(Action<NetworkStream> answer)
    {
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        new Thread(() =>
        {
            try
            {
                while (true)
                {
                    var c = listener.AcceptTcpClient();
                    lock (clients) clients.Add(c);
                    new Thread(() => Serve(c, answer)) { IsBackground = true }.Start();
                }
            }
            catch (Exception) { /* stopped */ }
        }) { IsBackground = true }.Start();
    }

    static void Serve(TcpClient c, Action<NetworkStream> answer)
    {
        try
        {
            var s = c.GetStream();
            // The request's headers end with an empty line.
            var last4 = 0;
            while (last4 != 0x0D0A0D0A)
            {
                var b = s.ReadByte();
                if (b < 0) return;
                last4 = (last4 << 8) | b;
            }
            answer(s);
        }
        catch (Exception) { /* the client went away */ }
    }

    public int Port { get; }

    /// <summary>Waits, sending nothing, until the client closes the connection.</summary>
    public static void Hang(NetworkStream s) => s.ReadByte();

    /// <summary>A 200 response's headers: with a Content-Length, or a body that runs until the connection closes.</summary>
    public static void Headers(NetworkStream s, long? length)
    {
        var text = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   + (length is { } l ? $"Content-Length: {l}\r\n" : "Connection: close\r\n") + "\r\n";
        s.Write(Encoding.ASCII.GetBytes(text));
        s.Flush();
    }

    public void Dispose()
    {
        listener.Stop();
        lock (clients) foreach (var c in clients) c.Close();
    }
}

/// <summary>`hybrid data fetch` against mirrors that never answer, stall, trickle or send without end: exit 5 in about
/// the configured time, one error naming the limit and the address; and data files whose IDX headers or gzip streams
/// would need unbounded memory: exit 4, one line naming the file.</summary>
public class DataLimitTests
{
    static readonly Dictionary<string, string> Quick = new() { ["HYBRID_FETCH_TIMEOUT"] = "1", ["HYBRID_FETCH_STALL"] = "1" };

    /// <summary>Fetches kmnist from <paramref name="server"/>; the JSON error's message, after checking exit 5 and the time.</summary>
    static string FetchFails(RawHttpServer server, string dir, double seconds)
    {
        var env = new Dictionary<string, string>(Quick) { ["HYBRID_MIRROR"] = $"http://127.0.0.1:{server.Port}" };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = Cli.Run(dir, ["data", "fetch", "kmnist", "--data", dir, "--json"], seconds: 60, env: env);
        var took = clock.Elapsed.TotalSeconds;
        Assert.True(r.Code == ExitCodes.Download, $"exit {r.Code}: {r.Out} {r.Err}");
        var error = JsonNode.Parse(r.Out)!["error"]!;
        Assert.Equal("download", error["kind"]!.GetValue<string>());
        var message = error["message"]!.GetValue<string>();
        Assert.DoesNotContain("\n", message);
        Assert.Contains($"http://127.0.0.1:{server.Port}/kmnist/train-images-idx3-ubyte.gz", message);
        // The runner's own start takes a few seconds; a hang would take the whole minute.
        Assert.True(took < seconds, $"took {took:F1} s: {message}");
        Assert.False(Directory.Exists(Path.Combine(dir, "kmnist")), "no dataset is put in place");
        return message;
    }

    [Fact]
    public void AMirrorThatNeverAnswersTimesOut()
    {
        using var server = new RawHttpServer(RawHttpServer.Hang);
        var message = FetchFails(server, Files.Temp("hybrid-limit-"), 30);
        Assert.Contains("did not answer within 1 s (the response timeout, HYBRID_FETCH_TIMEOUT)", message);
    }

    [Fact]
    public void ABodyThatStallsTimesOutAndKeepsItsBytes()
    {
        using var server = new RawHttpServer(s =>
        {
            RawHttpServer.Headers(s, 18165135);
            s.Write(new byte[1000]);
            s.Flush();
            RawHttpServer.Hang(s);
        });
        var dir = Files.Temp("hybrid-limit-");
        var message = FetchFails(server, dir, 30);
        Assert.Contains("stalled: no data for 1 s (the stall timeout, HYBRID_FETCH_STALL)", message);
        Assert.Equal(1000, new FileInfo(Path.Combine(dir, "kmnist.partial", "train-images-idx3-ubyte.gz.part")).Length);
    }

    [Fact]
    public void ABodyThatTricklesFailsBelowTheMinimumRate()
    {
        using var server = new RawHttpServer(s =>
        {
            RawHttpServer.Headers(s, 18165135);
            while (true)
            {
                s.WriteByte(0);
                s.Flush();
                Thread.Sleep(100);
            }
        });
        var message = FetchFails(server, Files.Temp("hybrid-limit-"), 30);
        Assert.Contains("was too slow", message);
        Assert.Contains("below the minimum of 1024 bytes/s (HYBRID_FETCH_MIN_RATE)", message);
    }

    [Fact]
    public void AnEndlessBodyIsStoppedAtThePublishedSizeAndDeleted()
    {
        using var server = new RawHttpServer(s =>
        {
            RawHttpServer.Headers(s, null);
            var chunk = new byte[1 << 16];
            while (true) s.Write(chunk);
        });
        var dir = Files.Temp("hybrid-limit-");
        var message = FetchFails(server, dir, 40);
        Assert.Contains("sent more than the 18165135 bytes of the published file", message);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "kmnist.partial")));
    }

    static byte[] Be32(int v) => [(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v];

    static byte[] Gzip(byte[] b)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, true)) gz.Write(b);
        return ms.ToArray();
    }

    static void Refused(string folder, string file, string fragment)
    {
        var dir = Files.Temp("hybrid-limit-");
        var r = Cli.Run(dir, ["train", "--dataset", $"folder:{folder}", "--batch-size", "10", "--epochs", "1", "--device", "cpu",
            "--out", Path.Combine(dir, "runs")]);
        Assert.True(r.Code == ExitCodes.BadInput, $"exit {r.Code}: {r.Err}");
        Assert.True(r.ErrLines.Count == 1, r.Err);
        Assert.Contains(file, r.ErrLines[0]);
        Assert.Contains(fragment, r.ErrLines[0]);
        Assert.False(Directory.Exists(Path.Combine(dir, "runs")) && Directory.GetFileSystemEntries(Path.Combine(dir, "runs")).Length > 0,
            "no run folder is left behind");
    }

    [Fact]
    public void AGzipBombIsStoppedAfterTheBytesItsHeaderDeclares()
    {
        var folder = Files.Idx(Path.Combine(Files.Temp("hybrid-bomb-"), "data"), 40, 20);
        var images = Path.Combine(folder, "train-images-idx3-ubyte");
        // 40 8x8 images, then 64 MiB of zeros: about 64 KB compressed.
        var bomb = Gzip([.. Files.Images(40, 8, 8), .. new byte[64 << 20]]);
        File.Delete(images);
        File.WriteAllBytes(images + ".gz", bomb);
        Refused(folder, "train-images-idx3-ubyte.gz", "more than 1048576 unexpected bytes after the 2560 bytes the header declares");
    }

    [Fact]
    public void IdxDimensionsBeyondTheLimitOrOverflowingAreRefusedBeforeTheirDataIsRead()
    {
        var folder = Files.Idx(Path.Combine(Files.Temp("hybrid-dims-"), "data"), 40, 20);
        var images = Path.Combine(folder, "t10k-images-idx3-ubyte");
        File.WriteAllBytes(images, [.. Be32(0x803), .. Be32(int.MaxValue), .. Be32(int.MaxValue), .. Be32(int.MaxValue), .. new byte[64]]);
        Refused(folder, "t10k-images-idx3-ubyte", "dimensions 2147483647 x 2147483647 x 2147483647 multiply to more than a 64-bit size");
        File.WriteAllBytes(images, [.. Be32(0x803), .. Be32(2000000), .. Be32(1000), .. Be32(1000), .. new byte[64]]);
        Refused(folder, "t10k-images-idx3-ubyte", "more than the 1073741824-byte limit of a data file (HYBRID_DATA_MAX_BYTES)");
    }
}
