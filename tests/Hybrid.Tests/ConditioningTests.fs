module Hybrid.Tests.ConditioningTests

open Expecto
open Hybrid
open Hybrid.Experiments

[<Tests>]
let tests =
    testList "Theory conditioning" [
        test "theory conditioning: sPC's activity Hessian grows ill-conditioned with depth under sp, ntp and muPC; ePC's has every eigenvalue at least 1" {
            match Data.Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let s =
                    { Conditioning.defaults with
                        Depths = [ 4; 8; 16 ]; Widths = [ 8 ]; Samples = 2; TrainSteps = 2; Fraction = 0.01; Out = System.IO.Directory.CreateTempSubdirectory("hybrid-test-").FullName }
                let st = Conditioning.study s Hybrid.Reporting.Observer.silent
                Expect.equal st.Cells.Length 9 "3 parameterisations x 3 depths"
                for p in s.Parameterisations do
                    let ks = st.Cells |> List.filter (fun c -> c.Parameterisation = p) |> List.map (fun c -> c.SpcInit.Condition)
                    // Measured: sp 28, 181, 1260; ntp 61, 1180, 9240; muPC 33, 167, 690 (each doubling of depth multiplies it by >= 4).
                    for a, b in List.pairwise ks do
                        Expect.isGreaterThan b (3.0 * a) (sprintf "%O: sPC condition number grows with depth (%g then %g)" p a b)
                for c in st.Cells do
                    Expect.isGreaterThanOrEqual c.EpcInit.Smallest (1.0 - 1e-9) "ePC's activity Hessian is I + J^T J"
                    Expect.isTrue (c.SpcInit.Smallest > 0.0) "sPC's activity Hessian is positive definite at the forward pass"
                    Expect.isTrue (c.TrainedAccuracy.IsSome || c.Diverged.IsSome) "trained or diverged"
                let r = Conditioning.report st
                Expect.equal r.Tables.Length 2 "at init and after training"
                Expect.stringContains r.Tables[0].Title "Innocenti et al. 2025" "the paper's statement beside the numbers"
                Expect.isTrue (System.IO.File.Exists st.Plot) "plot written"
        }
    ]
