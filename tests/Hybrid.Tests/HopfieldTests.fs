module Hybrid.Tests.HopfieldTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 60

[<Tests>]
let tests =
    testList "Hopfield" [
        // The verification kit's invariant (one definition).
        testPropertyWithConfig config "the CCCP update never increases the energy" Hybrid.Verification.MemoryInvariants.hopfieldDescent

        test "the energy is 0 at a lone pattern's own state for large beta, and matches its formula" {
            Scope.run (fun () ->
                let p = Hopfield.Patterns.ofRows [ [| 1.0; 0.0 |]; [| 0.0; 2.0 |] ]
                let xi = torch.tensor([| 0.3; -0.4 |], dtype = torch.float64).reshape(1L, 2L)
                let beta = 1.7
                let e = Scope.scalar (Hopfield.energy p beta xi)
                let lse = log (exp (beta * 0.3) + exp (beta * -0.8))
                let expected = -lse / beta + 0.5 * 0.25 + log 2.0 / beta + 0.5 * 4.0
                Expect.floatClose Accuracy.veryHigh e expected "formula")
        }

        test "at small beta every start ends at the centroid; above beta_c single-pattern minima exist" {
            Scope.run (fun () ->
                let p = Hopfield.Patterns.simplex 5 1.0 7 3L
                let bc = Hopfield.predictedCriticalBeta p
                use starts = Experiments.Phase.starts p 40 1L
                let low = Hopfield.fixedPoints p (0.3 * bc) starts 1e-12 20000 1e-6
                Expect.equal (low |> List.map (fun f -> f.Kind, f.IsMinimum)) [ Hopfield.FixedPointKind.Global, true ] "only the centroid, a minimum"
                let high = Hopfield.fixedPoints p (1.5 * bc) starts 1e-12 20000 1e-6
                let patterns = high |> List.filter (fun f -> f.IsMinimum && (match f.Kind with Hopfield.FixedPointKind.Pattern _ -> true | _ -> false))
                Expect.equal patterns.Length 5 "one minimum per pattern"
                Expect.isFalse (high |> List.exists (fun f -> f.Kind = Hopfield.FixedPointKind.Global && f.IsMinimum)) "the centroid is no longer a minimum")
        }

        // The verification kit's invariant, over random simplex sets (the test below keeps the fixed ones and the onset).
        testPropertyWithConfig (Util.propertyConfig 8) "the measured transition of random simplex sets is within 2% of N/(M^2 - c)"
            Hybrid.Verification.MemoryInvariants.criticalBeta

        test "the measured transition of simplex patterns is within 2% of N/(M^2 - c)" {
            for n in [ 3; 5; 10 ] do
                for m in [ 1.0; 2.0 ] do
                    let p = Hopfield.Patterns.simplex n m (n + 2) 1L
                    let predicted = Hopfield.predictedCriticalBeta p
                    // For unit-norm simplex patterns c = -1/(N-1), so beta_c = N - 1.
                    if m = 1.0 then Expect.floatClose Accuracy.high predicted (float (n - 1)) "N - 1"
                    let measured = Hopfield.measuredCriticalBeta p (predicted / 10.0) (predicted * 10.0) 1e-6
                    Expect.isLessThan (abs (measured / predicted - 1.0)) 0.02 (sprintf "N=%d M=%g: %g vs %g" n m measured predicted)
                    // For N >= 3, pattern minima appear below beta_c (the coexistence window).
                    let onset = Hopfield.patternOnsetBeta p 0 (predicted / 10.0) (predicted * 10.0) 1e-4
                    Expect.isLessThan onset predicted (sprintf "N=%d M=%g onset below beta_c" n m)
        }

        test "retrieval reports states that did not converge" {
            Scope.run (fun () ->
                let p = Hopfield.Patterns.simplex 3 1.0 5 1L
                let r = Hopfield.retrieve p 1.99 (p.X.narrow(0L, 0L, 1L)) 1e-15 3
                Expect.equal r.Converged [| false |] "3 steps are not enough near beta_c"
                Expect.equal r.Iterations [| 3 |] "the cap is reported"
                r.States.Dispose())
        }

        test "bad input is named" {
            let p = Hopfield.Patterns.simplex 3 1.0 5 1L
            let e = Util.throws<ArgumentException> (fun () -> Hopfield.update p 1.0 (torch.zeros([| 2L; 4L |], dtype = torch.float64)) |> ignore)
            Expect.stringContains e.Message "do not match patterns of dimension 5" "dimension"
            let e = Util.throws<ArgumentException> (fun () -> Hopfield.update p 0.0 (torch.zeros([| 2L; 5L |], dtype = torch.float64)) |> ignore)
            Expect.stringContains e.Message "beta must be positive" "beta"
            let e = Util.throws<ArgumentException> (fun () -> Hopfield.Patterns.ofRows [ [| 1.0; 2.0 |]; [| 1.0 |] ] |> ignore)
            Expect.stringContains e.Message "pattern 1 has dimension 1" "ragged"
        }
    ]
