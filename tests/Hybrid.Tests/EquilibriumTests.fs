module Hybrid.Tests.EquilibriumTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 25

/// Small linear chains with a squared-error output.
let private linearChain =
    smallMlp |> Gen.map (fun m -> { m with Activation = Activation.Identity; Loss = Loss.SquaredError })

/// Heavy-ball settings with the optimal rate for curvatures in [lo, hi].
let private heavyBall (lo: float) (hi: float) (steps: int) (reparam: Reparam) =
    let a = 4.0 / (sqrt hi + sqrt lo) ** 2.0
    let k = sqrt (hi / lo)
    let mu = ((k - 1.0) / (k + 1.0)) ** 2.0
    { InferenceOptions.spc steps a with Momentum = mu; Reparam = reparam; DivergenceFactor = infinity }

let private extremes (m: torch.Tensor) =
    let ev = torch.linalg.eigvalsh(Ops.mul (m + m.t()) 0.5)
    Scope.scalar (ev.min()), Scope.scalar (ev.max())

let private converge (net: Network) (x: torch.Tensor) (labels: torch.Tensor) (y: torch.Tensor) (opts: InferenceOptions) =
    use g = Rng.generator 0L cpu
    use st = new InitState(net.Outputs, 0L)
    let init = InitApply.apply Init.forward st (context net x labels g) true
    Inference.run net opts init (Some y) None

let private weightGradients (net: Network) (r: InferenceResult) (y: torch.Tensor) =
    Learning.weightGradients net r.States r.Predictions (Some y) |> ignore
    Learning.gradients net

[<Tests>]
let tests =
    testList "Equilibrium" [
        // The verification kit's invariant (one definition).
        testPropertyWithConfig config "the closed-form linear equilibrium is a critical point of F" Hybrid.Verification.Invariants.linearEquilibrium

        testPropertyWithConfig config "linear chains: sPC and ePC reach the exact equilibrium and give the same weight gradients"
        <| Prop.forAll (Arb.fromGen linearChain) (fun m ->
            Scope.run (fun () ->
                use net = network m
                let x, labels, y = batch m
                let exact = Equilibrium.linear net x y
                let H = Equilibrium.hessian net
                let Binv = torch.linalg.inv(Equilibrium.errorMap net)
                let slo, shi = extremes H
                let elo, ehi = extremes (Binv.t().mm(H).mm(Binv))
                let s = converge net x labels y (heavyBall slo shi 1000 Reparam.States)
                let e = converge net x labels y (heavyBall elo ehi 1000 Reparam.Errors)
                let gs = weightGradients net s y
                let ge = weightGradients net e y
                let go =
                    Learning.weightGradients net exact None (Some y) |> ignore
                    Learning.gradients net
                // Optimal heavy ball over 1000 steps contracts by far more than 1e-12 for
                // these condition numbers; the gradient comparison asks for 1e-6 (the issue's bar).
                Equilibrium.distance s.States exact < 1e-9
                && Equilibrium.distance e.States exact < 1e-9
                && Array.forall2 (fun a b -> close 1e-6 1e-8 a b) gs go
                && Array.forall2 (fun a b -> close 1e-6 1e-8 a b) ge go))

        // The verification kit's invariant (one definition).
        testPropertyWithConfig config "nonlinear nets: from the same start, sPC and ePC reach the same equilibrium with the same weight gradients"
            (Hybrid.Verification.Invariants.spcEpcEquilibrium Hybrid.Verification.Model.mlp)

        test "the oracle refuses networks that are not linear chains" {
            let m = { Input = 2; Widths = [ 3 ]; Outputs = 2; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 1L; Batch = 2 }
            use net = network m
            let x, _, y = batch m
            let e = Util.throws<System.ArgumentException> (fun () -> Equilibrium.linear net x y |> ignore)
            Expect.stringContains e.Message "needs a linear chain" "message"
        }
    ]
