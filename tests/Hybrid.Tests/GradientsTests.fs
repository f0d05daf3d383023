module Hybrid.Tests.GradientsTests

open System.IO
open Expecto
open Hybrid.Reporting
open Hybrid.Experiments

[<Tests>]
let tests =
    testList "Theory gradients" [
        test "theory gradients (short): per-layer norms of dL/dW and dF*/dW, F* <= L at every record, PC training lowers the loss" {
            match Hybrid.Data.Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let s =
                    { EffectiveGradients.defaults with
                        Samples = 32; Depths = [ 3; 6 ]; Width = 8; Updates = 3; Records = 2; Out = Directory.CreateTempSubdirectory("hybrid-theory-").FullName }
                let st = EffectiveGradients.study s Observer.silent
                Expect.equal st.Cases.Length 4 "tanh and sigmoid at two depths"
                for c in st.Cases do
                    Expect.equal (c.Records |> List.map (fun r -> r.Update)) [ 0; 3 ] "records at initialisation and at the end"
                    for r in c.Records do
                        Expect.equal r.Bp.Length c.Depth "one BP norm per weight layer"
                        Expect.equal r.Pc.Length c.Depth "one PC norm per weight layer"
                        Expect.isTrue r.Converged "inference met its tolerance"
                        Expect.isTrue (Array.forall (fun v -> v > 0.0 && System.Double.IsFinite v) (Array.append r.Bp r.Pc)) "norms positive and finite"
                        // The forward pass is a feasible state with F = L, and inference lowers F from it.
                        Expect.isLessThanOrEqual r.Energy (r.Loss * (1.0 + 1e-9)) "F* <= L"
                    Expect.isLessThan (List.last c.Records).Loss (List.head c.Records).Loss (sprintf "%s L = %d: SGD on dF*/dW lowers the loss" c.Activation c.Depth)
                let r = EffectiveGradients.report st
                Expect.stringContains r.Tables[0].Title "thesis" "the thesis' statement beside the numbers"
                for p in st.Plots do
                    Expect.isTrue (File.Exists p) "plot written"
                Expect.isTrue (File.Exists(Path.Combine(s.Out, "theory-gradients.json"))) "JSON written"
        }
    ]
