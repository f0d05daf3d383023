/// The invariants of the theory instruments (`Hybrid.Theory`): the closed-form
/// equilibrated energy of deep linear networks against inference, the strict saddle at
/// the origin, Hessians against finite differences of gradients, and the activity
/// Hessians of linear chains against the block-tridiagonal oracle. Float64 on the CPU.
namespace Hybrid.Verification

open System
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid

module TheoryInvariants =
    let private cpu = torch.CPU

    let private measured (model: ModelUnderTest) (specs: Arbitrary<NetSpec>) (check: Case -> bool * string) : Property =
        Prop.forAll specs (fun spec ->
            let label = sprintf "%s %O" model.Name spec
            match (try Ok(Scope.run (fun () -> use c = Case.build model spec in check c)) with e -> Error e) with
            | Ok(true, _) -> true |> Prop.label label
            | Ok(false, m) -> false |> Prop.label label |> Prop.label ("measured: " + m)
            | Error e -> lazy (raise e) |> Prop.label label)

    let private linear (s: NetSpec) = { s with Activation = Activation.Identity; Loss = Loss.SquaredError }

    /// ||a - b|| / max(||b||, floor).
    let private relative (floor: float) (a: torch.Tensor) (b: torch.Tensor) =
        Scope.scalar ((Ops.minus a b).norm()) / max (Scope.scalar (b.norm())) floor

    let private tight = { Theory.EquilibriumOptions.defaults with Tolerance = 1e-11; MaxSteps = 50000 }

    /// Linear chains (the spec's activation and loss replaced): the closed-form
    /// F*(θ) = 1/(2n) sum_i r_i^T S^{-1} r_i equals the energy that inference reaches
    /// (state gradients below 1e-11) to 1e-9 relative, and its autograd weight gradient
    /// equals ∂F/∂θ at that equilibrium (`Theory.equilibratedGradient`) to 1e-7 relative.
    let closedFormEnergy: Property =
        measured Model.mlp (Generate.netSpecsWith linear) (fun c ->
            let net = c.Network
            let closed = Theory.linearEquilibratedEnergy net c.Input c.Target
            let eq = Theory.equilibrate net c.Input (Some c.Target) tight
            let exact = Scope.scalar closed
            let energyGap = abs (eq.Energy - exact) / max (abs exact) 1e-12
            let ps = Theory.weights net |> Array.concat |> Array.map (fun p -> p :> torch.Tensor)
            let gClosed = torch.autograd.grad([| closed |], ps) |> Array.ofSeq |> Theory.flatten
            let gInfer = Theory.equilibratedGradient net eq c.Target |> Theory.flatten
            let gradGap = relative 1e-10 gInfer gClosed
            eq.Converged && energyGap <= 1e-9 && gradGap <= 1e-7,
            sprintf "closed form %.12g, inference %.12g (%d steps, converged %b): relative gap %.2g; gradient gap %.2g" exact eq.Energy eq.Steps eq.Converged energyGap gradGap)

    let private deep (s: NetSpec) =
        let s = linear s
        if s.Widths.Length < 2 then { s with Widths = s.Widths @ [ 2 ] } else s

    let private zeroParameters (net: Network) =
        use _ = torch.no_grad ()
        for p in net.Parameters do p.zero_() |> ignore

    /// Linear chains of L >= 3 weight matrices at the origin (every weight and bias zero):
    /// the loss's Hessian is zero (every entry below 1e-12), while the equilibrated energy's
    /// is not: its smallest eigenvalue is -λ_max(Y^T Y / n) < 0 (the quadratic term
    /// -1/(2n) sum_i ||W_L^T y_i||^2 of F*), to 1e-9. The origin is a strict saddle of F*.
    /// The Hessian of F* by inference (`Theory.equilibratedHessian`, the Schur complement)
    /// equals that of the closed form to 1e-9 relative.
    let strictSaddle: Property =
        measured Model.mlp (Generate.netSpecsWith deep) (fun c ->
            let net = c.Network
            zeroParameters net
            let lossH = Theory.lossHessian net c.Input c.Target
            let lossMax = Scope.scalar (lossH.abs().max())
            let closedH = Theory.linearEquilibratedHessian net c.Input c.Target
            let e = Theory.extremes closedH
            let n = float c.Spec.Batch
            let cov = Ops.div (c.Target.t().mm(c.Target)) n
            let expected = -(Theory.extremes cov).Largest
            let eq = Theory.equilibrate net c.Input (Some c.Target) tight
            let schur = Theory.equilibratedHessian net eq c.Target
            let gap = relative 1e-12 schur closedH
            lossMax <= 1e-12 && abs (e.Smallest - expected) <= 1e-9 * max 1.0 (abs expected) && e.Smallest < 0.0 && gap <= 1e-9,
            sprintf "loss Hessian max |entry| %.3g; F* Hessian λ_min %.12g (expected %.12g); inference vs closed form %.2g" lossMax e.Smallest expected gap)

    let private smooth (s: NetSpec) =
        match s.Activation with
        | Activation.Relu
        | Activation.LeakyRelu -> { s with Activation = Activation.Tanh }
        | _ -> s

    /// Moves every weight by `scale * v` (a flat vector, `Theory.weights` order).
    let private shift (net: Network) (v: torch.Tensor) (scale: float) =
        use _ = torch.no_grad ()
        let mutable offset = 0L
        for p in Theory.weights net |> Array.concat do
            let k = p.numel ()
            p.add_(Ops.mul (v.narrow(0L, offset, k).reshape(p.shape)) scale) |> ignore
            offset <- offset + k

    /// Hessians agree with finite differences of gradients, for the model's networks with
    /// smooth activations (ReLU and leaky ReLU are replaced by tanh: their kinks have no
    /// second derivative): for a random unit direction v, the loss's Hessian-vector product
    /// equals the full Hessian times v to 1e-10 and the central difference
    /// (∇L(θ + εv) - ∇L(θ - εv)) / 2ε, ε = 1e-5, to 1e-6 relative; and the equilibrated
    /// energy's Hessian (Schur complement) times v equals its Hessian-vector product (CG)
    /// to 1e-6 and the central difference of `equilibratedGradient`, re-equilibrated at
    /// θ ± εv (ε = 1e-4, state gradients below 1e-13), to 1e-5 relative (floors 1e-6; 1e-3
    /// for the last, above the noise of the equilibria divided by ε).
    let hessians (model: ModelUnderTest) : Property =
        measured model (Generate.netSpecsWith smooth) (fun c ->
            let net = c.Network
            let count = Theory.parameterCount net
            use g = Rng.generator (Rng.derive c.Spec.Seed "direction") cpu
            let v0 = torch.randn([| count |], dtype = torch.float64, generator = g)
            let v = Ops.div v0 (Scope.scalar (v0.norm()))
            let central (eps: float) (grad: unit -> torch.Tensor) =
                shift net v eps
                let up = grad ()
                shift net v (-2.0 * eps)
                let down = grad ()
                shift net v eps
                Ops.div (Ops.minus up down) (2.0 * eps)
            let hv = Theory.lossHvp net c.Input c.Target v
            let full = Theory.lossHessian(net) c.Input c.Target
            let hvFull = full.mv(v)
            let hvFd = central 1e-5 (fun () -> Theory.lossGradient net c.Input c.Target |> Theory.flatten)
            let lossFull = relative 1e-6 hvFull hv
            let lossFd = relative 1e-6 hvFd hv
            let eqOpts = { Theory.EquilibriumOptions.defaults with Tolerance = 1e-13; MaxSteps = 100000 }
            let eq = Theory.equilibrate net c.Input (Some c.Target) eqOpts
            let fv = Theory.equilibratedHvp net eq c.Target v
            let fFull = (Theory.equilibratedHessian net eq c.Target).mv(v)
            let fFd =
                central 1e-4 (fun () ->
                    let e = Theory.equilibrateFrom net eq.States (Some c.Target) eqOpts
                    Theory.equilibratedGradient net e c.Target |> Theory.flatten)
            let eqFull = relative 1e-6 fFull fv
            let eqFd = relative 1e-3 fFd fFull
            eq.Converged && lossFull <= 1e-10 && lossFd <= 1e-6 && eqFull <= 1e-6 && eqFd <= 1e-5,
            sprintf "loss: Hv vs full %.2g, vs finite differences %.2g; F*: Hv vs Schur %.2g, Schur vs finite differences %.2g (converged %b)" lossFull lossFd eqFull eqFd eq.Converged)

    /// Linear chains at random states: the activity Hessian of sPC's energy
    /// (`Theory.activityHessian`, by autograd) equals the block-tridiagonal
    /// `Equilibrium.hessian` for every sample, and ePC's equals B^{-T} H B^{-1}
    /// (`Equilibrium.errorMap`), each to 1e-10 relative.
    let linearActivityHessian: Property =
        measured Model.mlp (Generate.netSpecsWith linear) (fun c ->
            let net = c.Network
            use g = Rng.generator (Rng.derive c.Spec.Seed "states") cpu
            let states =
                Array.init net.Depth (fun l ->
                    if l = 0 then c.Input
                    else torch.randn(Array.append [| int64 c.Spec.Batch |] (net.StateShape l), dtype = torch.float64, generator = g))
            let oracle = Equilibrium.hessian net
            let binv = torch.linalg.inv(Equilibrium.errorMap net)
            let epcOracle = binv.t().mm(oracle).mm(binv)
            let hs = Theory.activityHessian net Reparam.States states (Some c.Target)
            let he = Theory.activityHessian net Reparam.Errors states (Some c.Target)
            let worst (batch: torch.Tensor) (m: torch.Tensor) =
                [ for i in 0L .. batch.shape[0] - 1L -> relative 1e-12 batch[i] m ] |> List.max
            let s = worst hs oracle
            let e = worst he epcOracle
            s <= 1e-10 && e <= 1e-10, sprintf "sPC vs block-tridiagonal %.2g; ePC vs B^-T H B^-1 %.2g" s e)

    /// The invariants of this module, by name.
    let all (model: ModelUnderTest) : (string * Property) list =
        [ "closed-form F* of linear chains equals inference", closedFormEnergy
          "the origin is a strict saddle of F* for L >= 3 (the loss's Hessian is zero there)", strictSaddle
          "Hessians of the loss and of F* agree with finite differences of gradients", hessians model
          "activity Hessians of linear chains equal the block-tridiagonal oracle", linearActivityHessian ]
