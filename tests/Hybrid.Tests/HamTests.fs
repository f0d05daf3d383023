module Hybrid.Tests.HamTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 30

/// Small HAMs (2..5 layers of 1..12 units) with weights scaled by 0.5..3, and a batch of inputs in [0,1].
let private setup =
    gen {
        let! depth = Gen.choose (2, 5)
        let! sizes = Gen.listOfLength depth (Gen.choose (1, 12))
        let! scale = Gen.choose (1, 6) |> Gen.map (fun k -> 0.5 * float k)
        let! seed = Generators.seed
        return sizes, scale, seed
    }

let private build (sizes: int list) (scale: float) (seed: int64) =
    let net = Ham.Network.create sizes Precision.Float64 cpu seed
    do
        use _ = torch.no_grad ()
        use s = scale.ToScalar()
        for w in net.Weights do w.mul_(s) |> ignore
        use g = Rng.generator (seed + 7L) cpu
        for b in net.Biases do b.copy_(Ops.mul (torch.randn(b.shape, dtype = torch.float64, generator = g)) 0.5) |> ignore
    use g = Rng.generator (seed + 3L) cpu
    let x = torch.rand([| 6L; int64 sizes.Head |], dtype = torch.float64, generator = g)
    net, x

[<Tests>]
let tests =
    testList "Ham" [
        testPropertyWithConfig config "the energy never increases along even/odd updates"
        <| Prop.forAll (Arb.fromGen setup) (fun (sizes, scale, seed) ->
            Scope.run (fun () ->
                let net, x = build sizes scale seed
                use _ = net
                let mutable state = Ham.initial net x
                let mutable ok = true
                for _ in 1 .. 15 do
                    let e0 = (Ham.energy net state).data<float>().ToArray()
                    let s = Ham.solve net Ham.Solver.EvenOdd state 0.0 1
                    state <- s.States
                    let e1 = (Ham.energy net state).data<float>().ToArray()
                    // Each half-sweep is an exact block minimisation: E(t+1) <= E(t) up to rounding.
                    ok <- ok && Array.forall2 (fun a b -> b <= a + 1e-10 * (1.0 + abs a)) e0 e1
                ok))

        testPropertyWithConfig config "all solvers reach the same fixed point"
        <| Prop.forAll (Arb.fromGen setup) (fun (sizes, _, seed) ->
            Scope.run (fun () ->
                // A contraction has one fixed point, which every convergent solver must
                // find: g' <= 1, so with every weight's spectral norm at 0.45 the map
                // moves each layer by at most 0.9 times the largest change of its
                // neighbours. (Unscaled weights are not enough: a 5-layer net of width 12
                // can have several fixed points, and Picard can cycle between two.)
                let net, x = build sizes 1.0 seed
                use _ = net
                do
                    use _ = torch.no_grad ()
                    for w in net.Weights do
                        let norm = Scope.scalar (torch.linalg.svdvals(w).max())
                        if norm > 0.0 then
                            use factor = (0.45 / norm).ToScalar()
                            w.mul_(factor) |> ignore
                let solutions =
                    [ Ham.Solver.Picard; Ham.Solver.Damped 0.5; Ham.Solver.EvenOdd; Ham.Solver.Anderson(4, 1e-8); Ham.Solver.EvenOddAnderson(4, 1e-8) ]
                    |> List.map (fun s -> Ham.solve net s (Ham.initial net x) 1e-11 5000)
                let flat (s: Ham.Solution) = torch.cat(s.States[1..], 1L)
                let reference = flat solutions.Head
                solutions |> List.forall (fun s ->
                    Array.forall id s.Converged
                    // Stopping at 1e-11 relative change of a contraction leaves distances of that order.
                    && Scope.scalar ((flat s - reference).abs().max()) < 1e-8 * (1.0 + Scope.scalar (reference.abs().max())))))

        test "even/odd needs fewer iterations than the synchronous update" {
            Scope.run (fun () ->
                let net, x = build [ 20; 16; 12; 8; 4 ] 2.0 11L
                use _ = net
                let sync = Ham.solve net Ham.Solver.Picard (Ham.initial net x) 1e-8 5000
                let eo = Ham.solve net Ham.Solver.EvenOdd (Ham.initial net x) 1e-8 5000
                Expect.isTrue (Array.forall id sync.Converged && Array.forall id eo.Converged) "both converge"
                Expect.isLessThan (Array.averageBy float eo.Iterations) (0.75 * Array.averageBy float sync.Iterations) "block updates converge faster")
        }

        test "a solver that hits its cap says so" {
            Scope.run (fun () ->
                let net, x = build [ 10; 10; 10 ] 3.0 1L
                use _ = net
                let s = Ham.solve net Ham.Solver.Picard (Ham.initial net x) 1e-14 2
                Expect.isTrue (Array.exists not s.Converged) "not converged within 2 iterations"
                Expect.isTrue (s.Iterations |> Array.forall (fun i -> i <= 2)) "iterations within the cap")
        }

        test "implicit gradients match finite differences of the readout loss" {
            Scope.run (fun () ->
                let net, x = build [ 5; 4; 3 ] 1.0 5L
                use _ = net
                let y = torch.nn.functional.one_hot(torch.tensor([| 0L; 1L; 2L; 0L; 1L; 2L |]), 3L).to_type(torch.float64)
                let lossAt () =
                    let s = Ham.solve net (Ham.Solver.EvenOddAnderson(4, 1e-10)) (Ham.initial net x) 1e-13 5000
                    Scope.scalar (Ham.loss s.States[net.Top] y)
                let s = Ham.solve net (Ham.Solver.EvenOddAnderson(4, 1e-10)) (Ham.initial net x) 1e-13 5000
                let _, ok = Ham.implicitGradients net s.States y 1e-12 500
                Expect.isTrue ok "adjoint converged"
                let w = net.Weights[1]
                let analytic = w.grad.clone()
                let h = 1e-6
                use _ = torch.no_grad ()
                for (i, j) in [ (0L, 0L); (1L, 2L); (2L, 3L) ] do
                    let orig = w[i, j].item<float> ()
                    w[i, j] <- torch.tensor(orig + h, dtype = torch.float64)
                    let up = lossAt ()
                    w[i, j] <- torch.tensor(orig - h, dtype = torch.float64)
                    let down = lossAt ()
                    w[i, j] <- torch.tensor(orig, dtype = torch.float64)
                    let fd = (up - down) / (2.0 * h)
                    // Central differences in float64 at h = 1e-6 with a fixed point solved to 1e-13: ~1e-7 absolute.
                    Expect.floatClose { absolute = 1e-6; relative = 1e-4 } (analytic[i, j].item<float> ()) fd (sprintf "dL/dW1[%d,%d]" i j))
        }

        test "bad networks are named" {
            let e = Util.throws<ArgumentException> (fun () -> Ham.Network.create [ 5 ] Precision.Float64 cpu 0L |> ignore)
            Expect.stringContains e.Message "at least 2 layers" "too few layers"
            let net = Ham.Network.create [ 5; 4; 3 ] Precision.Float64 cpu 0L
            let bad = { net with Weights = [| net.Weights[1]; net.Weights[0] |] }
            let e = Util.throws<ArgumentException> (fun () -> Ham.Network.validate bad)
            Expect.stringContains e.Message "W_0 has shape [3; 4] but layers 0 and 1 need [4; 5]" "mismatched weights"
            let e = Util.throws<ConfigError> (fun () -> Choices.solver "newton" |> ignore)
            Expect.stringContains e.Message "unknown solver 'newton'" "solver"
        }
    ]
