/// Inference: T steps of gradient descent on the energy, either on the states
/// (sPC, SPEC.md 1.1) or on the errors of the perturbed forward pass (ePC,
/// SPEC.md 1.4). Both are the same energy under two parameterisations.
namespace Hybrid

open System
open TorchSharp

/// Which variables inference descends on.
[<RequireQualifiedAccess>]
type Reparam =
    /// sPC: the hidden states h_1..h_{L-1}.
    | States
    /// ePC: the errors e_1..e_{L-1} of h_l = f(h_{l-1}) + e_l; dE/de by backpropagation.
    | Errors

    override this.ToString() =
        match this with
        | States -> "spc"
        | Errors -> "epc"

/// Inference settings.
type InferenceOptions =
    { /// T, the number of steps (at least 1).
      Steps: int
      /// Step size alpha (sPC) or eta (ePC).
      StepSize: float
      /// Heavy-ball momentum on the variables (0: plain SGD).
      Momentum: float
      /// Stop early when the relative energy change of a step falls below this.
      Tolerance: float option
      /// Record per-step energies, per-layer energies and per-layer update norms.
      Record: bool
      /// Which variables to descend on.
      Reparam: Reparam
      /// The energy may not exceed this multiple of its starting value (divergence); ePC's
      /// may not exceed the smaller of this and 10 times it once above 1 (its errors start at
      /// zero and descend). Infinity turns both checks off (non-finite energies still diverge).
      DivergenceFactor: float
      /// Whether h_0 is a free variable too (generative models).
      InputFree: bool
      /// sPC only: recompute every prediction, error and vector-Jacobian product at every
      /// step (the reference path). By default sPC recomputes only what can have changed.
      Dense: bool }

    /// Checks the settings; the message names the bad value.
    member this.Validate() =
        if this.Steps < 1 then invalidArg "T" (sprintf "the number of inference steps T must be at least 1, got %d" this.Steps)
        if not (this.StepSize > 0.0 && Double.IsFinite this.StepSize) then
            invalidArg "stepSize" (sprintf "the inference step size must be positive and finite, got %g" this.StepSize)
        if not (this.Momentum >= 0.0 && this.Momentum < 1.0) then invalidArg "momentum" (sprintf "inference momentum must be in [0,1), got %g" this.Momentum)
        match this.Tolerance with
        | Some t when not (t > 0.0 && Double.IsFinite t) -> invalidArg "tolerance" (sprintf "the early-stop tolerance must be positive and finite, got %g" t)
        | _ -> ()
        // Infinity: never stop for growth (studies that trace an unstable step size).
        if not (this.DivergenceFactor >= 1.0) then
            invalidArg "divergenceFactor" (sprintf "the divergence factor must be at least 1 (the energy may not grow past that multiple of its start), got %g" this.DivergenceFactor)
        if this.Reparam = Reparam.Errors && this.InputFree then
            invalidArg "reparam" "ePC needs a clamped input (a forward pass from h_0); use sPC for generative models"
        // The dense path is sPC's reference; ePC has one path (every step is a full sweep).
        if this.Reparam = Reparam.Errors && this.Dense then
            invalidArg "dense" "dense applies to sPC (reparam spc): ePC has a single path, a full forward and backward sweep per step"

module InferenceOptions =
    /// T steps of plain SGD with step size `stepSize` on the states.
    let spc (steps: int) (stepSize: float) =
        { Steps = steps
          StepSize = stepSize
          Momentum = 0.0
          Tolerance = None
          Record = false
          Reparam = Reparam.States
          DivergenceFactor = 1e4
          InputFree = false
          Dense = false }

    /// T steps of plain SGD with step size `stepSize` on the errors.
    let epc (steps: int) (stepSize: float) = { spc steps stepSize with Reparam = Reparam.Errors }

/// What made a run diverge, by what can be done about it.
[<RequireQualifiedAccess>]
type DivergenceCause =
    /// Inference grew the energy or made it non-finite: its step size is too large.
    | StepSize
    /// The energy was already non-finite when inference started: the weights (or the inputs) are.
    | Start
    /// A weight update made the loss or the energy non-finite: the weight learning rate is too large.
    | LearningRate of learningRate: float

