/// What the verification kit reports: the measured values of a failed invariant, which
/// initializer and reparameterisation broke descent, divergence told apart from a write
/// into the start, FsCheck's replay triple accepted, and no output on standard output.
module Hybrid.Tests.VerifyKitTests

open System
open System.IO
open Expecto
open TorchSharp
open Hybrid
open Hybrid.Verification
open Hybrid.Tests.VerificationTests

/// A backward that points uphill: the value is tanh(z), the gradient that of -z.
type UphillBlock(inputs, outputs, last) =
    inherit LinearBlock("uphill-block", inputs, outputs, last)
    override _.Activate(_, z) = Ops.plus (torch.tanh(z).detach()) (Ops.minus (z.detach()) z)

let private model name (make: int64 -> int64 -> bool -> torch.nn.Module<torch.Tensor, torch.Tensor>) =
    Model.ofBlocks name (Func<BlockSpec, torch.nn.Module<torch.Tensor, torch.Tensor>>(fun s -> make (int64 s.Inputs) (int64 s.Outputs) s.Last))

/// The report of a check that must fail.
let private failure (prop: FsCheck.Property) =
    let e = Util.throws<exn> (fun () -> Verify.Check(prop, 30, null, TextWriter.Null))
    e.Message

[<Tests>]
let tests =
    testList "Verification kit reports" [
        test "a failed forward initialisation prints the energies it measured" {
            let report = failure (Verify.ForwardInitialisation(model "dropout-block" (fun i o last -> new DropoutBlock(i, o, last))))
            Expect.stringContains report "measured: F with the output free" "the measured energies"
            Expect.stringContains report "BP loss" "the loss it is compared with"
        }

        test "a failed descent names the initializer and the reparameterisation, with the energies" {
            let report = failure (Verify.Descent(model "uphill-block" (fun i o last -> new UphillBlock(i, o, last))))
            Expect.isTrue (Text.RegularExpressions.Regex.IsMatch(report, @"(spc|epc) from \S+: the energy rose from [-0-9.e+]+ to [-0-9.e+]+ at step \d+"))
                (sprintf "which start and form rose, by how much: %s" report)
        }

        test "a failed state gradient prints both derivatives" {
            let report = failure (Verify.StateGradient(model "wrong-backward-block" (fun i o last -> new WrongBackwardBlock(i, o, last))))
            Expect.stringContains report "autograd <dF/dh, v>" "the autograd derivative"
            Expect.stringContains report "central difference" "the numeric one"
        }

        test "the replay FsCheck prints (seed, gamma and size) is taken, and bad replays are refused by name" {
            let prop = Verify.ForwardInitialisation(Verify.Mlp)
            Verify.Check(prop, 2, "(20261122,1234567891,5)", TextWriter.Null)
            Verify.Check(prop, 2, "20261122,1234567891", TextWriter.Null)
            let e = Util.throws<ArgumentException> (fun () -> Verify.Check(prop, 2, "1,x", TextWriter.Null))
            Expect.stringContains e.Message "its gamma is 'x'" "the bad number is named"
            let e = Util.throws<ArgumentException> (fun () -> Verify.Check(prop, 2, "1", TextWriter.Null))
            Expect.stringContains e.Message "'S,G' or 'S,G,Size'" "the accepted forms"
        }

        test "a passing check reports to the writer it is given, never to standard output" {
            let out = Console.Out
            use captured = new StringWriter()
            use report = new StringWriter()
            Console.SetOut captured
            try
                Verify.Check(Verify.ForwardInitialisation(Verify.Mlp), 3, null, report)
            finally
                Console.SetOut out
            Expect.equal (captured.ToString()) "" "nothing on standard output"
            Expect.stringContains (report.ToString()) "passed 3 tests" "the passing report went to the writer"
        }
    ]
