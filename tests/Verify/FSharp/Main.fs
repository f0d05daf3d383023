/// A user's Expecto suite: their own block checked by the verification kit, and two
/// broken blocks that the kit must catch.
module VerifyFSharp.Main

open System
open Expecto
open TorchSharp
open Hybrid
open Hybrid.Verification

/// tanh(W h + b); the plain affine map for the output block.
type TanhBlock(spec: BlockSpec) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("tanh-block")
    let linear = torch.nn.Linear(int64 spec.Inputs, int64 spec.Outputs)
    do this.RegisterComponents()
    override _.forward(h) = if spec.Last then linear.forward h else torch.tanh (linear.forward h)

/// Dropout left active: the forward pass is not a function of its input.
type DropoutBlock(spec: BlockSpec) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>("dropout-block")
    let linear = torch.nn.Linear(int64 spec.Inputs, int64 spec.Outputs)
    do this.RegisterComponents()
    override _.forward(h) =
        let z = linear.forward h
        if spec.Last then z else torch.nn.functional.dropout(torch.tanh z, 0.5, true)

let private tanhModel = Model.ofBlocks "tanh-block" (Func<_, _>(fun s -> new TanhBlock(s) :> torch.nn.Module<_, _>))

/// The same fixed seed every run, so that the cases are the same and a failure replays.
let private config = { FsCheckConfig.defaultConfig with maxTest = 30; replay = Some(20261122UL, 1234567891UL, None) }

let tests =
    testList "my block" [
        for name, property in Invariants.all tanhModel do
            testPropertyWithConfig config name property
        test "the kit catches dropout left active" {
            let model = Model.ofBlocks "dropout-block" (Func<_, _>(fun s -> new DropoutBlock(s) :> torch.nn.Module<_, _>))
            let report =
                try
                    Verify.Check(Invariants.forwardInitialisation model, 30)
                    failtest "the kit passed a block with dropout left active"
                with e when not (e :? AssertException) -> e.Message
            printfn "%s" report
            Expect.stringContains report "Falsifiable" "a counterexample"
            Expect.stringContains report "Shrunk" "shrunk"
        }
    ]

[<EntryPoint>]
let main argv = runTestsWithCLIArgs [] argv tests