/// Where and why a run diverged.
type DivergenceInfo =
    { /// The hidden layer (1-based; L for the output term) whose energy is bad, when one is.
      Layer: int option
      /// The inference step (1-based; 0 for backpropagation).
      Step: int
      /// The training batch (0-based), when known.
      Batch: int option
      /// The energy (or loss) that was seen.
      Energy: float
      /// The inference step size in use (0 for backpropagation).
      StepSize: float
      /// The reparameterisation in use.
      Reparam: Reparam
      /// What made it diverge.
      Cause: DivergenceCause
      /// The block that turned finite states into non-finite predictions ("block 1
      /// (name)"), when one did.
      Block: string option }

    member this.Message =
        let where =
            match this.Layer with
            | Some l -> sprintf " in layer %d" l
            | None -> ""
        let batch =
            match this.Batch with
            | Some b -> sprintf ", batch %d" b
            | None -> ""
        let name = if this.Reparam = Reparam.Errors then "eta" else "alpha"
        let culprit = this.Block |> Option.map (fun b -> sprintf "%s turned finite inputs into non-finite values" b)
        let text =
            match this.Cause with
            | DivergenceCause.LearningRate lr ->
                sprintf "training diverged: the loss is not finite (%g)%s after a weight update with learning rate %g; lower the learning rate"
                    this.Energy batch lr
            | DivergenceCause.Start ->
                sprintf "%O inference cannot start: the energy is not finite (%g)%s%s before any step; %s"
                    this.Reparam this.Energy where batch (defaultArg culprit "the weights or the inputs are not finite")
            | DivergenceCause.StepSize when Double.IsFinite this.Energy ->
                let largest = match this.Layer with Some l -> sprintf " (its largest term in layer %d)" l | None -> ""
                sprintf "%O inference diverged: the energy grew to %g%s at step %d%s with step size %s = %g; lower it"
                    this.Reparam this.Energy largest this.Step batch name this.StepSize
            | DivergenceCause.StepSize ->
                sprintf "%O inference diverged: non-finite energy (%g)%s at step %d%s with step size %s = %g; lower it"
                    this.Reparam this.Energy where this.Step batch name this.StepSize
        match culprit, this.Cause with
        | Some c, (DivergenceCause.LearningRate _ | DivergenceCause.StepSize) -> text + "; " + c
        | _ -> text

/// Inference (or training) left the finite, bounded region.
exception DivergenceError of DivergenceInfo with
    override this.Message = this.Data0.Message

/// The outcome of inference.
type InferenceResult =
    { /// Final states, detached: L entries, the input first.
      States: Tensor[]
      /// Predictions at the final states with their graph to the parameters, when
      /// inference computed them on the way (ePC's closing sweep); else None.
      Predictions: Tensor[] option
      /// Steps actually run (early stop may end before T).
      Steps: int
      /// F at the start of each step (recorded runs only).
      Energies: float[]
      /// Per step, the energy terms (hidden layers, then the output; recorded runs only).
      LayerEnergies: float[][]
      /// Per step, ||h_l^(t) - h_l^(t-1)|| for each hidden layer (recorded runs only; index 0 is h_0 when it is free).
      UpdateNorms: float[][]
      /// Block products inference computed: block evaluations (predictions) and
      /// vector-Jacobian products to the states, including the final predictions it hands
      /// to the weight update (`Predictions`). Matrix products for an MLP.
      Products: int
      /// Blocks whose weight gradient can be nonzero at the final states (those whose
      /// output's energy term is not known to be exactly zero); the weight update
      /// computes one product for each.
      LiveBlocks: int
      /// The energy terms at the final states (hidden layers, then the output), with
      /// their graph to the parameters where they can be nonzero, when inference
      /// computed them (sPC's sparse path); else None.
      Terms: Tensor[] option }

