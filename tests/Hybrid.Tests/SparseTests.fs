/// sPC's sparse inference (the default) against the dense reference path, in float64:
/// the same states, energies, records and weight gradients for random networks,
/// initializers, step counts, momentum, early stopping and free outputs; the same
/// training run epoch by epoch; and fewer products.
module Hybrid.Tests.SparseTests

open System.Threading
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Data
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 80

/// Relative agreement of two lists of tensors (exact zeros agree with exact zeros).
let private agree (tol: float) (a: torch.Tensor[]) (b: torch.Tensor[]) =
    a.Length = b.Length && Array.forall2 (fun (u: torch.Tensor) (v: torch.Tensor) -> relErr u v <= tol) a b

let private closeFloats (tol: float) (a: float[]) (b: float[]) =
    a.Length = b.Length && Array.forall2 (fun (u: float) v -> abs (u - v) <= tol * max (abs v) 1e-300) a b

/// Runs inference and the weight update; returns the result, F at the final states and the gradients.
let private update (net: Network) (opts: InferenceOptions) (init: InitResult) (target: torch.Tensor option) =
    let r = Inference.run net opts init target None
    let F = Learning.weightGradients net r.States r.Predictions target
    r, F, Learning.gradients net

[<Tests>]
let tests =
    testList "Sparse sPC" [
        // The verification kit's invariant (one definition): every initializer after a
        // recorded batch, T = 1..7, momentum, early stopping, free outputs.
        testPropertyWithConfig config "sparse and dense paths: same states, energies, records and weight gradients (float64, 1e-12)"
            (Hybrid.Verification.Invariants.sparseMatchesDense Hybrid.Verification.Model.mlp)

        test "generative networks (free h_0): the same latent, states and gradients" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 4; 5 ]; Outputs = 6; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 5L; Batch = 4 }
                use net = network m
                let _, _, y = batch m
                use g = Rng.generator 3L cpu
                let states =
                    Array.init net.Depth (fun l ->
                        let width = if l = 0 then 3L else (Array.ofList m.Widths)[l - 1] |> int64
                        torch.randn([| 4L; width |], dtype = torch.float64, generator = g).requires_grad_(true))
                let s0 = { States = states; Predictions = Array.create net.Depth None }
                let opts = { InferenceOptions.spc 6 0.05 with InputFree = true; Momentum = 0.3; Record = true }
                let dense, _, gd = update net { opts with Dense = true } s0 (Some y)
                let sparse, _, gs = update net opts s0 (Some y)
                Expect.isTrue (agree 1e-12 sparse.States dense.States) "states, the latent h_0 included"
                Expect.isTrue (closeFloats 1e-12 sparse.Energies dense.Energies) "energies"
                Expect.isTrue (agree 1e-12 gs gd) "weight gradients")
        }

        test "after a forward initialisation the change travels down one layer per step: fewer products" {
            Scope.run (fun () ->
                let m = { Input = 8; Widths = List.replicate 19 8; Outputs = 4; Activation = Activation.Gelu; Loss = Loss.CrossEntropy; Seed = 1L; Batch = 6 }
                use net = network m
                let x, labels, y = batch m
                let s0 = InitApply.apply Init.forward (new InitState(4, 0L)) (context net x labels (Rng.generator 1L cpu)) true
                let dense = Inference.run net { InferenceOptions.spc 5 0.1 with Dense = true; Record = true } s0 (Some y) None
                let sparse = Inference.run net { InferenceOptions.spc 5 0.1 with Record = true } s0 (Some y) None
                // L = 20, T = 5: step t moves the top t hidden layers only.
                for t in 0 .. 4 do
                    let moved = sparse.UpdateNorms[t] |> Array.filter (fun n -> n > 0.0) |> Array.length
                    Expect.equal moved (t + 1) (sprintf "layers moved at step %d" (t + 1))
                // Step t: t-1 new predictions and t products to the states; then 6 final predictions.
                Expect.equal sparse.Products (List.sum [ for t in 1..5 -> 2 * t - 1 ] + 6) "products of the sparse path"
                Expect.equal sparse.LiveBlocks 6 "blocks whose weight gradient can be nonzero"
                Expect.equal dense.Products (4 * 20 + 5 * 19 + 20) "products of the dense path"
                Expect.isTrue (agree 1e-12 sparse.States dense.States) "same states")
        }

        test "a training run gives the same accuracies and energies epoch by epoch (float64)" {
            let synthetic (n: int) (seed: int64) =
                use g = Rng.generator seed cpu
                let labels = Array.init n (fun i -> i % 4)
                let y = torch.tensor(labels |> Array.map int64)
                let centres = Ops.mul (torch.nn.functional.one_hot(y, 8L).to_type(torch.float64)) 2.0
                let x = (centres + Ops.mul (torch.randn([| int64 n; 8L |], dtype = torch.float64, generator = g)) 0.5).DetachFromDisposeScope()
                ({ X = x; Y = y.DetachFromDisposeScope(); Labels = labels; Classes = 4 }: TensorSplit)
            let run (init: string) (dense: bool) =
                let cfg =
                    { Config.defaults with
                        Name = "sparse"
                        Architecture = Architecture.Mlp([ 16; 16; 16 ], Activation.Gelu)
                        Epochs = 3
                        BatchSize = 20
                        Batching = Batching.StreamAligned
                        Precision = Precision.Float64
                        Optimizer = OptimizerSpec.AdamW(3e-3, 0.01)
                        Algorithm = Algorithm.PredictiveCoding { Inference = { InferenceOptions.spc 5 0.1 with Dense = dense }; Init = InitText.parse init }
                        Device = DeviceChoice.Cpu }
                use d = { Train = synthetic 400 1L; Test = synthetic 200 2L; Classes = 4; InputShape = [| 8L |]; Stats = None }
                Train.runOn cfg d ignore ignore CancellationToken.None
            for init in [ "forward"; "forward[1..1] + avg[2..]" ] do
                let a, b = run init false, run init true
                Expect.equal (a.Epochs |> List.map (fun e -> e.TestAccuracy)) (b.Epochs |> List.map (fun e -> e.TestAccuracy)) (init + ": accuracies")
                Expect.isTrue (closeFloats 1e-9 (a.Epochs |> List.map (fun e -> e.TrainEnergy) |> Array.ofList) (b.Epochs |> List.map (fun e -> e.TrainEnergy) |> Array.ofList)) (init + ": energies")
        }
    ]
