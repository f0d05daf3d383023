module Hybrid.Tests.EnergyTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 80

/// Derivative of each activation, written out (the reference path for the gradient test).
let private derivative (a: Activation) (z: torch.Tensor) : torch.Tensor =
    // Number-tensor arithmetic goes through Ops (GC-safe scalars).
    match a with
    | Activation.Identity -> torch.ones_like z
    | Activation.Relu -> (Ops.gt z 0.0).to_type(z.dtype)
    | Activation.LeakyRelu -> torch.where(Ops.gt z 0.0, torch.ones_like z, Ops.mul (torch.ones_like z) 0.01)
    | Activation.Gelu ->
        // d/dz z Phi(z) = Phi(z) + z phi(z)
        let phi = Ops.div (torch.exp(Ops.mul (z * z) -0.5)) (sqrt (2.0 * System.Math.PI))
        let Phi = Ops.mul (Ops.add (torch.special.erf(Ops.div z (sqrt 2.0))) 1.0) 0.5
        Phi + z * phi
    | Activation.Elu -> torch.where(Ops.gt z 0.0, torch.ones_like z, torch.exp z)
    | Activation.Tanh -> Ops.add (-(torch.tanh(z).square())) 1.0
    | Activation.Sigmoid ->
        let s = torch.sigmoid z
        s * Ops.add (-s) 1.0

/// dF/dh_l = e_l - W_l^T (act'(z_{l+1}) * e_{l+1}), with e_L = -dLoss/dmu_L, for a plain MLP.
let private analyticStateGradients (net: Network) (act: Activation) (states: torch.Tensor[]) (y: torch.Tensor) =
    let L = net.Depth
    let zs = Array.init L (fun l -> torch.nn.functional.linear(states[l], net.Blocks[l].Weight, net.Blocks[l].Bias.Value))
    let mus = Array.init L (fun l -> if l = L - 1 then zs[l] else act.Apply zs[l])
    let errors = Array.init (L - 1) (fun i -> states[i + 1] - mus[i])
    // The output "error" is -dLoss/dmu_L: y - mu_L (squared error), y - softmax(mu_L) (cross-entropy).
    let top =
        match net.Loss with
        | Loss.SquaredError -> y - mus[L - 1]
        | Loss.CrossEntropy -> y - torch.nn.functional.softmax(mus[L - 1], 1L)
    [| for l in 1 .. L - 1 ->
           let eAbove = if l = L - 1 then top else errors[l]
           let d = if l = L - 1 then torch.ones_like zs[l] else derivative act zs[l]
           errors[l - 1] - (eAbove * d).mm(net.Blocks[l].Weight) |]

