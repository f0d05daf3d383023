#!/usr/bin/env -S dotnet fsi
// Soak check: a long run through the run-folder runner (a checkpoint and a results line
// per epoch, as `hybrid train` writes them), sampling the process's resident memory and
// TorchSharp's live tensors after every epoch. After epoch 2 (warm-up), reports the trend
// (least squares slope times the number of epochs, as a share of the mean) and the swing
// ((max - min) / mean); targets: growth under 1%, swing within 5%, live tensors constant.
// Usage: dotnet fsi bench/soak.fsx [epochs=30] [fraction=0.25] [config=table1/pc-avg.json]
// Needs: dotnet build src-fs/Hybrid.Experiments -c Release; Fashion-MNIST.
#load "../scripts/lib/Hybrid.fsx"

open System
open System.Diagnostics
open System.Threading
open TorchSharp
open Hybrid
open Hybrid.Experiments
open Hybrid.Reporting

Runtime.init ()
let arg i (fallback: string) = if fsi.CommandLineArgs.Length > i then fsi.CommandLineArgs[i] else fallback
let epochs = int (arg 1 "30")
let fraction = float (arg 2 "0.25")
let cfg = { Configs.train (arg 3 "table1/pc-avg.json") with Name = "soak"; Fraction = fraction; Epochs = epochs; Device = DeviceChoice.Cpu }
let out = IO.Directory.CreateTempSubdirectory("hybrid-soak-").FullName
let mib (b: int64) = float b / 1048576.0
let samples = ResizeArray<int * float * int64 * float>()
let watch = Stopwatch.StartNew()
let sample (e: EpochRecord) =
    let p = Process.GetCurrentProcess()
    p.Refresh()
    let live = DisposeScopeManager.Statistics.ThreadTotalLiveCount
    let gc = GC.GetGCMemoryInfo()
    samples.Add(e.Epoch, mib p.WorkingSet64, live, mib gc.TotalCommittedBytes)
    printfn "epoch %3d  acc %6.2f%%  RSS %7.1f MiB  GC committed %6.1f MiB  native and other %6.1f MiB  live tensors %d  (%.0f s)"
        e.Epoch e.TestAccuracy (mib p.WorkingSet64) (mib gc.TotalCommittedBytes) (mib (p.WorkingSet64 - gc.TotalCommittedBytes)) live watch.Elapsed.TotalSeconds
printfn "soak: %O, fraction %g, %d epochs, run folder under %s" cfg.Architecture fraction epochs out
let run = Pipeline.runOne cfg out { Observer.silent with Epoch = sample } CancellationToken.None
let warmup = 2
let after = samples |> Seq.filter (fun (e, _, _, _) -> e > warmup) |> Array.ofSeq
let xs = after |> Array.map (fun (e, _, _, _) -> float e)
let ys = after |> Array.map (fun (_, r, _, _) -> r)
let mx, my = Array.average xs, Array.average ys
let slope = Array.fold2 (fun acc x y -> acc + (x - mx) * (y - my)) 0.0 xs ys / Array.sumBy (fun x -> (x - mx) ** 2.0) xs
let swing = (Array.max ys - Array.min ys) / my
let growth = slope * float (xs.Length - 1) / my
let live = after |> Array.map (fun (_, _, l, _) -> l)
printfn ""
printfn "status %O, best accuracy %.2f%%, %.0f s" run.Result.Status (defaultArg run.Result.BestAccuracy nan) watch.Elapsed.TotalSeconds
printfn "RSS after epoch %d (warm-up): mean %.1f MiB, slope %+.2f MiB/epoch (%+.2f%% of the mean over the run), swing %.2f%% (min %.1f, max %.1f)"
    warmup my slope (100.0 * growth) (100.0 * swing) (Array.min ys) (Array.max ys)
printfn "live tensors after epoch %d: min %d, max %d" warmup (Array.min live) (Array.max live)
printfn "targets: growth under 1%% of the mean: %s; swing within 5%%: %s; live tensors flat: %s"
    (if growth < 0.01 then "met" else "MISSED") (if swing <= 0.05 then "met" else "MISSED") (if Array.min live = Array.max live then "met" else "MISSED")
