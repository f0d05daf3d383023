module Hybrid.Tests.TransferTests

open System
open System.IO
open Expecto
open Hybrid
open Hybrid.Reporting
open Hybrid.Experiments

let private tempDir () = Directory.CreateTempSubdirectory("hybrid-theory-").FullName

[<Tests>]
let tests =
    testList "Theory transfer and trust region" [
        test "theory trust-region (short): one layer makes PC's update BP's; angles and lengths along training" {
            let s = { TrustRegion.defaults with Depths = [ 1; 2 ]; Width = 3; Batch = 16; Updates = 4; Records = 2; Out = tempDir () }
            let st = TrustRegion.study s Observer.silent
            Expect.equal st.Cases.Length 4 "identity and tanh at two depths"
            for c in st.Cases do
                Expect.equal (c.Records |> List.map (fun r -> r.Update)) [ 0; 4 ] "records at initialisation and at the end"
                Expect.equal c.Parameters (c.Depth * s.Width * s.Width) "bias-free square chain"
                for r in c.Records do
                    for a in [ r.PcBp; r.PcFisher; r.BpFisher; r.PcHessian; r.BpHessian; r.PcNatural; r.BpNatural ] do
                        Expect.isTrue (a >= 0.0 && a <= 180.0) (sprintf "an angle in [0, 180], got %g" a)
                    Expect.isLessThanOrEqual r.Energy (r.Loss * (1.0 + 1e-9)) "F* <= L"
                    // A short step along -g lowers a smooth loss: the TR step of PC's length is within 90 degrees of -g.
                    Expect.isLessThan r.BpFisher 90.0 "the Fisher TR step descends"
                    if c.Depth = 1 then
                        // No hidden state: F* is the loss, PC's update is BP's.
                        Expect.isLessThan r.PcBp 1e-3 "L = 1: PC's update is BP's"
                        Expect.floatClose Accuracy.high r.LengthRatio 1.0 "L = 1: |dF*/dθ| = |dL/dθ|"
                        if c.Activation = "identity" then
                            // A linear map under squared error: the Hessian is the Gauss-Newton matrix.
                            Expect.isLessThan (abs (r.PcHessian - r.PcFisher)) 1e-4 "L = 1, linear: Hessian TR = Fisher TR"
                Expect.isLessThan (List.last c.Records).Loss (List.head c.Records).Loss (sprintf "%s L = %d: PC lowers the loss" c.Activation c.Depth)
            let r = TrustRegion.report st
            Expect.stringContains r.Tables[0].Title "Innocenti et al. 2023" "the paper's statement beside the numbers"
            for p in st.Plots do
                Expect.isTrue (File.Exists p) "plot written"
        }

        test "theory transfer (short): a grid per parameterisation and size as one sweep, the best cells read from it, and a second run continues it" {
            match Hybrid.Data.Dataset.locate None "fashion-mnist" with
            | None -> skiptest "fashion-mnist is not installed (CI installs it)"
            | Some _ ->
                let s =
                    { Transfer.defaults with
                        Runs = { Transfer.defaults.Runs with Fraction = 0.01; Out = tempDir (); Device = DeviceChoice.Cpu }
                        Seeds = 1
                        SmallWidth = 8
                        SmallDepth = 3
                        LargeWidth = 16
                        LargeDepth = 4
                        LearningRates = [ 0.01; 0.1 ]
                        StateSteps = [ 0.025; 0.1 ] }
                let st = Transfer.run s Observer.silent Threading.CancellationToken.None
                Expect.equal st.Table.Runs.Length 16 "2 parameterisations x 2 sizes x 2 x 2 cells"
                Expect.isEmpty st.Table.Failures "no trial failed"
                Expect.equal (st.Verdicts |> List.map (fun v -> v.Parameterisation)) [ Parameterisation.Sp; Parameterisation.MuPC ] "one verdict per parameterisation"
                for v in st.Verdicts do
                    for g in [ v.Small; v.Large ] do
                        let i, j = g.Best
                        for a in 0 .. 1 do
                            for b in 0 .. 1 do
                                if Double.IsFinite g.Accuracy[a, b] then
                                    Expect.isLessThanOrEqual g.Accuracy[a, b] g.BestAccuracy "the best cell is the largest"
                        Expect.equal g.Accuracy[i, j] g.BestAccuracy "the best cell's accuracy"
                        Expect.isTrue (File.Exists g.Plot) "heatmap written"
                    Expect.equal v.Transfers (abs v.LearningRateShift <= 1 && abs v.StateStepShift <= 1) "within one grid step"
                    if Double.IsFinite v.Regret then Expect.isGreaterThanOrEqual v.Regret 0.0 "the large network's best is at least its accuracy at the small one's"
                let again = Transfer.run s Observer.silent Threading.CancellationToken.None
                Expect.equal (again.Verdicts |> List.map (fun v -> v.Small.Accuracy, v.Large.Accuracy)) (st.Verdicts |> List.map (fun v -> v.Small.Accuracy, v.Large.Accuracy)) "a second run reads the same trials"
                Expect.stringContains (Transfer.report st).Tables[0].Title "Innocenti et al. 2025" "the paper's statement beside the numbers"
        }
    ]
