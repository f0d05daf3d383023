module Hybrid.Tests.EquilibriumTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 25

[<Tests>]
let tests =
    testList "Equilibrium" [
        // The verification kit's invariant (one definition).
        testPropertyWithConfig config "the closed-form linear equilibrium is a critical point of F" Hybrid.Verification.Invariants.linearEquilibrium

        // The verification kit's invariant (one definition).
        testPropertyWithConfig (Util.expensiveConfig 25 10) "linear chains: sPC and ePC reach the exact equilibrium and give the same weight gradients"
            Hybrid.Verification.Invariants.linearChains

        // The verification kit's invariant (one definition).
        testPropertyWithConfig (Util.expensiveConfig 25 10) "nonlinear nets: from the same start, sPC and ePC reach the same equilibrium with the same weight gradients"
            (Hybrid.Verification.Invariants.spcEpcEquilibrium Hybrid.Verification.Model.mlp)

        test "the oracle refuses networks that are not linear chains" {
            let m = { Input = 2; Widths = [ 3 ]; Outputs = 2; Activation = Activation.Tanh; Loss = Loss.SquaredError; Seed = 1L; Batch = 2 }
            use net = network m
            let x, _, y = batch m
            let e = Util.throws<System.ArgumentException> (fun () -> Equilibrium.linear net x y |> ignore)
            Expect.stringContains e.Message "needs a linear chain" "message"
        }
    ]