/// Gradient descent with optional heavy-ball momentum on a set of variables,
/// updated in place: v <- momentum v + g; x <- x - stepSize v. Owns its velocities.
type private Descent(count: int, stepSize: float, momentum: float) =
    let velocity: Tensor[] = Array.zeroCreate count
    // Scalars passed to native calls are held here so the GC cannot free them mid-call.
    let mom = momentum.ToScalar()
    let negStep = (-stepSize).ToScalar()

    /// Applies one step (call under no_grad); returns the update norms when asked.
    member _.Step(vars: Tensor[], grads: Collections.Generic.IList<Tensor>, norms: bool) : float[] =
        let out = Array.zeroCreate vars.Length
        for i in 0 .. vars.Length - 1 do
            let g = grads[i]
            if not (isNull g) then
                let update =
                    if momentum > 0.0 then
                        if isNull velocity[i] then velocity[i] <- g.clone().DetachFromDisposeScope()
                        else velocity[i].mul_(mom).add_(g) |> ignore
                        velocity[i]
                    else g
                vars[i].add_(update, alpha = negStep) |> ignore
                if norms then out[i] <- stepSize * Scope.scalar (update.norm())
        out

    /// Whether variable `i` has a velocity (momentum carries it on without a gradient).
    member _.HasVelocity(i: int) = momentum > 0.0 && not (isNull velocity[i])

    /// One step on the variables marked in `moving` (call under no_grad); a null
    /// gradient is an exact zero: the variable then moves only by its velocity, and
    /// not at all without one. The same arithmetic as `Step` with zero gradients.
    member _.StepSome(vars: Tensor[], grads: Tensor[], moving: bool[], norms: bool) : float[] =
        let out = Array.zeroCreate vars.Length
        for i in 0 .. vars.Length - 1 do
            if moving[i] then
                let g = grads[i]
                let update =
                    if momentum > 0.0 then
                        if isNull velocity[i] then
                            if not (isNull g) then velocity[i] <- g.clone().DetachFromDisposeScope()
                        elif isNull g then velocity[i].mul_(mom) |> ignore
                        else velocity[i].mul_(mom).add_(g) |> ignore
                        velocity[i]
                    else g
                if not (isNull update) then
                    vars[i].add_(update, alpha = negStep) |> ignore
                    if norms then out[i] <- stepSize * Scope.scalar (update.norm())
        out

    interface IDisposable with
        member _.Dispose() =
            for v in velocity do
                if not (isNull v) then v.Dispose()
            mom.Dispose()
            negStep.Dispose()

/// Per-run bookkeeping of inference: the energy of each step, its check against
/// divergence, and the optional per-step records.
type private EnergyLog(opts: InferenceOptions, batch: int option, check: InferenceOptions -> int option -> int -> float -> Tensor[] -> float -> unit) =
    let energies = ResizeArray<float>()
    let layerEnergies = ResizeArray<float[]>()
    let mutable start = nan

    /// The total energy of step `t`'s terms, checked and recorded; returns it and its value.
    member this.Observe(t: int, terms: Tensor[]) = this.Observe(t, terms, Energy.total terms)

    /// `Observe` with the total already summed (of the terms that are not known zeros).
    member _.Observe(t: int, terms: Tensor[], total: Tensor) =
        let value = Scope.scalar total
        if t = 1 then start <- value
        check opts batch t start terms value
        if opts.Record then
            energies.Add value
            layerEnergies.Add(Energy.values terms)
        total, value

    member _.Energies = energies.ToArray()
    member _.LayerEnergies = layerEnergies.ToArray()

