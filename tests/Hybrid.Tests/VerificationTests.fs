/// The verification kit (Hybrid.Verification) on Hybrid's own MLPs and on user blocks:
/// a correct block passes every invariant; a block with dropout left active and a block
/// whose backward is wrong fail with a shrunk counterexample.
module Hybrid.Tests.VerificationTests

open System
open Expecto
open FsCheck
open TorchSharp
open Hybrid
open Hybrid.Verification

let private config = Util.propertyConfig 40

/// A block as a user writes it: the affine map z = W h + b, then `Activate` (not for the
/// output block).
[<AbstractClass>]
type LinearBlock(name: string, inputs: int64, outputs: int64, last: bool) as this =
    inherit torch.nn.Module<torch.Tensor, torch.Tensor>(name)
    let linear = torch.nn.Linear(inputs, outputs)
    do this.register_module("linear", linear)

    /// The block's output from its input h and z = W h + b.
    abstract Activate: h: torch.Tensor * z: torch.Tensor -> torch.Tensor

    override this.forward(h) =
        let z = linear.forward h
        if last then z else this.Activate(h, z)

/// tanh(W h + b): a correct block.
type TanhBlock(inputs, outputs, last) =
    inherit LinearBlock("tanh-block", inputs, outputs, last)
    override _.Activate(_, z) = torch.tanh z

/// Dropout left active: the forward pass is not a function of its input.
type DropoutBlock(inputs, outputs, last) =
    inherit LinearBlock("dropout-block", inputs, outputs, last)
    override _.Activate(_, z) = torch.nn.functional.dropout(torch.tanh z, 0.5, true)

/// A hand-written backward that is wrong: the value is tanh(z), the gradient that of z / 2.
type WrongBackwardBlock(inputs, outputs, last) =
    inherit LinearBlock("wrong-backward-block", inputs, outputs, last)
    override _.Activate(_, z) = Ops.plus (torch.tanh(z).detach()) (Ops.mul (Ops.minus z (z.detach())) 0.5)

/// An in-place write into the block's input, a state of the network (outside autograd,
/// as a user might normalise it): the prediction keeps its graph, the state changes.
type InPlaceBlock(inputs, outputs, last) =
    inherit LinearBlock("in-place-block", inputs, outputs, last)
    override _.Activate(h, z) =
        use _ = torch.no_grad ()
        h.tanh_() |> ignore
        z

let private blocks (make: int64 -> int64 -> bool -> torch.nn.Module<torch.Tensor, torch.Tensor>) =
    Func<BlockSpec, torch.nn.Module<torch.Tensor, torch.Tensor>>(fun s -> make (int64 s.Inputs) (int64 s.Outputs) s.Last)

let private tanhModel = Model.ofBlocks "tanh-block" (blocks (fun i o last -> new TanhBlock(i, o, last)))

/// Runs a property that must fail; returns FsCheck's report.
let private failure (prop: Property) =
    let cfg = Config.QuickThrowOnFailure.WithMaxTest(40).WithReplay(Some { Rnd = Rnd(20261122UL, 1234567891UL); Size = None })
    try
        Check.One(cfg, prop)
        failtest "the property held, but the block is broken"
    with e when not (e :? AssertException) -> e.Message

