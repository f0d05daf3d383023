module Hybrid.Tests.TheoryTests

open Expecto
open TorchSharp
open Hybrid
open Hybrid.Verification

let private f64 = torch.float64

/// A bias-free deep linear network (widths in, hidden..., out), N(0, scale^2 / fan_in) weights.
let linearNet (sizes: int list) (scale: float) (seed: int64) =
    let net = Network.create (Architecture.Mlp(sizes[1 .. sizes.Length - 2], Activation.Identity)) Loss.SquaredError [| int64 sizes.Head |] (List.last sizes) Precision.Float64 torch.CPU seed
    use _ = torch.no_grad ()
    use g = Rng.generator seed torch.CPU
    for b in net.Blocks do
        let w = b.Weight
        w.copy_(torch.randn(w.shape, dtype = f64, generator = g) * (scale / sqrt (float w.shape[1]))) |> ignore
        b.Bias |> Option.iter (fun p -> p.zero_() |> ignore)
    net

let private data (n: int) (dIn: int) (dOut: int) (seed: int64) =
    use g = Rng.generator seed torch.CPU
    torch.randn([| int64 n; int64 dIn |], dtype = f64, generator = g), torch.randn([| int64 n; int64 dOut |], dtype = f64, generator = g)

[<Tests>]
let tests =
    testList "Theory" [
        testPropertyWithConfig (Util.propertyConfig 15) "closed-form F* of linear chains equals inference" TheoryInvariants.closedFormEnergy
        testPropertyWithConfig (Util.propertyConfig 15) "the origin is a strict saddle of F* for L >= 3" TheoryInvariants.strictSaddle
        testPropertyWithConfig (Util.expensiveConfig 10 5) "Hessians agree with finite differences of gradients" (TheoryInvariants.hessians Model.mlp)
        testPropertyWithConfig (Util.propertyConfig 15) "activity Hessians of linear chains equal the block-tridiagonal oracle" TheoryInvariants.linearActivityHessian

        test "at L = 2 the origin is a strict saddle of both the loss and F*" {
            Scope.run (fun () ->
                use net = linearNet [ 3; 4; 2 ] 0.0 1L
                let x, y = data 16 3 2 2L
                let lossMin = (Theory.extremes (Theory.lossHessian net x y)).Smallest
                let energyMin = (Theory.extremes (Theory.linearEquilibratedHessian net x y)).Smallest
                // The loss's Hessian at 0 couples W_1 and W_2 through -Σ_yx/n: eigenvalues ±σ_i.
                let sigma = Scope.scalar (torch.linalg.matrix_norm(y.t().mm(x) / 16.0, ord = 2.0))
                Expect.floatClose { absolute = 1e-10; relative = 1e-10 } lossMin (-sigma) "loss: λ_min = -σ_max(Σ_yx)"
                Expect.isLessThan energyMin (-sigma) "F*: the -C block adds to it")
        }

        test "Lanczos finds the extreme eigenvalues of a Hessian from its products" {
            Scope.run (fun () ->
                use net = linearNet [ 4; 5; 5; 3 ] 1.0 3L
                let x, y = data 12 4 3 4L
                let full = Theory.extremes (Theory.lossHessian net x y)
                let hvp = Theory.lossHvp net x y
                let l = Theory.lanczos (Theory.parameterCount net) hvp 200 7L torch.ScalarType.Float64 torch.CPU
                Expect.floatClose { absolute = 1e-8; relative = 1e-8 } l.Largest full.Largest "largest"
                Expect.floatClose { absolute = 1e-8; relative = 1e-8 } l.Smallest full.Smallest "smallest")
        }

        test "the activity Hessian's operator matches its matrix, and muPC conditions better than sp at depth" {
            Scope.run (fun () ->
                let cond p =
                    use net = Network.create (Architecture.ResidualMlp(16, 16, Activation.Tanh, p)) Loss.SquaredError [| 8L |] 4 Precision.Float64 torch.CPU 5L
                    let x, y = data 1 8 4 6L
                    let eq = Theory.equilibrate net x (Some y) { Theory.EquilibriumOptions.defaults with Tolerance = 1e-3; MaxSteps = 1 }
                    let h = Theory.activityHessian net Reparam.States eq.States (Some y)
                    let dim, op = Theory.activityHvp net Reparam.States eq.States (Some y)
                    let v = torch.ones([| dim |], dtype = f64)
                    Expect.isLessThan (Scope.scalar ((op v - h[0].mv(v)).norm())) 1e-9 "H v"
                    (Theory.extremes h).Condition
                let sp = cond Parameterisation.Sp
                let mu = cond Parameterisation.MuPC
                Expect.isLessThan mu sp (sprintf "muPC %g vs sp %g" mu sp))
        }

        test "the trust-region step is the Newton step inside the region and lies on its boundary outside" {
            Scope.run (fun () ->
                let c = torch.tensor([| 2.0; 0.0; 0.0; 0.5 |], dtype = f64).reshape(2L, 2L)
                let g = torch.tensor([| 1.0; 1.0 |], dtype = f64)
                let newton = Theory.trustRegionStep c g 100.0
                Expect.floatClose Accuracy.high (Scope.scalar newton[0]) -0.5 "newton x"
                Expect.floatClose Accuracy.high (Scope.scalar newton[1]) -2.0 "newton y"
                let bounded = Theory.trustRegionStep c g 0.1
                Expect.floatClose { absolute = 1e-9; relative = 1e-9 } (Scope.scalar (bounded.norm())) 0.1 "on the boundary"
                Expect.isLessThan (Theory.angle bounded (g.neg())) 45.0 "a small region turns it towards -g"
                let indefinite = torch.tensor([| 1.0; 0.0; 0.0; -1.0 |], dtype = f64).reshape(2L, 2L)
                let d = Theory.trustRegionStep indefinite g 1.0
                Expect.floatClose { absolute = 1e-9; relative = 1e-9 } (Scope.scalar (d.norm())) 1.0 "indefinite: on the boundary")
        }

        test "hybrid theory energy (short): closed form equals inference at every depth, with its table, plot and CSV" {
            let out = System.IO.Directory.CreateTempSubdirectory("hybrid-theory-").FullName
            let st = Hybrid.Experiments.Equilibrated.study { Hybrid.Experiments.Equilibrated.defaults with Depths = [ 2; 3; 5 ]; Width = 4; Batch = 6; Seeds = 2; Out = out } Hybrid.Reporting.Observer.silent
            for d in st.Depths do
                Expect.isTrue d.Converged (sprintf "L = %d converged" d.Depth)
                Expect.isLessThan d.EnergyDifference 1e-12 (sprintf "L = %d energy" d.Depth)
                Expect.isLessThan d.GradientDifference 1e-7 (sprintf "L = %d gradient" d.Depth)
                Expect.isLessThanOrEqual d.Energy (d.Loss + 1e-12) "F* <= L (S >= I)"
            Expect.isTrue (System.IO.File.Exists st.Plot && System.IO.File.Exists st.Csv) "plot and CSV written"
            let r = Hybrid.Experiments.Equilibrated.report st
            Expect.equal r.Tables.Head.Rows.Length 3 "one row per depth"
        }

        test "the closed form refuses networks that are not linear chains" {
            Scope.run (fun () ->
                use net = Network.create (Architecture.Mlp([ 3 ], Activation.Tanh)) Loss.SquaredError [| 2L |] 2 Precision.Float64 torch.CPU 1L
                let x, y = data 2 2 2 1L
                let e = Util.throws<System.ArgumentException> (fun () -> Theory.linearEquilibratedEnergy net x y |> ignore)
                Expect.stringContains e.Message "block 0" "names the block")
        }
    ]
