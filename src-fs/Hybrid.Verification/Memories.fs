/// Invariants of Hybrid's associative memories: modern Hopfield networks and
/// hierarchical associative memories (HAMs) solved as deep equilibrium models.
namespace Hybrid.Verification

open System
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid

/// A set of stored patterns and a query batch for a modern Hopfield network.
type HopfieldSpec =
    { Patterns: int
      Dimension: int
      Norm: float
      Beta: float
      Seed: int64 }

    override this.ToString() =
        sprintf "%d patterns in %d dimensions, norm %g, beta %g, seed %d" this.Patterns this.Dimension this.Norm this.Beta this.Seed

/// A small HAM: layer sizes, a weight scale and a seed.
type HamSpec =
    { Sizes: int list
      Scale: float
      Seed: int64 }

    override this.ToString() = sprintf "HAM [%s] weights x%g seed %d" (String.Join(",", this.Sizes)) this.Scale this.Seed

module MemoryGenerate =
    /// N in 2..8 patterns of dimension 2..10, norm 0.5..3, beta from 0.27 to 9.5 (log-spaced).
    let hopfield: Arbitrary<HopfieldSpec> =
        let g =
            gen {
                let! n = Gen.choose (2, 8)
                let! d = Gen.choose (2, 10)
                let! norm = Gen.choose (1, 6) |> Gen.map (fun k -> 0.5 * float k)
                let! beta = Gen.choose (-23, 39) |> Gen.map (fun k -> Math.Pow(10.0, float k / 40.0))
                let! seed = Generate.seed
                return { Patterns = n; Dimension = d; Norm = norm; Beta = beta; Seed = seed }
            }
        let shrink (s: HopfieldSpec) =
            seq {
                if s.Patterns > 2 then yield { s with Patterns = s.Patterns - 1 }
                if s.Dimension > 2 then yield { s with Dimension = s.Dimension - 1 }
            }
        Arb.fromGenShrink (g, shrink)

    /// 2..5 layers of 1..12 units, weights scaled by 0.5..3.
    let ham: Arbitrary<HamSpec> =
        let g =
            gen {
                let! depth = Gen.choose (2, 5)
                let! sizes = Gen.listOfLength depth (Gen.choose (1, 12))
                let! scale = Gen.choose (1, 6) |> Gen.map (fun k -> 0.5 * float k)
                let! seed = Generate.seed
                return { Sizes = sizes; Scale = scale; Seed = seed }
            }
        let shrink (s: HamSpec) =
            seq {
                if s.Sizes.Length > 2 then
                    for i in 0 .. s.Sizes.Length - 1 do
                        yield { s with Sizes = List.removeAt i s.Sizes }
                for i in 0 .. s.Sizes.Length - 1 do
                    if s.Sizes[i] > 1 then yield { s with Sizes = List.updateAt i (s.Sizes[i] - 1) s.Sizes }
            }
        Arb.fromGenShrink (g, shrink)

