module Hybrid.Tests.Main

open Expecto
open Expecto.Impl

/// Runs every test in this assembly and ends with the plain line `N passed, N failed`.
[<EntryPoint>]
let main argv =
    // Natives first: a failed first touch of TorchSharp poisons it for the process.
    Hybrid.Runtime.init ()
    let inner = TestPrinters.defaultPrinter
    let printer =
        { inner with
            summary =
                fun config summary ->
                    async {
                        do! inner.summary config summary
                        let failed = summary.failed.Length + summary.errored.Length
                        printfn "%d passed, %d failed" summary.passed.Length failed
                    } }
    // Sequenced: TorchSharp 0.107 passes temporary native scalars (e.g. the implicit
    // alpha = 1 of Tensor.add) without keeping them alive, so a collection triggered by
    // another thread can finalize one mid-call. One torch thread per process avoids it;
    // libtorch still uses every core inside each operation.
    Tests.runTestsInAssemblyWithCLIArgs [ CLIArguments.Printer printer; CLIArguments.Sequenced ] argv
