module Hybrid.Tests.InferenceTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 60

let private initialise (net: Network) (x: torch.Tensor) (labels: torch.Tensor) (init: Initializer) seed =
    use g = Rng.generator seed cpu
    use st = new InitState(net.Outputs, 0L)
    InitApply.apply init st (context net x labels g) true

[<Tests>]
let tests =
    testList "Inference" [
        // The verification kit's invariant: sPC and ePC, from the forward pass, zero and random states.
        testPropertyWithConfig config "small-step inference never increases the energy (sPC and ePC, any initializer)"
            (Hybrid.Verification.Invariants.descent Hybrid.Verification.Model.mlp)

        // The verification kit's invariant: every initializer, sPC and ePC, with and without momentum.
        testPropertyWithConfig config "inference leaves its initialisation unchanged, so running it twice gives the same states"
            (Hybrid.Verification.Invariants.initialisationUnchanged Hybrid.Verification.Model.mlp)

        test "per-step records: energies, per-layer terms and update norms" {
            Scope.run (fun () ->
                let m = { Input = 4; Widths = [ 5; 5; 5 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 2L; Batch = 4 }
                use net = network m
                let x, labels, y = batch m
                let r = Inference.run net { InferenceOptions.spc 6 0.1 with Record = true } (initialise net x labels Init.forward 1L) (Some y) None
                Expect.equal r.Steps 6 "steps"
                Expect.equal r.Energies.Length 6 "energies"
                Expect.equal r.LayerEnergies[0].Length 4 "three hidden layers and the output"
                Expect.equal r.UpdateNorms[0].Length 3 "a norm per hidden layer"
                // Forward init: at step 1 only the top hidden layer moves (signal decay).
                Expect.isGreaterThan (r.UpdateNorms[0][2]) 0.0 "top layer moves at step 1"
                Expect.equal (r.UpdateNorms[0][0]) 0.0 "bottom layer still at step 1"
                Expect.equal (r.UpdateNorms[1][0]) 0.0 "bottom layer still at step 2"
                Expect.isGreaterThan (r.UpdateNorms[2][0]) 0.0 "the signal reaches layer 1 at step 3")
        }

        test "ePC reaches every layer in its first step" {
            Scope.run (fun () ->
                let m = { Input = 4; Widths = [ 5; 5; 5 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 2L; Batch = 4 }
                use net = network m
                let x, labels, y = batch m
                let r = Inference.run net { InferenceOptions.epc 2 0.1 with Record = true } (initialise net x labels Init.forward 1L) (Some y) None
                Expect.isTrue (r.UpdateNorms[0] |> Array.forall (fun v -> v > 0.0)) "all layers move at step 1")
        }

        test "early stopping ends when the relative energy change is below the tolerance" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 4 ]; Outputs = 2; Activation = Activation.Identity; Loss = Loss.SquaredError; Seed = 4L; Batch = 3 }
                use net = network m
                let x, labels, y = batch m
                let opts = { InferenceOptions.spc 5000 0.2 with Tolerance = Some 1e-9; Record = true }
                let r = Inference.run net opts (initialise net x labels Init.forward 1L) (Some y) None
                Expect.isLessThan r.Steps 5000 "stopped early"
                let n = r.Energies.Length
                Expect.isLessThanOrEqual (abs (r.Energies[n - 1] - r.Energies[n - 2])) (1e-9 * abs r.Energies[n - 2]) "criterion met")
        }

        test "momentum accelerates a slow linear inference" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 4; 4; 4 ]; Outputs = 2; Activation = Activation.Identity; Loss = Loss.SquaredError; Seed = 4L; Batch = 3 }
                use net = network m
                let x, labels, y = batch m
                let final opts =
                    let r = Inference.run net opts (initialise net x labels Init.forward 1L) (Some y) None
                    Scope.scalar (Energy.spc net r.States (Some y))
                let plain = final (InferenceOptions.spc 20 0.05)
                let heavy = final { InferenceOptions.spc 20 0.05 with Momentum = 0.8 }
                Expect.isLessThan heavy plain "lower energy after the same number of steps")
        }

        test "a step size that makes the energy grow stops with layer, step and batch named" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 6; 6 ]; Outputs = 2; Activation = Activation.Identity; Loss = Loss.SquaredError; Seed = 4L; Batch = 3 }
                use net = network m
                let x, labels, y = batch m
                for opts in [ InferenceOptions.spc 200 5.0; InferenceOptions.epc 200 5.0 ] do
                    let e = Util.throws<DivergenceError> (fun () -> Inference.run net opts (initialise net x labels Init.zero 1L) (Some y) (Some 7) |> ignore)
                    let msg = e.Message
                    Expect.stringContains msg "diverged" "says it diverged"
                    Expect.stringContains msg "batch 7" "names the batch"
                    Expect.stringContains msg "at step" "names the step"
                    Expect.stringContains msg (if opts.Reparam = Reparam.Errors then "eta = 5" else "alpha = 5") "names the step size")
        }

        test "bad inference settings are refused before any work" {
            for opts, fragment in
                [ InferenceOptions.spc 0 0.1, "T must be at least 1"
                  InferenceOptions.spc 5 0.0, "step size must be positive"
                  { InferenceOptions.spc 5 0.1 with Momentum = 1.0 }, "momentum must be in [0,1)" ] do
                let e = Util.throws<ArgumentException> (fun () -> opts.Validate())
                Expect.stringContains e.Message fragment fragment
        }
    ]