module Inference =
    /// Refuses a prediction mu_{i+1} = f_i(h_i) without an autograd graph when its input
    /// is a free state or its block has trainable parameters: the block's forward ran
    /// under no_grad or detached its output, and inference would descend on a wrong
    /// gradient (or libtorch would end the process on differentiating it).
    let private requireGraph (net: Network) (i: int) (input: Tensor) (mu: Tensor) = Network.requireGraph net i input mu "inference"

    /// dF/dvars by autograd. libtorch ends the process on a gradient of a tensor without
    /// a graph, so that is refused with a named error first; a variable F does not
    /// depend on gets null (an exact zero), never an undefined tensor.
    let private gradientsOf (F: Tensor) (vars: Tensor[]) (retain: bool) : Tensor[] =
        if not F.requires_grad || vars |> Array.exists (fun v -> not v.requires_grad) then
            invalidOp "the energy has no autograd graph to the free states (a block's forward ran under no_grad, detached its output or wrote into its input): inference needs its gradient"
        torch.autograd.grad([| F |], vars, retain_graph = retain, allow_unused = true)
        |> Seq.map (fun g -> if isNull g || g.IsInvalid then null else g)
        |> Array.ofSeq

    /// ePC's energy may not grow past this multiple of its value at step 1 (nor past 1): from
    /// the forward pass the errors start at zero and descend, so growth means the error step
    /// is too large, long before the general divergence factor sees it.
    let private epcGrowth = 10.0

    let private check (opts: InferenceOptions) (batch: int option) (step: int) (first: float) (terms: Tensor[]) (value: float) =
        let grown =
            opts.Reparam = Reparam.Errors && not (Double.IsPositiveInfinity opts.DivergenceFactor)
            && step > 1 && value > 1.0 && value > min opts.DivergenceFactor epcGrowth * first
        let bad = not (Double.IsFinite value) || (step > 1 && value > opts.DivergenceFactor * max first 1e-12) || grown
        if bad then
            let vs = Energy.values terms
            let layer =
                if Double.IsFinite value then
                    // The layer whose energy term is largest: where the growth is.
                    if vs.Length = 0 then None else Some(1 + (vs |> Array.indexed |> Array.maxBy snd |> fst))
                else vs |> Array.tryFindIndex (fun v -> not (Double.IsFinite v)) |> Option.map (fun i -> i + 1)
            let cause = if step = 1 && not (Double.IsFinite value) then DivergenceCause.Start else DivergenceCause.StepSize
            raise (DivergenceError { Layer = layer; Step = step; Batch = batch; Energy = value; StepSize = opts.StepSize; Reparam = opts.Reparam; Cause = cause; Block = None })

    let private converged (opts: InferenceOptions) (previous: float) (current: float) =
        match opts.Tolerance with
        | Some tol -> abs (previous - current) <= tol * max (abs previous) 1e-30
        | None -> false

    /// The end of an sPC step: records its update norms (recorded runs), shows the states
    /// to the observer; true when inference stops (converged, or the observer asks).
    let private finishStep (opts: InferenceOptions) (norms: ResizeArray<float[]>) (stepNorms: float[]) (observe: (int -> Tensor[] -> bool) option)
                           (t: int) (hs: Tensor[]) (previous: float) (value: float) =
        if opts.Record then norms.Add stepNorms
        let asked =
            match observe with
            | Some f -> f t (hs |> Array.map (fun h -> h.detach()))
            | None -> false
        converged opts previous value || asked

    /// sPC: SGD on the states from `init`. Inference descends on its own copies of the
    /// free states: `init` is never changed and can be run again. The first step may
    /// reuse the forward sweep's predictions, whose graph leads to `init`'s states: it
    /// is differentiated with respect to those (the same values), keeping their graph.
    let private states (net: Network) (opts: InferenceOptions) (init: InitResult) (target: Tensor option) (batch: int option) (observe: (int -> Tensor[] -> bool) option) =
        let L = net.Depth
        let first = if opts.InputFree then 0 else 1
        let hs = init.States |> Array.mapi (fun l h -> if l < first then h else h.detach().clone().requires_grad_(true))
        let vars = hs[first..]
        let initVars = init.States[first..]
        let reuse =
            not opts.InputFree
            && init.Predictions |> Array.exists Option.isSome
            && initVars |> Array.forall (fun h -> h.requires_grad && h.is_leaf)
        use descent = new Descent(vars.Length, opts.StepSize, opts.Momentum)
        let log = EnergyLog(opts, batch, check)
        let norms = ResizeArray()
        let mutable previous = nan
        let mutable steps = 0
        let mutable stop = false
        let mutable products = 0
        while not stop && steps < opts.Steps do
            let t = steps + 1
            use _ = torch.NewDisposeScope()
            let fromInit = t = 1 && reuse
            let at = if fromInit then init.States else hs
            let mus =
                Array.init L (fun i ->
                    match init.Predictions[i] with
                    | Some p when fromInit -> p
                    | _ ->
                        products <- products + 1
                        net.Blocks[i].Forward at[i])
            if t = 1 then mus |> Array.iteri (fun i mu -> requireGraph net i at[i] mu)
            products <- products + (L - first)
            let F, value = log.Observe(t, Energy.terms net at mus target)
            let grads = if fromInit then gradientsOf F initVars true else gradientsOf F vars false
            use _ = torch.no_grad ()
            let stepNorms = descent.Step(vars, grads, opts.Record)
            steps <- t
            stop <- finishStep opts norms stepNorms observe t hs previous value
            previous <- value
        { States = hs |> Array.map (fun h -> h.detach())
          Predictions = None
          Steps = steps
          Energies = log.Energies
          LayerEnergies = log.LayerEnergies
          UpdateNorms = norms.ToArray()
          // The weight update computes every prediction again.
          Products = products + L
          LiveBlocks = if target.IsSome then L else L - 1
          Terms = None }

    /// What sparse sPC knows between steps: the states, the predictions it keeps, which
    /// of them are fresh (their input has not moved) and have their graph, which errors
    /// are known to be exactly zero, and the products computed. Each step of the sparse
    /// path is one of its members, in order: `Refresh`, `FindZeroErrors`, `GraphLive`,
    /// `Terms`, `Gradients`, `Move`; `Result` ends inference. Tensors that live across
    /// steps are kept out of the per-step scopes and disposed with it.
    type private SparseState(net: Network, opts: InferenceOptions, init: InitResult, target: Tensor option) =
        let L = net.Depth
        let first = if opts.InputFree then 0 else 1
        let nv = L - first
        // (By reference: a Tensor's Equals compares values.)
        let owned = Collections.Generic.HashSet<Tensor>(HashIdentity.Reference)
        let keep (t: Tensor) =
            t.DetachFromDisposeScope() |> ignore
            owned.Add t |> ignore
            t
        // The states: init's own tensors until they first move (init's predictions have
        // their graphs to them; init is never changed), private copies after.
        let hs =
            init.States
            |> Array.mapi (fun l h -> if l < first || (h.requires_grad && h.is_leaf) then h else keep (h.detach().requires_grad_(true)))
        let copied = Array.create L false
        // mus[i] = f_i(h_i): `fresh` while h_i has not moved; `graphed` when its graph leads to hs[i].
        let mus: Tensor[] = Array.zeroCreate L
        let fresh = Array.create L false
        let graphed = Array.create L false
        do
            for i in 0 .. L - 1 do
                match init.Predictions[i] with
                | Some p ->
                    requireGraph net i init.States[i] p
                    mus[i] <- p
                    fresh[i] <- true
                    graphed[i] <- i < first || (obj.ReferenceEquals(hs[i], init.States[i]) && hs[i].requires_grad)
                | None -> ()
        // For hidden layer l: `zero` when e_l is known to be exactly zero; `known` once that
        // was checked. A layer that moves makes its error and the one above it count as
        // nonzero without a check: at worst that computes exact zeros, as the dense path does.
        let zero = Array.create L false
        let known = Array.create L false
        let mutable products = 0
        let predict (i: int) =
            if owned.Remove mus[i] then mus[i].Dispose()
            mus[i] <- keep (net.Blocks[i].Forward hs[i])
            requireGraph net i hs[i] mus[i]
            fresh[i] <- true
            graphed[i] <- true
            products <- products + 1
        let live (l: int) = if l = L then target.IsSome else not zero[l]
        // The value of a term known to be zero.
        let nothing = keep (torch.zeros([||], dtype = net.Precision.ScalarType, device = net.Device))

        /// The free variables' count.
        member _.Count = nv
        /// The states now (valid until the next `Move`).
        member _.States = hs

        /// Predictions whose input moved (or that init did not make).
        member _.Refresh() =
            for i in 0 .. L - 1 do
                if not fresh[i] then predict i

        /// Which errors are exactly zero, checked once for each new h_l, mu_l. A state that
        /// is its prediction's own storage (a forward initialisation) needs no pass; else
        /// |h_l - mu_l| <= 0 elementwise, exactly when h_l - mu_l is zero.
        member _.FindZeroErrors() =
            for l in 1 .. L - 1 do
                if not known[l] then
                    zero[l] <- Scope.sameData hs[l] mus[l - 1] || hs[l].allclose(mus[l - 1], rtol = 0.0, atol = 0.0)
                    known[l] <- true

        /// A product through block l needs its prediction's graph from hs[l].
        member _.GraphLive() =
            for l in first .. L - 1 do
                if live (l + 1) && not graphed[l] then predict l

        /// The energy's terms (zeros where the error is known to be zero), and the live ones.
        member _.Terms() =
            let terms =
                Array.init L (fun i ->
                    let l = i + 1
                    if l = L then
                        match target with
                        | Some y -> Network.outputLoss net.Loss mus[L - 1] y
                        | None -> nothing
                    elif zero[l] then nothing
                    else Ops.halfSquaredNorm (Ops.minus hs[l] mus[l - 1]))
            let liveTerms = [| for l in 1 .. L do if live l then yield terms[l - 1] |]
            terms, (if liveTerms.Length = 0 then nothing else Energy.total liveTerms), liveTerms.Length > 0

        /// dF/dh_l = e_l - J_l^T e_{l+1}: only the live terms contribute (null: exactly zero).
        member _.Gradients(liveTotal: Tensor, anyLive: bool) =
            let needs = [| for l in first .. L - 1 do if (l >= 1 && live l) || live (l + 1) then yield l |]
            let grads: Tensor[] = Array.zeroCreate nv
            if needs.Length > 0 && anyLive then
                let gs = gradientsOf liveTotal (needs |> Array.map (fun l -> hs[l])) true
                needs |> Array.iteri (fun k l -> grads[l - first] <- gs[k])
                products <- products + (needs |> Array.filter (fun l -> live (l + 1)) |> Array.length)
            grads

        /// One descent step on the states that move (a gradient, or velocity left); a state
        /// that moves gets a private copy first, and its prediction and the errors beside
        /// it are no longer known. Returns the step's update norms.
        member _.Move(descent: Descent, grads: Tensor[]) =
            use _ = torch.no_grad ()
            let moving = Array.init nv (fun k -> not (isNull grads[k]) || descent.HasVelocity k)
            for k in 0 .. nv - 1 do
                let l = k + first
                if moving[k] then
                    if not copied[l] then
                        hs[l] <- keep (hs[l].detach().clone().requires_grad_(true))
                        copied[l] <- true
                    fresh[l] <- false
                    if l >= 1 then zero[l] <- false
                    if l + 1 < L then zero[l + 1] <- false
            descent.StepSome(hs[first..], grads, moving, opts.Record)

        /// The predictions the weight update needs, at the final states: with their graph to
        /// the parameters for the blocks whose term can be nonzero, plain values for the
        /// others (their errors are exactly zero: so are their weight gradients); and the
        /// energy terms there, which the weight update differentiates.
        member _.Result(steps: int, log: EnergyLog, norms: ResizeArray<float[]>) : InferenceResult =
            let liveBlock i = if i = L - 1 then target.IsSome else not zero[i + 1]
            let finals =
                Array.init L (fun i ->
                    if liveBlock i then
                        products <- products + 1
                        net.Blocks[i].Forward(hs[i].detach())
                    elif fresh[i] then mus[i].detach()
                    else
                        products <- products + 1
                        using (torch.no_grad ()) (fun _ -> net.Blocks[i].Forward(hs[i].detach())))
            let finalTerms =
                Array.init L (fun i ->
                    if i = L - 1 then
                        match target with
                        | Some y -> Network.outputLoss net.Loss finals[L - 1] y
                        | None -> torch.zeros([||], dtype = net.Precision.ScalarType, device = net.Device)
                    elif liveBlock i then Ops.halfSquaredNorm (Ops.minus (hs[i + 1].detach()) finals[i])
                    else torch.zeros([||], dtype = net.Precision.ScalarType, device = net.Device))
            { States = hs |> Array.map (fun h -> h.detach())
              Predictions = Some finals
              Steps = steps
              Energies = log.Energies
              LayerEnergies = log.LayerEnergies
              UpdateNorms = norms.ToArray()
              Products = products
              LiveBlocks = Array.init L liveBlock |> Array.filter id |> Array.length
              Terms = Some finalTerms }

        interface IDisposable with
            member _.Dispose() =
                for t in owned do t.Dispose()

    /// sPC on the sparse path: the same iterates as `states`, computing only what can
    /// differ. Per block it keeps the prediction mu_{i+1} = f_i(h_i) with its graph while
    /// h_i has not moved; per hidden layer it knows when the error e_l = h_l - mu_l is
    /// exactly zero (checked when first computed, kept while neither h_l nor mu_l moves).
    /// A zero error adds exact zeros to F and to every gradient, so its term, the
    /// vector-Jacobian product through its block and that block's weight gradient are
    /// skipped; a state whose gradient is exactly zero and that has no velocity does not
    /// move, so the prediction from it stays valid. After a forward initialisation only
    /// the output error is nonzero and the change travels down one layer per step (the
    /// signal decay of the ePC paper, seen from the other side). Blocks must be
    /// deterministic functions of their input (no dropout, no batch statistics).
    let private sparseStates (net: Network) (opts: InferenceOptions) (init: InitResult) (target: Tensor option) (batch: int option) (observe: (int -> Tensor[] -> bool) option) =
        use state = new SparseState(net, opts, init, target)
        use descent = new Descent(state.Count, opts.StepSize, opts.Momentum)
        let log = EnergyLog(opts, batch, check)
        let norms = ResizeArray()
        let mutable previous = nan
        let mutable steps = 0
        let mutable stop = false
        while not stop && steps < opts.Steps do
            let t = steps + 1
            use _ = torch.NewDisposeScope()
            state.Refresh()
            state.FindZeroErrors()
            state.GraphLive()
            let terms, liveTotal, anyLive = state.Terms()
            let _, value = log.Observe(t, terms, liveTotal)
            let grads = state.Gradients(liveTotal, anyLive)
            let stepNorms = state.Move(descent, grads)
            steps <- t
            stop <- finishStep opts norms stepNorms observe t state.States previous value
            previous <- value
        state.Result(steps, log, norms)

    /// ePC: SGD on the errors, starting from e_l = h_l^(0) - f(h_{l-1}^(0)).
    let private errors (net: Network) (opts: InferenceOptions) (init: InitResult) (target: Tensor option) (batch: int option) (observe: (int -> Tensor[] -> bool) option) =
        let L = net.Depth
        let x = init.States[0]
        let mutable initial = 0
        let es =
            use _ = torch.no_grad ()
            Array.init (L - 1) (fun i ->
                let mu =
                    match init.Predictions[i] with
                    | Some p -> p.detach()
                    | None ->
                        initial <- initial + 1
                        net.Blocks[i].Forward init.States[i]
                (Ops.minus (init.States[i + 1].detach()) mu).detach().requires_grad_(true))
        use descent = new Descent(es.Length, opts.StepSize, opts.Momentum)
        let log = EnergyLog(opts, batch, check)
        let norms = ResizeArray()
        let mutable before: Tensor[] = if opts.Record then init.States |> Array.skip 1 |> Array.map (fun h -> h.detach()) else [||]
        let mutable previous = nan
        let mutable steps = 0
        let mutable stop = false
        while not stop && steps < opts.Steps do
            let t = steps + 1
            use _ = torch.NewDisposeScope()
            let hs, mus = Energy.statesOfErrors net x es false
            let E, value = log.Observe(t, Energy.epcTerms net es mus[L - 1] target)
            if t = 1 then mus |> Array.iteri (fun i mu -> requireGraph net i hs[i] mu)
            let grads = gradientsOf E es false
            use _ = torch.no_grad ()
            descent.Step(es, grads, false) |> ignore
            if opts.Record || observe.IsSome then
                let after, _ = Energy.statesOfErrors net x es true
                if opts.Record then
                    let h = after |> Array.skip 1
                    norms.Add(Array.map2 (fun (a: Tensor) (b: Tensor) -> Scope.scalar ((Ops.minus a b).norm())) h before)
                    before <- h |> Array.map (fun t -> t.MoveToOuterDisposeScope())
                match observe with
                | Some f -> if f t after then stop <- true
                | None -> ()
            steps <- t
            if converged opts previous value then stop <- true
            previous <- value
        // The closing sweep: states at the final errors, and predictions with their
        // graph to the parameters, which the weight update reuses.
        let hs, mus = Energy.statesOfErrors net x (es |> Array.map (fun e -> e.detach())) true
        { States = hs
          Predictions = Some mus
          Steps = steps
          Energies = log.Energies
          LayerEnergies = log.LayerEnergies
          UpdateNorms = norms.ToArray()
          // Each step: a forward sweep and a backward sweep to the errors; then the closing sweep.
          Products = initial + steps * (2 * L - 1) + L
          LiveBlocks = L
          Terms = None }

    /// Runs inference from `init` towards the minimum of F for the clamped `target`
    /// (None: output free). `batch` is named in divergence errors.
    let run (net: Network) (opts: InferenceOptions) (init: InitResult) (target: Tensor option) (batch: int option) : InferenceResult =
        opts.Validate()
        match opts.Reparam with
        | Reparam.States when opts.Dense -> states net opts init target batch None
        | Reparam.States -> sparseStates net opts init target batch None
        | Reparam.Errors -> errors net opts init target batch None

    /// `run`, calling `observe step states` after every step with the current states
    /// (L entries, detached, valid during the call); returning true stops inference.
    let observed (net: Network) (opts: InferenceOptions) (init: InitResult) (target: Tensor option) (observe: int -> Tensor[] -> bool) : InferenceResult =
        opts.Validate()
        match opts.Reparam with
        | Reparam.States when opts.Dense -> states net opts init target None (Some observe)
        | Reparam.States -> sparseStates net opts init target None (Some observe)
        | Reparam.Errors -> errors net opts init target None (Some observe)
