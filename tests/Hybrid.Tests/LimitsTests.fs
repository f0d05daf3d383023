/// Limits of a run: the memory estimate that refuses oversized models before they are
/// built, allocation failures as named errors, checkpoints streamed in chunks, and the
/// run folder's guards (a results line cut back, the lock's real failure, atomic folder
/// names, symbolic links refused), and divergence naming the block that produced it.
module Hybrid.Tests.LimitsTests

open System
open System.IO
open System.Threading
open Expecto
open TorchSharp
open Hybrid
open Hybrid.Data
open Hybrid.Tests.Fixtures

/// Named tensors of every dtype a checkpoint holds, of sizes that do not divide the chunks.
let private contents () : Checkpoint.Contents =
    use g = Rng.generator 11L cpu
    let meta = Text.Json.Nodes.JsonObject()
    meta["kind"] <- "test"
    meta["note"] <- "chunks"
    { Meta = meta
      Tensors =
        Map.ofList
            [ "a", torch.randn([| 37L; 11L |], dtype = torch.float32, generator = g).DetachFromDisposeScope()
              "b", torch.randn([| 5L; 3L |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
              "c", torch.arange(13L, dtype = torch.int64).DetachFromDisposeScope()
              "d", torch.tensor([| 1uy; 2uy; 3uy; 250uy; 7uy |]).DetachFromDisposeScope()
              "e", torch.zeros([| 0L; 4L |], dtype = torch.float32).DetachFromDisposeScope()
              "f", torch.tensor(2.5).DetachFromDisposeScope() ] }

let private sameTensors (a: Checkpoint.Contents) (b: Checkpoint.Contents) =
    Expect.equal (a.Tensors |> Map.keys |> List.ofSeq) (b.Tensors |> Map.keys |> List.ofSeq) "names"
    for KeyValue(name, t) in a.Tensors do
        let u = b.Tensors[name]
        Expect.equal u.shape t.shape (sprintf "%s: shape" name)
        Expect.equal u.dtype t.dtype (sprintf "%s: dtype" name)
        Expect.isTrue (t.numel () = 0L || t.equal(u).all().item<bool> ()) (sprintf "%s: every value" name)

[<Tests>]
let checkpoints =
    testList "Checkpoint.Chunks" [
        test "tensors larger than a chunk stream through it and read back exactly, in the same file format" {
            let dir = Directory.CreateTempSubdirectory("hybrid-chunks-").FullName
            let c = contents ()
            let whole = Path.Combine(dir, "whole.ck")
            let chunked = Path.Combine(dir, "chunked.ck")
            Checkpoint.save whole c
            // 24 bytes: 6 float32 or 3 float64 values at a time, so every tensor spans chunks.
            Checkpoint.saveChunked 24 chunked c
            Expect.sequenceEqual (File.ReadAllBytes chunked) (File.ReadAllBytes whole) "the same bytes whatever the chunk"
            for chunk in [ 8; 16; 40; 1 <<< 20 ] do
                let back = Checkpoint.loadChunked chunk chunked
                sameTensors c back
                Expect.equal (back.Meta.ToJsonString()) (c.Meta.ToJsonString()) (sprintf "chunk %d: header" chunk)
                for t in back.Tensors.Values do t.Dispose()
            let meta = Checkpoint.meta chunked
            Expect.equal (meta["note"].GetValue<string>()) "chunks" "the header alone"
        }

        test "a damaged file is refused by its checksum when read in chunks or for its header alone" {
            let dir = Directory.CreateTempSubdirectory("hybrid-chunks-").FullName
            let path = Path.Combine(dir, "c.ck")
            Checkpoint.saveChunked 16 path (contents ())
            let good = File.ReadAllBytes path
            let refused (bytes: byte[]) (fragment: string) =
                File.WriteAllBytes(path, bytes)
                for read in [ (fun () -> Checkpoint.loadChunked 16 path |> ignore); (fun () -> Checkpoint.meta path |> ignore) ] do
                    let e = Util.throws<Checkpoint.CheckpointError> read
                    Expect.stringContains e.Message fragment fragment
            let flip (i: int) =
                let b = Array.copy good
                b[i] <- b[i] ^^^ 0xFFuy
                b
            refused (flip (good.Length - 40)) "checksum mismatch"
            refused (flip 20) "checksum mismatch"
            refused (good[.. good.Length / 2]) "checksum mismatch"
            refused (good[.. 60]) "checksum mismatch"
            refused (good[.. 20]) "not a Hybrid checkpoint"
            refused (Array.append "NOTACKPT"B (good[8..])) "not a Hybrid checkpoint"
        }
    ]
