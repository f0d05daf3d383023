module Hybrid.Tests.InitTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.Generators
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 100

let private kind =
    Gen.oneof [
        Gen.constant InitKind.Zero
        Gen.constant InitKind.Keep
        Gen.constant InitKind.Forward
        Gen.constant InitKind.StreamAverage
        Gen.map2 (fun (m: int) (s: int) -> InitKind.Random(float m / 4.0, float s / 8.0)) (Gen.choose (-8, 8)) (Gen.choose (0, 16))
        gen {
            let! heads = Gen.elements [ 1; 2; 4 ]
            let! perHead = Gen.choose (1, 32)
            let! slots = Gen.choose (1, 64)
            let! delta = Gen.elements [ 0.5; 1.0; 200.0 ]
            let! lr = Gen.elements [ 1e-4; 1e-3; 0.01 ]
            return InitKind.Memory { Slots = slots; Delta = delta; Embedding = heads * perHead; Heads = heads; LearningRate = lr }
        } ]

/// Initializers of 1..4 segments.
let private initializer =
    gen {
        let! n = Gen.choose (1, 4)
        let! kinds = Gen.listOfLength n kind
        let! lengths = Gen.listOfLength (n - 1) (Gen.choose (1, 3))
        let! openEnd = Gen.elements [ true; false ]
        let mutable last = 0
        let segs =
            kinds |> List.mapi (fun i k ->
                if i < n - 1 then
                    last <- last + lengths[i]
                    { Kind = k; Last = Some last }
                elif n = 1 || openEnd then { Kind = k; Last = None }
                else { Kind = k; Last = Some(last + 1) })
        return { Start = 1; Segments = segs }
    }

[<Tests>]
let algebra =
    testList "Init.Algebra" [
        testPropertyWithConfig config "initializers print and parse back equal"
        <| Prop.forAll (Arb.fromGen initializer) (fun i -> InitText.parse (string i) = i)

        test "the paper's composition is one expression" {
            let i = Init.split 2 Init.forward Init.streamAverage
            Expect.equal (string i) "forward[1..2] + avg[3..]" "printed"
            Expect.equal (InitText.parse "fw[1..2] + avg[3..]") i "aliases parse"
            Expect.equal (i.KindAt 1, i.KindAt 2, i.KindAt 3, i.KindAt 9) (InitKind.Forward, InitKind.Forward, InitKind.StreamAverage, InitKind.StreamAverage) "kinds"
            Expect.equal (string Init.forward) "forward" "single"
            Expect.equal (string (Init.random 0.0 0.5)) "random(0,0.5)" "random prints its parameters"
            Expect.equal (Init.split 1 (Init.split 1 Init.zero Init.keep) Init.forward) { Start = 1; Segments = [ { Kind = InitKind.Zero; Last = Some 1 }; { Kind = InitKind.Forward; Last = None } ] } "nested split cuts"
        }

        test "bad initializers are named" {
            for text, fragment in
                [ "sideways", "unknown kind 'sideways'"
                  "forward[2..3] + avg[4..]", "starting at 1"
                  "forward[1..2] + avg", "needs a layer range"
                  "random(0)", "random takes (mean,std)"
                  "random(0,-1)", "std must be >= 0" ] do
                let e = Util.throws<ConfigError> (fun () -> InitText.parse text |> ignore)
                Expect.stringContains e.Message fragment text
            let e = Util.throws<ArgumentException> (fun () -> (InitText.parse "forward[1..5] + avg[6..]").Validate 3)
            Expect.stringContains e.Message "names layer 5 but the network has 3 hidden layers" "too deep"
            let e = Util.throws<ArgumentException> (fun () -> (InitText.parse "forward[1..2]").Validate 3)
            Expect.stringContains e.Message "leaves hidden layers 3..3 uncovered" "too short"
        }

        test "SMM accounting follows SPEC 1.3" {
            // L = 5 blocks: BP 2L-1 = 9; sPC with forward init 2T + L; forward[1..m] adds m; avg adds 0.
            Expect.equal (Smm.backprop 5) 9 "BP"
            Expect.equal (Smm.predictiveCoding Reparam.States Init.forward 5 5) 15 "PC-fw, T=5"
            Expect.equal (Smm.predictiveCoding Reparam.States Init.streamAverage 5 5) 10 "PC-avg"
            Expect.equal (Smm.predictiveCoding Reparam.States (InitText.parse "forward[1..2] + avg[3..]") 5 5) 12 "hybrid m=2"
            Expect.equal (Smm.initialisation (InitText.parse "avg[1..1] + forward[2..]") 5) 4 "forward above an average layer"
            Expect.equal (Smm.initialisation (InitText.parse "forward[1..3] + mem[4..]") 5) 3 "memory beside a forward sweep of 3"
            Expect.equal (Smm.initialisation (InitText.parse "forward[1..1] + mem[2..]") 5) 3 "memory recall: 3 products"
            Expect.equal (Smm.initialisation (InitText.parse "mem[0..0] + forward[1..]") 4) 7 "latent memory, then the sweep and mu_L"
        }
    ]