module MemoryInvariants =
    let private cpu = torch.CPU

    /// The HAM of a spec (float64) with N(0, 0.25) biases, and a batch of 6 inputs in [0, 1].
    let private build (s: HamSpec) (scale: float) =
        let net = Ham.Network.create s.Sizes Precision.Float64 cpu s.Seed
        do
            use _ = torch.no_grad ()
            use k = scale.ToScalar()
            for w in net.Weights do w.mul_(k) |> ignore
            use g = Rng.generator (s.Seed + 7L) cpu
            for b in net.Biases do b.copy_(Ops.mul (torch.randn(b.shape, dtype = torch.float64, generator = g)) 0.5) |> ignore
        use g = Rng.generator (s.Seed + 3L) cpu
        let x = torch.rand([| 6L; int64 s.Sizes.Head |], dtype = torch.float64, generator = g)
        net, x

    /// True when `step` never raises any of the energies `energy` reads (one per sample)
    /// over `steps` steps by more than tol (1 + |E|).
    /// A check run when FsCheck evaluates the case, in its own dispose scope, so that an
    /// exception is reported with the case's label.
    let private checkedIn (check: unit -> bool) : Lazy<bool> = lazy (Scope.run check)

    let private neverRises (steps: int) (tol: float) (energy: unit -> float[]) (step: unit -> unit) =
        let mutable ok = true
        for _ in 1 .. steps do
            let e0 = energy ()
            step ()
            let e1 = energy ()
            ok <- ok && Array.forall2 (fun a b -> b <= a + tol * (1.0 + abs a)) e0 e1
        ok

    /// Scales every weight to spectral norm 0.45: the HAM's update is then a contraction
    /// (g' <= 1), with one fixed point.
    let private contract (net: Ham.Network) =
        use _ = torch.no_grad ()
        for w in net.Weights do
            let norm = Scope.scalar (torch.linalg.svdvals(w).max())
            if norm > 0.0 then
                use factor = (0.45 / norm).ToScalar()
                w.mul_(factor) |> ignore

    /// The CCCP update of a modern Hopfield network never raises its energy: 20 updates
    /// of 16 random states, E(t+1) <= E(t) + 1e-12 (1 + |E(t)|) for each state.
    let hopfieldDescent: Property =
        Prop.forAll MemoryGenerate.hopfield (fun s ->
            checkedIn (fun () ->
                let p = Hopfield.Patterns.random s.Patterns s.Norm s.Dimension s.Seed
                use g = Rng.generator (s.Seed + 1L) cpu
                let mutable xi = Ops.mul (torch.randn([| 16L; int64 s.Dimension |], dtype = torch.float64, generator = g)) s.Norm
                neverRises 20 1e-12 (fun () -> (Hopfield.energy p s.Beta xi).data<float>().ToArray()) (fun () -> xi <- Hopfield.update p s.Beta xi))
            |> Prop.label (string s))

    /// A HAM's even/odd half-sweeps never raise its energy (each is an exact block
    /// minimisation): 15 sweeps, E(t+1) <= E(t) + 1e-10 (1 + |E(t)|).
    let hamEvenOddDescent: Property =
        Prop.forAll MemoryGenerate.ham (fun s ->
            checkedIn (fun () ->
                let net, x = build s s.Scale
                use _ = net
                let mutable state = Ham.initial net x
                neverRises 15 1e-10 (fun () -> (Ham.energy net state).data<float>().ToArray()) (fun () ->
                    state <- (Ham.solve net Ham.Solver.EvenOdd state 0.0 1).States))
            |> Prop.label (string s))

    /// Every DEQ solver (Picard, damped, even/odd, Anderson, even/odd + Anderson) reaches
    /// the one fixed point of a contractive HAM (every weight's spectral norm 0.45): all
    /// converge to 1e-11 and agree to 1e-8 (1 + max |state|).
    let hamSolversAgree: Property =
        Prop.forAll MemoryGenerate.ham (fun s ->
            checkedIn (fun () ->
                let net, x = build s 1.0
                use _ = net
                contract net
                let solutions =
                    [ Ham.Solver.Picard; Ham.Solver.Damped 0.5; Ham.Solver.EvenOdd; Ham.Solver.Anderson(4, 1e-8); Ham.Solver.EvenOddAnderson(4, 1e-8) ]
                    |> List.map (fun solver -> Ham.solve net solver (Ham.initial net x) 1e-11 5000)
                let flat (sol: Ham.Solution) = torch.cat(sol.States[1..], 1L)
                let reference = flat solutions.Head
                solutions
                |> List.forall (fun sol ->
                    Array.forall id sol.Converged
                    && Scope.scalar ((flat sol - reference).abs().max()) < 1e-8 * (1.0 + Scope.scalar (reference.abs().max()))))
            |> Prop.label (string s))

    /// The phase transition of a modern Hopfield network over equidistant (simplex)
    /// patterns: the measured critical inverse temperature is within 2% of the predicted
    /// beta_c = N / (M^2 - c) (SPEC.md 2), for N in 3..10 patterns of norm 1 or 2.
    let criticalBeta: Property =
        let g = Gen.zip3 (Gen.choose (3, 10)) (Gen.elements [ 1.0; 2.0 ]) Generate.seed
        let shrink (n, m, s) = seq { if n > 3 then yield n - 1, m, s }
        Prop.forAll (Arb.fromGenShrink (g, shrink)) (fun (n, m, seed) ->
            let p = Hopfield.Patterns.simplex n m (n + 2) seed
            let predicted = Hopfield.predictedCriticalBeta p
            let measured = Hopfield.measuredCriticalBeta p (predicted / 10.0) (predicted * 10.0) 1e-6
            abs (measured / predicted - 1.0) < 0.02
            |> Prop.label (sprintf "%d simplex patterns of norm %g, seed %d: measured %g, predicted %g" n m seed measured predicted))

    /// For W_1 of a HAM at `entries`: the implicit gradient of the readout loss against
    /// `y` at the fixed point from `x` (even/odd + Anderson, solved to 1e-13), beside the
    /// central difference (h = 1e-6); and whether the adjoint converged. Leaves W_1 as it was.
    let implicitAgainstFiniteDifferences (net: Ham.Network) (x: torch.Tensor) (y: torch.Tensor) (entries: (int64 * int64) list) : bool * (float * float) list =
        let solve () = Ham.solve net (Ham.Solver.EvenOddAnderson(4, 1e-10)) (Ham.initial net x) 1e-13 5000
        let lossAt () = Scope.scalar (Ham.loss (solve ()).States[net.Top] y)
        let _, ok = Ham.implicitGradients net (solve ()).States y 1e-12 500
        let w = net.Weights[1]
        let analytic = w.grad.clone()
        let h = 1e-6
        use _ = torch.no_grad ()
        let pairs =
            entries
            |> List.map (fun (i, j) ->
                let orig = w[i, j].item<float> ()
                w[i, j] <- torch.tensor(orig + h, dtype = torch.float64)
                let up = lossAt ()
                w[i, j] <- torch.tensor(orig - h, dtype = torch.float64)
                let down = lossAt ()
                w[i, j] <- torch.tensor(orig, dtype = torch.float64)
                analytic[i, j].item<float> (), (up - down) / (2.0 * h))
        ok, pairs

    /// Implicit differentiation of a contractive HAM's fixed point (every weight's
    /// spectral norm 0.45) gives the derivative of the readout loss: for three entries of
    /// the second weight, central differences (h = 1e-6, the fixed point solved to 1e-13)
    /// agree to 1e-6 absolute or 1e-4 relative.
    let hamImplicitGradients: Property =
        let specs = MemoryGenerate.ham |> Arb.filter (fun s -> s.Sizes.Length >= 3)
        Prop.forAll specs (fun s ->
            checkedIn (fun () ->
                let net, x = build s 1.0
                use _ = net
                contract net
                let classes = List.last s.Sizes
                use lg = Rng.generator (s.Seed + 11L) cpu
                let y = torch.nn.functional.one_hot(torch.randint(int64 classes, [| 6L |], generator = lg), int64 classes).to_type(torch.float64)
                let rows, cols = net.Weights[1].shape[0], net.Weights[1].shape[1]
                let ok, pairs = implicitAgainstFiniteDifferences net x y [ 0L, 0L; rows - 1L, cols - 1L; rows / 2L, cols / 2L ]
                ok && pairs |> List.forall (fun (a, fd) -> abs (a - fd) <= max 1e-6 (1e-4 * abs fd)))
            |> Prop.label (string s))