[<Tests>]
let tests =
    testList "Energy" [
        // One definition of the invariant: the verification kit's (Hybrid.Verification).
        testPropertyWithConfig config "forward initialisation: F = 0 with the output free, F = the BP loss with it clamped"
            (Hybrid.Verification.Invariants.forwardInitialisation Hybrid.Verification.Model.mlp)

        testPropertyWithConfig config "the state gradient used by inference equals the written-out gradient dF/dh"
        <| Prop.forAll smallMlpArb (fun m ->
            Scope.run (fun () ->
                use net = network m
                let x, _, y = batch m
                use g = Rng.generator (m.Seed + 1L) cpu
                // States away from the forward pass, so every error term is active.
                let states =
                    Array.init net.Depth (fun l ->
                        if l = 0 then x
                        else torch.randn([| int64 m.Batch; int64 m.Widths[l - 1] |], dtype = torch.float64, generator = g).requires_grad_(true))
                let F = Energy.spc net states (Some y)
                let auto = torch.autograd.grad([| F |], states[1..])
                let analytic = analyticStateGradients net m.Activation (states |> Array.map (fun s -> s.detach())) y
                // Both are the same float64 expression evaluated in a different order:
                // agreement to 1e-10 relative leaves room only for rounding.
                Array.forall2 (fun a b -> relErr a b < 1e-10) (Array.ofSeq auto) analytic))

        testPropertyWithConfig config "the ePC energy is the sPC energy at the states of the perturbed forward pass: E(e) = F(h(e))"
        <| Prop.forAll smallMlpArb (fun m ->
            Scope.run (fun () ->
                use net = network m
                let x, _, y = batch m
                use g = Rng.generator (m.Seed + 2L) cpu
                let errors = Array.init (net.Depth - 1) (fun l -> torch.randn([| int64 m.Batch; int64 m.Widths[l] |], dtype = torch.float64, generator = g))
                let states, mus = Energy.statesOfErrors net x errors false
                let e = Scope.scalar (Energy.epc net x errors (Some y))
                let f = Scope.scalar (Energy.spc net states (Some y))
                // What ePC inference evaluates (epcTerms on the pass's top prediction) is Energy.epc.
                let terms = Scope.scalar (Energy.total (Energy.epcTerms net errors mus[net.Depth - 1] (Some y)))
                // The same float64 sums in another order: equal to rounding.
                abs (e - f) <= 1e-12 * max 1.0 (abs f) && abs (terms - e) <= 1e-12 * max 1.0 (abs e)))

        test "per-layer energies are readable and sum to F" {
            Scope.run (fun () ->
                let m = { Input = 3; Widths = [ 4; 4 ]; Outputs = 2; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 3L; Batch = 5 }
                use net = network m
                let x, _, y = batch m
                use g = Rng.generator 9L cpu
                let states = Array.init 3 (fun l -> if l = 0 then x else torch.randn([| 5L; 4L |], dtype = torch.float64, generator = g))
                let terms = Energy.terms net states (Energy.predictions net states) (Some y)
                let values = Energy.values terms
                Expect.equal values.Length 3 "two hidden layers and the output"
                Expect.isTrue (values |> Array.forall (fun v -> v > 0.0)) "all terms active"
                Expect.floatClose Accuracy.veryHigh (Array.sum values) (Scope.scalar (Energy.total terms)) "sum")
        }

        test "the cross-entropy output term is the summed cross-entropy of the logits" {
            Scope.run (fun () ->
                let mu = torch.tensor([| 1.0; 2.0; 0.5; -1.0 |]).reshape(2L, 2L)
                let y = torch.tensor([| 0.0; 1.0; 1.0; 0.0 |]).reshape(2L, 2L)
                let ce = Scope.scalar (Network.outputLoss Loss.CrossEntropy mu y)
                let expected = -(log (exp 2.0 / (exp 1.0 + exp 2.0))) - log (exp 0.5 / (exp 0.5 + exp -1.0))
                Expect.floatClose Accuracy.veryHigh ce expected "CE")
        }
    ]

[<Tests>]
let conv =
    testList "Energy.Conv" [
        test "convolutional PC networks: forward init gives the BP loss, and a PC step reduces it" {
            Scope.run (fun () ->
                let arch = Architecture.ConvNet([ { Channels = 4; Pool = true }; { Channels = 6; Pool = false } ], [ 12 ], Activation.Relu)
                use net = Network.create arch Loss.CrossEntropy [| 2L; 8L; 8L |] 3 Precision.Float64 cpu 3L
                Expect.equal net.Depth 4 "two convolutions, one hidden dense, the output"
                Expect.equal (net.StateShape 2) [| 6L; 4L; 4L |] "pooled once"
                use g = Rng.generator 1L cpu
                let x = torch.randn([| 5L; 2L; 8L; 8L |], dtype = torch.float64, generator = g)
                let labels = torch.tensor([| 0L; 1L; 2L; 0L; 1L |])
                let y = torch.nn.functional.one_hot(labels, 3L).to_type(torch.float64)
                use st = new InitState(3, 0L)
                let init = InitApply.apply Init.forward st (context net x labels g) true
                let F0 = Scope.scalar (Energy.spc net init.States (Some y))
                Expect.equal F0 (Scope.scalar (Energy.forwardLoss net x y)) "forward init: F = loss"
                let r = Inference.run net (InferenceOptions.spc 10 0.05) init (Some y) None
                Expect.isLessThan (Scope.scalar (Energy.spc net r.States (Some y))) F0 "inference lowers F"
                use opt = Learning.optimizer (OptimizerSpec.AdamW(1e-2, 0.0)) net
                for _ in 1 .. 20 do
                    Learning.backpropGradients net x y |> ignore
                    opt.Step()
                Expect.isLessThan (Scope.scalar (Energy.forwardLoss net x y)) F0 "BP on the same network fits the batch")
        }

        test "the AlexNet-style network builds for 32x32x3 inputs" {
            use net = Network.create (Architecture.AlexNet Activation.Relu) Loss.CrossEntropy [| 3L; 32L; 32L |] 10 Precision.Float32 cpu 0L
            Expect.equal net.Depth 8 "five convolutions, two dense hidden layers, the output"
            Expect.equal (net.StateShape 5) [| 256L; 4L; 4L |] "three 2x2 pools"
        }
    ]