[<Tests>]
let invariants =
    testList "Init.Invariants" [
        // The verification kit's invariants (one definition each).
        testPropertyWithConfig config "keep after a batch equals that batch's final states"
            (Hybrid.Verification.Invariants.keepRecalls Hybrid.Verification.Model.mlp)
        testPropertyWithConfig config "the stream average gives every sample of a class the class mean of the previous batch"
            (Hybrid.Verification.Invariants.streamAverageRecalls Hybrid.Verification.Model.mlp)

        test "avg falls back to forward for classes it has not seen, keep for batches of another size" {
            Scope.run (fun () ->
                let m = { Input = 2; Widths = [ 3; 3 ]; Outputs = 3; Activation = Activation.Tanh; Loss = Loss.CrossEntropy; Seed = 5L; Batch = 4 }
                use net = network m
                let x, _, _ = batch m
                use g = Rng.generator 1L cpu
                use st = new InitState(3, 0L)
                let seen = torch.tensor([| 0L; 0L; 1L; 1L |])
                let states = InitApply.apply Init.forward st (context net x seen g) false
                st.Record(net, InitText.parse "keep[1..1] + avg[2..]", states.States, Some seen, None)
                let other = torch.tensor([| 0L; 2L; 1L; 2L |])
                let next = InitApply.apply Init.streamAverage st (context net x other g) false
                let fw = InitApply.apply Init.forward st (context net x other g) false
                // Class 2 was never seen: samples 1 and 3 get their forward state.
                Expect.isTrue (same (next.States[1][1]) (fw.States[1][1])) "unseen class -> forward"
                let x3 = x.narrow(0L, 0L, 3L)
                let k = InitApply.apply Init.keep st (context net x3 (other.narrow(0L, 0L, 3L)) g) false
                let f3 = InitApply.apply Init.forward st (context net x3 (other.narrow(0L, 0L, 3L)) g) false
                Expect.isTrue (same (k.States[2]) (f3.States[2])) "other batch size -> forward")
        }

        test "random and zero initializers draw from their generator" {
            Scope.run (fun () ->
                let m = { Input = 2; Widths = [ 200 ]; Outputs = 2; Activation = Activation.Relu; Loss = Loss.SquaredError; Seed = 1L; Batch = 50 }
                use net = network m
                let x, labels, _ = batch m
                use st = new InitState(2, 0L)
                let draw seed =
                    use g = Rng.generator seed cpu
                    (InitApply.apply (Init.random 1.0 2.0) st (context net x labels g) false).States[1]
                let a = draw 4L
                Expect.isTrue (same a (draw 4L)) "reproducible"
                // 10,000 draws: the sample mean is within 4 standard errors (0.08) of 1.
                Expect.floatClose { absolute = 0.08; relative = 0.0 } (Scope.scalar (a.mean())) 1.0 "mean"
                Expect.floatClose { absolute = 0.08; relative = 0.0 } (Scope.scalar (a.std())) 2.0 "std"
                use g = Rng.generator 1L cpu
                let z = (InitApply.apply Init.zero st (context net x labels g) false).States[1]
                Expect.equal (Scope.scalar (z.abs().sum())) 0.0 "zero")
        }
    ]
