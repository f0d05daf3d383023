module Hybrid.Tests.LearningTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 60

let private bpGradients (net: Network) x y =
    Learning.backpropGradients net x y |> ignore
    Learning.gradients net

let private pcGradients (net: Network) (opts: InferenceOptions) x labels y =
    use g = Rng.generator 0L cpu
    use st = new InitState(net.Outputs, 0L)
    let init = InitApply.apply Init.forward st (context net x labels g) true
    let r = Inference.run net opts init (Some y) None
    Learning.weightGradients net r.States r.Predictions (Some y) |> ignore
    Learning.gradients net

[<Tests>]
let tests =
    testList "Learning" [
        testPropertyWithConfig config "PC approximates BP: forward init and one small step align the top two layers' gradients with BP's"
        <| Prop.forAll smallMlpArb (fun m ->
            Scope.run (fun () ->
                use net = network m
                let x, labels, y = batch m
                let alpha = 1e-6
                let bp = bpGradients net x y
                let pc = pcGradients net (InferenceOptions.spc 1 alpha) x labels y
                let L = net.Depth
                // Gradients of block l are parameters 2l (weight) and 2l+1 (bias).
                // Output block: e_L h_{L-1}^T at the moved top state, so BP's up to
                // alpha ||W^T e_L|| / ||h_{L-1}||, a relative error that grows when the top
                // state is near zero: 1e-3 at alpha = 1e-6 (floored at 1e-2 for tiny gradients).
                // Block below: after one step e_{L-1} = alpha dLoss/dh_{L-1} exactly and its
                // input did not move, so its gradient is alpha * BP up to rounding.
                // Deeper blocks have not received the signal: exactly zero.
                let top = [ 2 * (L - 1); 2 * (L - 1) + 1 ]
                let below = if L >= 2 then [ 2 * (L - 2); 2 * (L - 2) + 1 ] else []
                let deeper = [ 0 .. 2 * (L - 2) - 1 ]
                top |> List.forall (fun i -> close 1e-3 1e-2 pc[i] bp[i])
                && below |> List.forall (fun i -> close 1e-6 1e-2 (Ops.div pc[i] alpha) bp[i])
                && deeper |> List.forall (fun i -> Scope.scalar (pc[i].abs().max()) = 0.0)))

        // The verification kit's invariant (one definition): every hidden block, every parameter.
        testPropertyWithConfig config "one ePC step of size eta from zero errors gives eta times the BP gradient below the output"
            (Hybrid.Verification.Invariants.epcFirstStep Hybrid.Verification.Model.mlp)

        test "the weight gradient is divided by the batch size" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 4 ]; Outputs = 2; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 8L; Batch = 4 }
                use net = network m
                let x, labels, y = batch m
                let one = pcGradients net (InferenceOptions.spc 3 0.1) x labels y
                let x2 = torch.cat([| x; x |], 0L)
                let y2 = torch.cat([| y; y |], 0L)
                let two = pcGradients net (InferenceOptions.spc 3 0.1) x2 (torch.cat([| labels; labels |], 0L)) y2
                // Doubling the batch with the same samples leaves the mean gradient unchanged;
                // the states do not depend on the batch size (summed energy).
                Array.forall2 (fun a b -> relErr a b < 1e-12) one two |> fun ok -> Expect.isTrue ok "same gradient")
        }

        test "optimiser settings are validated" {
            let e = Util.throws<System.ArgumentException> (fun () -> (OptimizerSpec.AdamW(0.0, 0.0)).Validate())
            Expect.stringContains e.Message "learning rate must be positive" "lr"
            let e = Util.throws<System.ArgumentException> (fun () -> (OptimizerSpec.Sgd(0.1, 1.5)).Validate())
            Expect.stringContains e.Message "momentum" "momentum"
        }
    ]
