/// The invariants of predictive coding as named FsCheck properties over small networks
/// of a `Model` (Hybrid's own, or made of your blocks). Each is checked in float64 on
/// the CPU; each says the equation it checks and its tolerance. A failing case shrinks
/// to fewer and narrower layers and is printed with its seed.
namespace Hybrid.Verification

open System
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid

module Invariants =
    let private cpu = torch.CPU

    /// Runs a check on the case of a spec inside its own dispose scope, labelled with the
    /// model and the spec (the counterexample a failure prints).
    let private onCase (model: ModelUnderTest) (check: Case -> bool) (spec: NetSpec) : Property =
        let ok () =
            Scope.run (fun () ->
                use c = Case.build model spec
                check c)
        lazy (ok ()) |> Prop.label (sprintf "%s %O" model.Name spec)

    let private forAll (model: ModelUnderTest) (check: Case -> bool) : Property =
        Prop.forAll Generate.netSpecs (onCase model check)

    /// `forAll` with a check that says what it measured: a failing case prints it
    /// beside the model and the spec (rather than FsCheck's bare "false").
    let private forAllMeasured (model: ModelUnderTest) (check: Case -> bool * string) : Property =
        Prop.forAll Generate.netSpecs (fun spec ->
            let label = sprintf "%s %O" model.Name spec
            match (try Ok(Scope.run (fun () -> use c = Case.build model spec in check c)) with e -> Error e) with
            | Ok(true, _) -> true |> Prop.label label
            | Ok(false, measured) -> false |> Prop.label label |> Prop.label ("measured: " + measured)
            | Error e -> lazy (raise e) |> Prop.label label)

    /// ||a - b|| <= rel * max(||b||, floor).
    let private close (rel: float) (floor: float) (a: torch.Tensor) (b: torch.Tensor) =
        Scope.scalar ((a - b).norm()) <= rel * max (Scope.scalar (b.norm())) floor

    /// The forward initialisation from `c`'s batch (states and predictions with graphs when `leaves`).
    let private forwardInit (c: Case) (leaves: bool) =
        use g = Rng.generator c.Spec.Seed cpu
        use st = new InitState(c.Spec.Outputs, 0L)
        InitApply.apply Init.forward st (InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g) leaves

    /// Forward initialisation reproduces the forward pass: every hidden error is exactly
    /// zero, so F = 0 with the output free and F = Loss(f(x), y), the BP loss, with it
    /// clamped, to the last bit (SPEC.md 1.1). Fails for a block whose forward is not a
    /// function of its input (dropout left active, batch statistics).
    let forwardInitialisation (model: ModelUnderTest) : Property =
        forAllMeasured model (fun c ->
            let init = forwardInit c false
            let free = Scope.scalar (Energy.spc c.Network init.States None)
            let clamped = Scope.scalar (Energy.spc c.Network init.States (Some c.Target))
            let bp = Scope.scalar (Energy.forwardLoss c.Network c.Input c.Target)
            free = 0.0 && clamped = bp,
            sprintf "F with the output free %.17g (expected 0), clamped %.17g, BP loss %.17g" free clamped bp)

    /// The state gradient inference descends on is the derivative of F: for states away
    /// from the forward pass and a random direction v, sum_l <dF/dh_l, v_l> by autograd
    /// equals the central difference (F(h + eps v) - F(h - eps v)) / 2 eps, eps = 1e-6, to
    /// 1e-6 relative (of max(|F|, 1)). Fails for a block whose hand-written backward is
    /// wrong, or an energy term whose gradient is.
    let stateGradient (model: ModelUnderTest) : Property =
        forAllMeasured model (fun c ->
            let net = c.Network
            use g = Rng.generator (Rng.derive c.Spec.Seed "states") cpu
            let shape l = Array.append [| int64 c.Spec.Batch |] (net.StateShape l)
            let states =
                Array.init net.Depth (fun l ->
                    if l = 0 then c.Input else torch.randn(shape l, dtype = c.Input.dtype, generator = g).requires_grad_(true))
            let F = Energy.spc net states (Some c.Target)
            let grads = torch.autograd.grad([| F |], states[1..]) |> Array.ofSeq
            let dirs = Array.init (net.Depth - 1) (fun i -> torch.randn(shape (i + 1), dtype = c.Input.dtype, generator = g))
            let analytic = Array.fold2 (fun acc (gr: torch.Tensor) (d: torch.Tensor) -> acc + Scope.scalar ((gr * d).sum())) 0.0 grads dirs
            let eps = 1e-6
            let at (sign: float) =
                use _ = torch.no_grad ()
                let moved = Array.init net.Depth (fun l -> if l = 0 then c.Input else Ops.plus (states[l].detach()) (Ops.mul dirs[l - 1] (sign * eps)))
                Scope.scalar (Energy.spc net moved (Some c.Target))
            let numeric = (at 1.0 - at -1.0) / (2.0 * eps)
            let limit = 1e-6 * max (abs (Scope.scalar F)) 1.0
            abs (numeric - analytic) <= limit,
            sprintf "autograd <dF/dh, v> %.17g, central difference %.17g, difference %.3g, limit %.3g" analytic numeric (abs (numeric - analytic)) limit)

    /// Small-step inference never raises the energy: 25 steps of size 0.01 of sPC and of
    /// ePC from the forward pass, from zero states and from N(0, 1) states give energies
    /// that never grow by more than 1e-12 relative (gradient descent below 2/curvature;
    /// float64 rounding).
    let descent (model: ModelUnderTest) : Property =
        forAllMeasured model (fun c ->
            let failures =
                [ for init in [ Init.forward; Init.zero; Init.random 0.0 1.0 ] do
                      for opts in [ InferenceOptions.spc 25 0.01; InferenceOptions.epc 25 0.01 ] do
                          use g = Rng.generator c.Spec.Seed cpu
                          use st = new InitState(c.Spec.Outputs, 0L)
                          let start = InitApply.apply init st (InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g) true
                          let r = Inference.run c.Network { opts with Record = true } start (Some c.Target) None
                          let final = Scope.scalar (Energy.spc c.Network r.States (Some c.Target))
                          let energies = Array.append r.Energies [| final |]
                          match energies |> Array.pairwise |> Array.tryFindIndex (fun (a, b) -> b > a + 1e-12 * abs a) with
                          | Some k ->
                              yield sprintf "%O from %O: the energy rose from %.17g to %.17g at step %d" opts.Reparam init energies[k] energies[k + 1] (k + 1)
                          | None -> () ]
            failures.IsEmpty, String.Join("; ", failures))

    /// The shrinks of a spec that `init` still fits: a split initializer names layers, so
    /// the number of hidden layers stays while it shrinks.
    let private shrinkFor (init: Initializer) (spec: NetSpec) =
        Generate.shrink spec |> Seq.filter (fun s -> init.Segments.Length = 1 || s.Widths.Length = spec.Widths.Length)

    /// A start for inference from `init` on an initializer state that has seen one
    /// batch (so that keep, avg and mem have something to recall): the batch is
    /// initialised, run for 2 dense steps and recorded, then initialised again.
    let private warmStart (c: Case) (init: Initializer) (st: InitState) (g: torch.Generator) =
        let ctx = InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g
        let warm = InitApply.apply init st ctx true
        let r = Inference.run c.Network { InferenceOptions.spc 2 0.1 with Dense = true } warm (Some c.Target) None
        st.Record(c.Network, init, r.States, Some c.Labels, ctx.Observation)
        InitApply.apply init st ctx true

    /// sPC's sparse inference (the default) gives what the dense reference path gives,
    /// from every initializer (`Generate.initializer`, after one recorded batch), for
    /// T = 1..7 steps of 0.05, momentum 0 and 0.5, with and without early stopping
    /// (tolerance 1e-3), clamped and free outputs: the same number of steps, and the same
    /// states, per-step and per-layer energies, update norms, final F and weight
    /// gradients to 1e-12 relative (float64 rounding of the same sums in another order).
    /// Fails for a block that is not a deterministic function of its input.
    let sparseMatchesDense (model: ModelUnderTest) : Property =
        let cases =
            gen {
                let! spec = Generate.netSpec
                let! init = Generate.initializer spec.Widths.Length
                let! steps = Gen.choose (1, 7)
                let! momentum = Gen.elements [ 0.0; 0.5 ]
                let! tolerance = Gen.elements [ None; Some 1e-3 ]
                let! free = Gen.elements [ false; false; true ]
                return spec, init, steps, momentum, tolerance, free
            }
        let shrinkCase (spec: NetSpec, init: Initializer, steps: int, momentum: float, tolerance: float option, free: bool) =
            seq {
                for s in shrinkFor init spec -> s, init, steps, momentum, tolerance, free
                if steps > 1 then yield spec, init, steps - 1, momentum, tolerance, free
                if momentum <> 0.0 then yield spec, init, steps, 0.0, tolerance, free
                if tolerance.IsSome then yield spec, init, steps, momentum, None, free
                if free then yield spec, init, steps, momentum, tolerance, false
            }
        Prop.forAll (Arb.fromGenShrink (cases, shrinkCase)) (fun (spec, init, steps, momentum, tolerance, free) ->
            let ok () =
                Scope.run (fun () ->
                    use c = Case.build model spec
                    use g = Rng.generator c.Spec.Seed cpu
                    use st = new InitState(c.Spec.Outputs, c.Spec.Seed)
                    let start = warmStart c init st g
                    let target = if free then None else Some c.Target
                    let opts = { InferenceOptions.spc steps 0.05 with Momentum = momentum; Tolerance = tolerance; Record = true }
                    let run (o: InferenceOptions) =
                        let r = Inference.run c.Network o start target None
                        let F = Learning.weightGradientsOf c.Network r target
                        r, F, Learning.gradients c.Network
                    let dense, fd, gd = run { opts with Dense = true }
                    let sparse, fs, gs = run opts
                    let near (a: float) b = abs (a - b) <= 1e-12 * max (abs b) 1e-300
                    let floats (a: float[]) (b: float[]) = a.Length = b.Length && Array.forall2 near a b
                    let tensors (a: torch.Tensor[]) (b: torch.Tensor[]) = a.Length = b.Length && Array.forall2 (close 1e-12 1e-300) a b
                    dense.Steps = sparse.Steps
                    && tensors sparse.States dense.States
                    && floats sparse.Energies dense.Energies
                    && Array.forall2 floats sparse.LayerEnergies dense.LayerEnergies
                    && Array.forall2 floats sparse.UpdateNorms dense.UpdateNorms
                    && near fs fd
                    && tensors gs gd)
            lazy (ok ()) |> Prop.label (sprintf "%s %O, init %O, T=%d, momentum %g, tolerance %A, free output %b" model.Name spec init steps momentum tolerance free))

    /// Inference leaves its start alone: from every initializer (after one recorded
    /// batch), 4 steps of 0.05 of sPC and of ePC, momentum 0 and 0.5, leave the initial
    /// states bit for bit as they were, so a second run from them gives bit for bit the
    /// same states. Fails for a block that writes into its input (an in-place activation).
    let initialisationUnchanged (model: ModelUnderTest) : Property =
        let cases = Gen.zip Generate.netSpec (Gen.elements [ 0.0; 0.5 ]) |> Gen.bind (fun (spec, m) -> Generate.initializer spec.Widths.Length |> Gen.map (fun i -> spec, i, m))
        let shrinkCase (spec: NetSpec, init: Initializer, momentum: float) =
            seq {
                for s in shrinkFor init spec -> s, init, momentum
                if momentum <> 0.0 then yield spec, init, 0.0
            }
        Prop.forAll (Arb.fromGenShrink (cases, shrinkCase)) (fun (spec: NetSpec, init: Initializer, momentum: float) ->
            let same (a: torch.Tensor) (b: torch.Tensor) = a.shape = b.shape && a.allclose(b, 0.0, 0.0)
            let failures = ResizeArray<string>()
            let ok () =
                Scope.run (fun () ->
                    use c = Case.build model spec
                    [ InferenceOptions.spc 4 0.05; InferenceOptions.epc 4 0.05 ]
                    |> List.forall (fun opts ->
                        use g = Rng.generator c.Spec.Seed cpu
                        use st = new InitState(c.Spec.Outputs, c.Spec.Seed)
                        let start = warmStart c init st g
                        let opts = { opts with Momentum = momentum }
                        let before = start.States |> Array.map (fun h -> h.detach().clone())
                        let run () = try Ok(Inference.run c.Network opts start (Some c.Target) None) with DivergenceError info -> Error info
                        let changed () =
                            before |> Array.mapi (fun l b -> l, b) |> Array.tryFind (fun (l, b) -> not (same b (start.States[l].detach())))
                        // A divergence is not a write into the start: each failure says which it is.
                        let fail (what: string) = failures.Add(sprintf "%O: %s" opts.Reparam what); false
                        match run () with
                        | Error info -> fail (sprintf "inference diverged (not a write into the start): %s" info.Message)
                        | Ok first ->
                            match changed () with
                            | Some(l, _) -> fail (sprintf "the first run wrote into the start's state %d" l)
                            | None ->
                                match run () with
                                | Error info -> fail (sprintf "the second run from the same start diverged: %s" info.Message)
                                | Ok second ->
                                    match Array.zip first.States second.States |> Array.tryFindIndex (fun (a, b) -> not (same a b)) with
                                    | Some l -> fail (sprintf "a second run from the same start ended in another state %d" l)
                                    | None -> true))
            match (try Ok(ok ()) with e -> Error e) with
            | Ok true -> true |> Prop.label (sprintf "%s %O, init %O, momentum %g" model.Name spec init momentum)
            | Ok false ->
                false |> Prop.label (sprintf "%s %O, init %O, momentum %g" model.Name spec init momentum) |> Prop.label (String.Join("; ", failures))
            | Error e -> lazy (raise e) |> Prop.label (sprintf "%s %O, init %O, momentum %g" model.Name spec init momentum))

    /// The gradients of each block's parameters, cloned.
    let private blockGradients (net: Network) : torch.Tensor[][] =
        [| for b in net.Blocks -> [| for p in b.Parameters -> if isNull p.grad then torch.zeros_like p else p.grad.clone() |] |]

    /// Weight gradients after inference from the forward pass.
    let private pcGradients (c: Case) (opts: InferenceOptions) =
        let init = forwardInit c true
        let r = Inference.run c.Network opts init (Some c.Target) None
        Learning.weightGradientsOf c.Network r (Some c.Target) |> ignore
        r, blockGradients c.Network

    /// One ePC step of size eta = 1e-7 from zero errors (the forward pass) gives every
    /// hidden block eta times its backpropagation gradient: e_l = -eta dLoss/dh_l exactly
    /// after one step, and the states below moved by O(eta). Tolerance 1e-4 relative (of
    /// max(||BP gradient||, 1e-2)), three orders above the O(eta) terms.
    let epcFirstStep (model: ModelUnderTest) : Property =
        forAll model (fun c ->
            let net = c.Network
            let eta = 1e-7
            Learning.backpropGradients net c.Input c.Target |> ignore
            let bp = blockGradients net
            let _, pc = pcGradients c (InferenceOptions.epc 1 eta)
            [ 0 .. net.Depth - 2 ]
            |> List.forall (fun i -> Array.forall2 (fun (a: torch.Tensor) b -> close 1e-4 1e-2 (Ops.div a eta) b) pc[i] bp[i]))

    /// sPC and ePC descend on the same energy: from the forward pass of a network with
    /// halved weights (strongly convex around it), 1500 steps of each (step 0.2, momentum
    /// 0.8) reach the same equilibrium (state distance below 1e-9) and give the same
    /// weight gradients there, to 1e-5 relative (of max(||g||, 1e-8)). The activation is
    /// tanh for every case.
    let spcEpcEquilibrium (model: ModelUnderTest) : Property =
        let specs = Generate.netSpecsWith (fun s -> { s with Activation = Activation.Tanh })
        Prop.forAll specs (onCase model (fun c ->
            let net = c.Network
            do
                use _ = torch.no_grad ()
                use half = (0.5).ToScalar()
                for p in net.Parameters do p.mul_(half) |> ignore
            let opts r = { InferenceOptions.spc 1500 0.2 with Momentum = 0.8; Reparam = r; DivergenceFactor = infinity }
            let s, gs = pcGradients c (opts Reparam.States)
            let e, ge = pcGradients c (opts Reparam.Errors)
            Equilibrium.distance s.States e.States < 1e-9
            && Array.forall2 (Array.forall2 (close 1e-5 1e-8)) gs ge))

    /// `keep` recalls the states it was given: after inference on a batch and recording
    /// them, initialising the same batch with `keep` gives exactly those final states.
    let keepRecalls (model: ModelUnderTest) : Property =
        forAll model (fun c ->
            use g = Rng.generator c.Spec.Seed cpu
            use st = new InitState(c.Spec.Outputs, 0L)
            let ctx = InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g
            let first = InitApply.apply Init.keep st ctx true
            let r = Inference.run c.Network (InferenceOptions.spc 3 0.05) first (Some c.Target) None
            st.Record(c.Network, Init.keep, r.States, Some c.Labels, None)
            let next = InitApply.apply Init.keep st ctx false
            Array.forall2 (fun (a: torch.Tensor) (b: torch.Tensor) -> a.allclose(b, rtol = 0.0, atol = 0.0)) next.States[1..] r.States[1..])

    /// The stream average gives every sample of a class the mean of that class's final
    /// states in the previous batch, in every hidden layer (a mean of at most 5 values:
    /// 1e-12 relative, or 1e-14 absolute near zero).
    let streamAverageRecalls (model: ModelUnderTest) : Property =
        forAll model (fun c ->
            use g = Rng.generator c.Spec.Seed cpu
            use st = new InitState(c.Spec.Outputs, 0L)
            let ctx = InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g
            let r = Inference.run c.Network (InferenceOptions.spc 3 0.05) (InitApply.apply Init.forward st ctx true) (Some c.Target) None
            st.Record(c.Network, Init.streamAverage, r.States, Some c.Labels, None)
            let next = InitApply.apply Init.streamAverage st ctx false
            let ls = c.Labels.data<int64>().ToArray()
            [ for l in 1 .. c.Network.Depth - 1 do
                  for k in Array.distinct ls do
                      let members = [| for i in 0 .. ls.Length - 1 do if ls[i] = k then int64 i |]
                      let mean = r.States[l].index_select(0L, torch.tensor members).mean([| 0L |])
                      for i in members do
                          let d = next.States[l][i] - mean
                          yield Scope.scalar (d.norm()) <= 1e-12 * Scope.scalar (mean.norm()) || Scope.scalar (d.abs().max()) < 1e-14 ]
            |> List.forall id)

    /// A memory's first recall is the forward pass: on the first batch, `mem` with at
    /// least as many slots as samples (16 slots, delta 1, embedding 16) sets its values to
    /// V = pinv(A) H_forward, and A (n x p softmax rows of n distinct observations, n <= p)
    /// has full row rank, so A pinv(A) = I and every recalled hidden state equals the
    /// forward state to 1e-8 relative (rounding of the pseudo-inverse).
    let memoryStart (model: ModelUnderTest) : Property =
        forAll model (fun c ->
            use g = Rng.generator c.Spec.Seed cpu
            use st = new InitState(c.Spec.Outputs, c.Spec.Seed)
            let ctx = InitContext.supervised c.Network c.Input c.Labels c.Spec.Outputs g
            let mem = Init.memory { MemorySpec.Default with Slots = 16; Delta = 1.0; Embedding = 16 }
            let recalled = InitApply.apply mem st ctx false
            let fw = InitApply.apply Init.forward st ctx false
            [ 1 .. c.Network.Depth - 1 ] |> List.forall (fun l -> close 1e-8 1e-300 recalled.States[l] fw.States[l]))

    /// Linear chains with a squared-error output (the spec's activation and loss are
    /// replaced): the closed-form equilibrium `Equilibrium.linear` is a critical point of
    /// F (every state gradient below 1e-10, rounding of a well-conditioned system).
    let linearEquilibrium: Property =
        let specs = Generate.netSpecsWith (fun s -> { s with Activation = Activation.Identity; Loss = Loss.SquaredError })
        Prop.forAll specs (onCase Model.mlp (fun c ->
            let exact = Equilibrium.linear c.Network c.Input c.Target
            let leaves = exact |> Array.mapi (fun i h -> if i = 0 then h else h.detach().requires_grad_(true))
            let F = Energy.spc c.Network leaves (Some c.Target)
            torch.autograd.grad([| F |], leaves[1..]) |> Seq.forall (fun g -> Scope.scalar (g.abs().max()) < 1e-10)))

    /// Heavy-ball settings with the optimal rate for curvatures in [lo, hi].
    let private heavyBall (lo: float) (hi: float) (steps: int) (reparam: Reparam) =
        let a = 4.0 / (sqrt hi + sqrt lo) ** 2.0
        let k = sqrt (hi / lo)
        let mu = ((k - 1.0) / (k + 1.0)) ** 2.0
        { InferenceOptions.spc steps a with Momentum = mu; Reparam = reparam; DivergenceFactor = infinity }

    /// The extreme eigenvalues of the symmetric part of `m`.
    let private extremes (m: torch.Tensor) =
        let ev = torch.linalg.eigvalsh(Ops.mul (m + m.t()) 0.5)
        Scope.scalar (ev.min()), Scope.scalar (ev.max())

    /// Linear chains with a squared-error output (the spec's activation and loss are
    /// replaced): sPC and ePC, each with heavy ball at the optimal rate for its own
    /// Hessian (H for the states, B^-T H B^-1 for the errors, `Equilibrium.hessian` and
    /// `Equilibrium.errorMap`), reach the closed-form equilibrium in 1000 steps (state
    /// distance below 1e-9), and both give the weight gradients of that equilibrium to
    /// 1e-6 relative (of max(||g||, 1e-8)): sPC and ePC learn alike, exactly, where the
    /// equilibrium is known in closed form.
    let linearChains: Property =
        let specs = Generate.netSpecsWith (fun s -> { s with Activation = Activation.Identity; Loss = Loss.SquaredError })
        Prop.forAll specs (onCase Model.mlp (fun c ->
            let net = c.Network
            let exact = Equilibrium.linear net c.Input c.Target
            let H = Equilibrium.hessian net
            let Binv = torch.linalg.inv(Equilibrium.errorMap net)
            let slo, shi = extremes H
            let elo, ehi = extremes (Binv.t().mm(H).mm(Binv))
            let s, gs = pcGradients c (heavyBall slo shi 1000 Reparam.States)
            let e, ge = pcGradients c (heavyBall elo ehi 1000 Reparam.Errors)
            Learning.weightGradients net exact None (Some c.Target) |> ignore
            let go = blockGradients net
            Equilibrium.distance s.States exact < 1e-9
            && Equilibrium.distance e.States exact < 1e-9
            && Array.forall2 (Array.forall2 (close 1e-6 1e-8)) gs go
            && Array.forall2 (Array.forall2 (close 1e-6 1e-8)) ge go))

    /// Every invariant of this kit for a model, by name (for runners that list them).
    let all (model: ModelUnderTest) : (string * Property) list =
        [ "forward initialisation: F = 0 free, F = BP loss clamped", forwardInitialisation model
          "the state gradient is the derivative of F (central differences)", stateGradient model
          "small-step inference never raises F (sPC and ePC)", descent model
          "inference leaves its start unchanged", initialisationUnchanged model
          "sparse sPC inference equals the dense path", sparseMatchesDense model
          "one ePC step from zero errors gives eta times the BP gradient", epcFirstStep model
          "sPC and ePC reach the same equilibrium with the same weight gradients", spcEpcEquilibrium model
          "keep recalls the last batch's final states", keepRecalls model
          "the stream average recalls each class's mean state", streamAverageRecalls model
          "a memory's first recall is the forward pass", memoryStart model ]
