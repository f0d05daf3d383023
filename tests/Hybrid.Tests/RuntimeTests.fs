module Hybrid.Tests.RuntimeTests

open Expecto
open TorchSharp
open Hybrid

[<Tests>]
let tests =
    testList "Runtime" [
        test "device choices parse, print and resolve" {
            for s in [ "auto"; "cpu"; "cuda" ] do
                Expect.equal (string (Choices.device.Parse s)) s "round trip"
            Expect.equal (Runtime.device DeviceChoice.Cpu).``type`` DeviceType.CPU "cpu"
            let auto = Runtime.device DeviceChoice.Auto
            Expect.equal (auto.``type`` = DeviceType.CUDA) (Runtime.cudaAvailable ()) "auto falls back to the CPU"
            if not (Runtime.cudaAvailable ()) then
                Expect.throwsT<System.ArgumentException> (fun () -> Runtime.device DeviceChoice.Cuda |> ignore) "cuda without a device"
            Expect.throwsT<ConfigError> (fun () -> Choices.device.Parse "tpu" |> ignore) "unknown device"
        }

        test "precision maps to torch scalar types" {
            Expect.equal Precision.Float32.ScalarType torch.ScalarType.Float32 "f32"
            Expect.equal (Choices.precision.Parse "float64").ScalarType torch.ScalarType.Float64 "f64"
        }

        test "explicit generators reproduce their draws and ignore the global seed" {
            let draw seed =
                Scope.run (fun () ->
                    use g = Rng.generator seed torch.CPU
                    torch.randn([| 5L |], generator = g).data<float32>().ToArray())
            let a = draw 7L
            torch.manual_seed 123L |> ignore
            let b = draw 7L
            Expect.sequenceEqual a b "same seed, same draws"
            Expect.notEqual (draw 8L) a "another seed, other draws"
        }

        test "derived seeds are FNV-1a of the stream mixed with the seed by SplitMix64, the same in every version" {
            // Values of the documented algorithm, computed independently of this code: a
            // change here changes every run's weights, batches and initializers.
            Expect.equal (Rng.derive 1L "a") 4682787031572256156L "seed 1, stream a"
            Expect.equal (Rng.derive 1L "b") 14537088898377247L "seed 1, stream b"
            Expect.equal (Rng.derive 0L "weights") 3201074722079914140L "seed 0, weights"
            Expect.equal (Rng.derive 42L "memory/3") 2309152928246860999L "seed 42, the memory of layer 3"
            Expect.notEqual (Rng.derive 1L "a") (Rng.derive 2L "a") "seeds differ"
        }

        test "a scope frees what it does not return" {
            let stats = DisposeScopeManager.Statistics
            let before = stats.ThreadTotalLiveCount
            let kept =
                Scope.keep (fun () ->
                    let a = torch.ones(100L)
                    let b = Ops.mul a 2.0
                    Ops.add b 1.0)
            Expect.equal (Scope.run (fun () -> Scope.scalar (kept.sum()))) 300.0 "value"
            kept.Dispose()
            // Statistics are per thread, so tests running in parallel do not disturb this.
            Expect.equal (stats.ThreadTotalLiveCount - before) 0L "nothing left alive"
        }
    ]
