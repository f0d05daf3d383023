module Hybrid.Tests.MuPCTests

open Expecto
open FsCheck
open FsCheck.FSharp
open TorchSharp
open Hybrid
open Hybrid.Tests.Fixtures

let private config = Util.propertyConfig 8

/// Root-mean-square of every state of the forward pass (hidden layers and output).
let private forwardRms (p: Parameterisation) (depth: int) (seed: int64) =
    Scope.run (fun () ->
        use net = Network.create (Architecture.ResidualMlp(128, depth, Activation.Relu, p)) Loss.SquaredError [| 784L |] 10 Precision.Float64 cpu seed
        use g = Rng.generator (Rng.derive seed "x") cpu
        let x = torch.randn([| 32L; 784L |], dtype = torch.float64, generator = g)
        let mutable h = x
        [| for b in net.Blocks ->
               h <- b.Forward h
               sqrt (Scope.scalar (h.square().mean())) |])

[<Tests>]
let tests =
    testList "MuPC" [
        testPropertyWithConfig config "under muPC the forward activations keep O(1) scale from depth 8 to 128"
        <| Prop.forAll (Arb.fromGen Generators.seed) (fun seed ->
            let hidden d = let r = forwardRms Parameterisation.MuPC d seed in r[.. r.Length - 2]
            let h8 = hidden 8
            let h128 = hidden 128
            // Each residual block adds variance ~ Var/(2L), so the stream grows by about
            // e^(1/2) over any depth: every hidden RMS stays within [0.5, 3] and the
            // last hidden layer of the 128-layer net is within a factor 1.5 of the 8-layer one.
            Array.append h8 h128 |> Array.forall (fun r -> r > 0.5 && r < 3.0)
            && abs (log (Array.last h128 / Array.last h8)) < log 1.5)

        test "the standard parameterisation explodes with depth where muPC does not" {
            let sp = forwardRms Parameterisation.Sp 128 1L
            let mu = forwardRms Parameterisation.MuPC 128 1L
            // Without the 1/sqrt(NL) branch scaling, each block multiplies the stream's
            // variance by about 1 + 1/6: 128 blocks give ~1e8 in variance.
            Expect.isGreaterThan (Array.last sp) (1e3 * Array.last mu) "sp output far larger"
        }

        test "scalings follow SPEC 1.5" {
            let a1, ah, aL = Parameterisation.MuPC.Scalings(784, 128, 32)
            Expect.floatClose Accuracy.veryHigh a1 (1.0 / 28.0) "a_1 = 1/sqrt(D)"
            Expect.floatClose Accuracy.veryHigh ah (1.0 / 64.0) "a_l = 1/sqrt(N L)"
            Expect.floatClose Accuracy.veryHigh aL (1.0 / 128.0) "a_L = 1/N"
            let _, _, ntpOut = Parameterisation.Ntp.Scalings(784, 128, 32)
            Expect.floatClose Accuracy.veryHigh ntpOut (1.0 / sqrt 128.0) "ntp a_L = 1/sqrt(N)"
            Expect.equal (Parameterisation.Sp.Scalings(784, 128, 32)) (1.0, 1.0, 1.0) "sp"
        }

        test "a residual MLP needs at least three layers" {
            let e = Util.throws<System.ArgumentException> (fun () -> (Architecture.ResidualMlp(8, 2, Activation.Relu, Parameterisation.MuPC)).Validate())
            Expect.stringContains e.Message "at least 3 weight layers" "message"
        }
    ]
