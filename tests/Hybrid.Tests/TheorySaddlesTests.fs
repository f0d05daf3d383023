module Hybrid.Tests.TheorySaddlesTests

open System.IO
open Expecto
open Hybrid.Reporting
open Hybrid.Experiments

let private tempDir () = Directory.CreateTempSubdirectory("hybrid-theory-").FullName

let private near (what: string) (expected: float) (actual: float) =
    Expect.isLessThanOrEqual (abs (actual - expected)) (1e-9 * max 1.0 (abs expected)) (sprintf "%s: expected %g, got %g" what expected actual)

[<Tests>]
let tests =
    testList "Theory saddles and escape" [
        test "theory saddles (short): the origin is a non-strict saddle of the loss and a strict one of F* for L >= 3" {
            let width = 4
            let st = Saddles.study { Saddles.defaults with Depths = [ 1; 2; 3; 4 ]; Width = width; Batch = 32; Out = tempDir () } Observer.silent
            for d in st.Depths do
                Expect.isTrue d.ClaimHolds (sprintf "the claim holds at L = %d" d.Depth)
            let at l = st.Depths |> List.find (fun d -> d.Depth = l)
            Expect.isGreaterThan (at 1).Loss.Smallest 0.0 "L = 1: the loss is strictly convex"
            near "L = 1: F*'s lambda_min is the loss's" (at 1).Loss.Smallest (at 1).Energy.Smallest
            near "L = 1: lambda_min(X^T X / n)" st.InputCovarianceMin (at 1).Loss.Smallest
            near "L = 2: the loss's lambda_min = -sigma_max(Y^T X / n)" -st.CrossCovarianceMax (at 2).Loss.Smallest
            Expect.isLessThan (at 2).Energy.Smallest (at 2).Loss.Smallest "L = 2: F* curves down more than the loss"
            for l in [ 3; 4 ] do
                let d = at l
                Expect.equal (d.Loss.Smallest, d.Loss.Largest) (0.0, 0.0) (sprintf "L = %d: the loss's Hessian vanishes" l)
                near (sprintf "L = %d: F*'s lambda_min = -lambda_max(Y^T Y / n)" l) -st.OutputCovarianceMax d.Energy.Smallest
                Expect.equal d.Energy.Negative (width * width) (sprintf "L = %d: a negative eigenvalue per direction of W_L and of Y^T Y" l)
                Expect.isLessThan d.InferenceDifference 1e-8 (sprintf "L = %d: the Hessian by inference matches the closed form" l)
            let r = Saddles.report st
            Expect.equal r.Tables[0].Rows.Length 4 "one row per depth"
            Expect.isTrue (File.Exists st.Plot && File.Exists st.Csv) "the plot and CSV are written"
        }

        test "theory escape (short): PC leaves the plateau near the origin in fewer updates than BP" {
            let s =
                { Escape.defaults with
                    Depths = [ 2; 3 ]
                    Width = 4
                    Batch = 32
                    LearningRates = [ 0.2 ]
                    MaxUpdates = 300
                    MlpSamples = 0
                    Seeds = 2
                    Out = tempDir () }
            let st = Escape.study s Observer.silent
            Expect.equal st.Cases [ "linear L=2"; "linear L=3" ] "the linear cases, no MLP"
            for case in st.Cases do
                let pc = Escape.best st case "PC"
                Expect.isSome pc (sprintf "%s: PC leaves the plateau within %d updates" case s.MaxUpdates)
                match Escape.best st case "BP" with
                | Some bp -> Expect.isLessThan pc.Value bp (sprintf "%s: PC (%g) before BP (%g)" case pc.Value bp)
                | None -> ()
            Expect.isNone (Escape.best st "linear L=3" "BP") "L = 3: BP stays on the plateau (its gradient is of order scale^2)"
            let r = Escape.report st
            Expect.all (r.Tables[0].Rows |> List.filter (fun row -> row[1] = "PC")) (fun row -> List.last row = "yes") "the table says the claim holds"
        }
    ]
