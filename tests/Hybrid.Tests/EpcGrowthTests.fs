/// ePC inference that grows its energy is stopped as a divergence that names the step
/// and the layer, long before the general divergence factor (1e4) would see it.
module Hybrid.Tests.EpcGrowthTests

open Expecto
open TorchSharp
open Hybrid

let private cpu = torch.CPU

/// A deep tanh MLP (LeCun weights), a batch and its forward initialisation.
let private setUp () =
    let net = Network.createWith WeightInit.Lecun (Architecture.Mlp(List.replicate 8 32, Activation.Tanh)) Loss.CrossEntropy [| 16L |] 4 Precision.Float64 cpu 3L
    use g = Rng.generator 5L cpu
    let x = torch.randn([| 8L; 16L |], dtype = torch.float64, generator = g)
    let labels = torch.tensor([| 0L; 1L; 2L; 3L; 0L; 1L; 2L; 3L |])
    let y = torch.nn.functional.one_hot(labels, 4L).to_type(torch.float64)
    let st = new InitState(4, 0L)
    let init = InitApply.apply Init.forward st (InitContext.input net x g) true
    net, st, init, y

[<Tests>]
let tests =
    testList "EpcGrowth" [
        test "ePC whose energy grows tenfold is a divergence at that step, naming the largest layer" {
            Scope.run (fun () ->
                let net, st, init, y = setUp ()
                use _ = net
                use _ = st
                // Without the check (divergence factor infinite): find an error step whose energy
                // grows past 10 times its start and stays finite and below 1e4 times it.
                let recorded eta =
                    let opts = { InferenceOptions.epc 20 eta with Record = true; DivergenceFactor = infinity }
                    let r = Inference.run net opts init (Some y) None
                    r.Energies, r.LayerEnergies
                let eta, (energies, layers) =
                    [ 0.5; 1.0; 1.5; 2.0; 3.0 ]
                    |> List.map (fun eta -> eta, recorded eta)
                    |> List.find (fun (_, (es, _)) -> es |> Array.forall System.Double.IsFinite && es |> Array.exists (fun e -> e > 10.0 * es[0] && e > 1.0) && Array.max es < 1e4 * es[0])
                let k = energies |> Array.findIndex (fun e -> e > 10.0 * energies[0] && e > 1.0)
                let layer = 1 + (layers[k] |> Array.indexed |> Array.maxBy snd |> fst)
                let e =
                    Util.throws<DivergenceError> (fun () -> Inference.run net (InferenceOptions.epc 20 eta) init (Some y) (Some 7) |> ignore)
                let info = e.Data0
                Expect.equal info.Step (k + 1) "the step where the energy passed 10 times its start"
                Expect.equal info.Layer (Some layer) "the layer with the largest term"
                Expect.equal info.Cause DivergenceCause.StepSize "the step size is at fault"
                Expect.stringContains e.Message (sprintf "(its largest term in layer %d) at step %d, batch 7" layer (k + 1)) "the message names layer, step and batch"
                // The same step size under sPC keeps the general factor only.
                let spc = Inference.run net { InferenceOptions.spc 3 1e-3 with Record = true } init (Some y) None
                Expect.isTrue (spc.Energies |> Array.forall System.Double.IsFinite) "sPC with a small step runs")
        }

        test "ePC with a small error step descends and is not stopped" {
            Scope.run (fun () ->
                let net, st, init, y = setUp ()
                use _ = net
                use _ = st
                let r = Inference.run net { InferenceOptions.epc 20 1e-3 with Record = true } init (Some y) None
                Expect.equal r.Steps 20 "every step ran"
                Expect.isTrue (r.Energies |> Array.pairwise |> Array.forall (fun (a, b) -> b <= a * (1.0 + 1e-12))) "the energy never rises")
        }
    ]
