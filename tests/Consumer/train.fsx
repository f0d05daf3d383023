// An F# script that uses Hybrid from its packages: its own network of TorchSharp
// modules, trained with sPC on data it makes itself. .ci/run copies it into a folder
// whose nuget.config names the folder feed it packed, and runs `dotnet fsi train.fsx`.
#r "nuget: Hybrid.Training, 0.1.0"
#r "nuget: libtorch-cpu-linux-x64, 2.10.0"

open System
open System.Threading
open TorchSharp
open Hybrid
open Hybrid.Data

Runtime.init ()

// Four classes in 2-D, one per quadrant, lifted to 8 features; 400 training, 200 test samples.
let samples (n: int) (seed: int) =
    let rng = Random seed
    let values = Array.zeroCreate<float32> (n * 8)
    let labels = Array.init n (fun i -> i % 4)
    for i in 0 .. n - 1 do
        let x = (if labels[i] &&& 1 = 0 then 1.0 else -1.0) + 0.4 * (rng.NextDouble() - 0.5)
        let y = (if labels[i] &&& 2 = 0 then 1.0 else -1.0) + 0.4 * (rng.NextDouble() - 0.5)
        let features = [| x; y; x * y; x + y; x - y; sin x; cos y; 0.5 * x |]
        for j in 0 .. 7 do values[i * 8 + j] <- float32 features[j]
    values, labels

let data = Dataset.ofArrays "quadrants" 4 [| 8 |] (samples 400 1) (samples 200 2)

/// h + W2 tanh(W1 h), written here.
type Residual(width: int64) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("residual")
    let a = torch.nn.Linear(width, width)
    let b = torch.nn.Linear(width, width)
    do this.RegisterComponents()
    override _.forward(h) = h + b.forward (torch.nn.functional.tanh (a.forward h))

torch.manual_seed 3L |> ignore
let device = Runtime.device DeviceChoice.Cpu
let blocks: torch.nn.Module<torch.Tensor, torch.Tensor> list =
    [ torch.nn.Sequential(torch.nn.Linear(8L, 16L), torch.nn.Tanh())
      new Residual(16L)
      torch.nn.Linear(16L, 4L) ]
let network = Network.ofModules "script-net" blocks Loss.CrossEntropy [| 8L |] Precision.Float32 device

let cfg =
    { Config.defaults with
        Name = "script"
        Architecture = Architecture.Custom "script-net"
        Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc 8 0.1; Init = Init.forward }
        Normalisation = Normalisation.Unit
        Optimizer = OptimizerSpec.AdamW(1e-2, 0.0)
        BatchSize = 20
        Epochs = 3 }

let runData = Training.prepareFor cfg network data
let session = TrainingSession.StartWith(cfg, runData, network)
let result =
    session.Run(ignore, (fun e -> printfn "epoch %d: test accuracy %.1f%%, train energy %.4f" e.Epoch e.TestAccuracy e.TrainEnergy), CancellationToken.None)
let best = defaultArg result.BestAccuracy 0.0
printfn "script-net (%A, sPC): best test accuracy %.1f%%" result.Status best
(session :> IDisposable).Dispose()
if best < 90.0 then
    eprintfn "train.fsx: expected at least 90%% on the quadrants, got %.1f%%" best
    exit 1