[<Tests>]
let tests =
    testList "Verification kit" [
        testPropertyWithConfig config "a user's tanh block: forward initialisation" (Invariants.forwardInitialisation tanhModel)
        testPropertyWithConfig config "a user's tanh block: the state gradient is the derivative of F" (Invariants.stateGradient tanhModel)
        testPropertyWithConfig config "a user's tanh block: small-step inference never raises F" (Invariants.descent tanhModel)
        testPropertyWithConfig config "a user's tanh block: sparse inference equals dense" (Invariants.sparseMatchesDense tanhModel)
        testPropertyWithConfig config "a user's tanh block: one ePC step gives eta times the BP gradient" (Invariants.epcFirstStep tanhModel)
        Util.fullOnly "a user's tanh block: sPC and ePC share their equilibrium and weight gradients"
            (testPropertyWithConfig (Util.propertyConfig 15) "a user's tanh block: sPC and ePC share their equilibrium and weight gradients" (Invariants.spcEpcEquilibrium tanhModel))
        testPropertyWithConfig config "a user's tanh block: keep recalls the last batch's final states" (Invariants.keepRecalls tanhModel)
        testPropertyWithConfig config "a user's tanh block: the stream average recalls each class's mean state" (Invariants.streamAverageRecalls tanhModel)
        testPropertyWithConfig config "a user's tanh block: inference leaves its start unchanged" (Invariants.initialisationUnchanged tanhModel)
        testPropertyWithConfig config "a user's tanh block: a memory's first recall is the forward pass" (Invariants.memoryStart tanhModel)
        testPropertyWithConfig (Util.propertyConfig 80) "Hybrid's MLPs: the state gradient is the derivative of F (central differences)" (Invariants.stateGradient Model.mlp)
        testPropertyWithConfig (Util.propertyConfig 60) "Hybrid's MLPs: sparse inference equals dense" (Invariants.sparseMatchesDense Model.mlp)

        test "dropout left active fails the forward-initialisation invariant, shrunk to a small network" {
            let model = Model.ofBlocks "dropout-block" (blocks (fun i o last -> new DropoutBlock(i, o, last)))
            let report = failure (Invariants.forwardInitialisation model)
            Expect.stringContains report "Falsifiable" "FsCheck reports a counterexample"
            Expect.stringContains report "dropout-block" "the label names the model"
            // Shrinking removes hidden layers down to one: the counterexample has a single hidden width.
            Expect.isTrue (Text.RegularExpressions.Regex.IsMatch(report, @"dropout-block \d+-\[\d+\]-\d+")) (sprintf "a one-hidden-layer counterexample: %s" report)
        }

        test "a wrong hand-written backward fails the state-gradient invariant" {
            let model = Model.ofBlocks "wrong-backward-block" (blocks (fun i o last -> new WrongBackwardBlock(i, o, last)))
            let report = failure (Invariants.stateGradient model)
            Expect.stringContains report "Falsifiable" "FsCheck reports a counterexample"
            Expect.stringContains report "wrong-backward-block" "the label names the model"
        }

        test "a block that writes into its input fails the unchanged-start invariant: the network refuses it by name" {
            let model = Model.ofBlocks "in-place-block" (blocks (fun i o last -> new InPlaceBlock(i, o, last)))
            let report = failure (Invariants.initialisationUnchanged model)
            Expect.stringContains report "Falsifiable" "FsCheck reports a counterexample"
            Expect.stringContains report "in-place-block" "the label names the model"
            Expect.stringContains report "wrote into its input in place" "the exception names the fault"
        }

        test "a user block's weight and bias are registered (the kit redraws and trains them)" {
            use b = new TanhBlock(3L, 4L, false)
            Expect.equal (Seq.length (b.parameters ())) 2 "weight and bias"
        }

        test "shrinking goes towards fewer and narrower layers" {
            let s = { Input = 3; Widths = [ 4; 2 ]; Outputs = 2; Activation = Activation.Gelu; Loss = Loss.CrossEntropy; Seed = 1L; Batch = 3 }
            let smaller = Generate.shrink s |> List.ofSeq
            Expect.contains smaller { s with Widths = [ 2 ] } "a layer removed"
            Expect.contains smaller { s with Widths = [ 3; 2 ] } "a layer narrowed"
            Expect.isTrue (smaller |> List.forall (fun t -> t <> s)) "every candidate differs"
            Expect.isEmpty (Generate.shrink { s with Input = 1; Widths = [ 1 ]; Outputs = 1; Batch = 1; Activation = Activation.Identity; Loss = Loss.SquaredError } |> List.ofSeq) "the smallest spec"
        }
    ]

/// Every invariant on Hybrid's other built-in kinds: residual MLPs under each
/// parameterisation (sp, muPC, ntp) and convolutional networks. With max-pooling F is
/// not smooth where a pool's maximum changes hands, and fixed-step descent chatters
/// there (1e-5 in F, 1e-3 in the states, for 1-[1,5]-1 seed 93883), so the sPC/ePC
/// equilibrium is checked on convolutional networks without pooling only.
[<Tests>]
let builtIn =
    testList "Verification kit: built-in kinds" [
        for model in [ Model.residual Parameterisation.Sp; Model.residual Parameterisation.MuPC; Model.residual Parameterisation.Ntp; Model.convNet false; Model.convNet true ] do
            for name, property in Invariants.all model do
                // The equilibrium runs 2 x 1500 steps a case: fewer cases.
                let equilibrium = name.StartsWith "sPC and ePC reach the same equilibrium"
                let full = sprintf "%s: %s" model.Name name
                if not (model.Name = "convnet-maxpool" && equilibrium) then
                    let t = testPropertyWithConfig (Util.propertyConfig (if equilibrium then 5 else 15)) full property
                    // One residual parameterisation by default (muPC); sp and ntp in full runs.
                    if equilibrium && (model.Name = "residual-sp" || model.Name = "residual-ntp") then Util.fullOnly full t else t
    ]

/// The exact invariants in float32: forward initialisation, keep and unchanged starts do
/// not depend on rounding.
[<Tests>]
let float32 =
    testList "Verification kit: float32" [
        for model in [ Model.inPrecision Precision.Float32 Model.mlp; Model.inPrecision Precision.Float32 tanhModel ] do
            testPropertyWithConfig config (sprintf "%s: forward initialisation" model.Name) (Invariants.forwardInitialisation model)
            testPropertyWithConfig config (sprintf "%s: keep recalls the last batch's final states" model.Name) (Invariants.keepRecalls model)
            testPropertyWithConfig config (sprintf "%s: inference leaves its start unchanged" model.Name) (Invariants.initialisationUnchanged model)
    ]


