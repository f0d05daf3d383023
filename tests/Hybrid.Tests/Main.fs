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
    Tests.runTestsInAssemblyWithCLIArgs [ CLIArguments.Printer printer ] argv
