/// The kit from C# (or any .NET language): no F# function, list or option types in the
/// signatures. Properties are FsCheck's `Property`; `Verify.Check` runs one and throws
/// with FsCheck's report (the shrunk counterexample and the seed that replays it).
namespace Hybrid.Verification

open System
open System.Collections.Generic
open FsCheck
open TorchSharp

[<AbstractClass; Sealed>]
type Verify =
    /// Hybrid's own MLPs (`Architecture.Mlp`).
    static member Mlp: ModelUnderTest = Model.mlp

    /// Hybrid's residual MLPs under a parameterisation (`Model.residual`).
    static member Residual(parameterisation: Hybrid.Parameterisation) : ModelUnderTest = Model.residual parameterisation

    /// Hybrid's convolutional networks on the spec's image (`Model.convNet`).
    static member ConvNet(maxPool: bool) : ModelUnderTest = Model.convNet maxPool

    /// Networks made of your own blocks (`Model.ofBlocks`): `factory` builds each block
    /// for its `BlockSpec`; the parameters are redrawn from the case's seed.
    static member Blocks(name: string, factory: Func<BlockSpec, torch.nn.Module<torch.Tensor, torch.Tensor>>) : ModelUnderTest =
        ArgumentException.ThrowIfNullOrWhiteSpace name
        ArgumentNullException.ThrowIfNull factory
        Model.ofBlocks name factory

    /// Networks you build whole from a spec (`Model.ofModules`: any input shape, any blocks):
    /// `inputShape` gives the per-sample input shape and `blocks` the modules (the last
    /// one's output has `spec.Outputs` values) that the spec stands for; the parameters
    /// are redrawn from the case's seed.
    static member Custom(name: string, inputShape: Func<NetSpec, int64[]>, blocks: Func<NetSpec, IEnumerable<torch.nn.Module<torch.Tensor, torch.Tensor>>>) : ModelUnderTest =
        ArgumentException.ThrowIfNullOrWhiteSpace name
        ArgumentNullException.ThrowIfNull inputShape
        ArgumentNullException.ThrowIfNull blocks
        Model.ofModules name inputShape.Invoke (fun spec -> List.ofSeq (blocks.Invoke spec))

    /// `Model.inPrecision`: `model` with its network and batch in `precision`.
    static member InPrecision(model: ModelUnderTest, precision: Hybrid.Precision) : ModelUnderTest = Model.inPrecision precision model

    /// `Invariants.forwardInitialisation`.
    static member ForwardInitialisation(model: ModelUnderTest) : Property = Invariants.forwardInitialisation model

    /// `Invariants.stateGradient`.
    static member StateGradient(model: ModelUnderTest) : Property = Invariants.stateGradient model

    /// `Invariants.descent`.
    static member Descent(model: ModelUnderTest) : Property = Invariants.descent model

    /// `Invariants.initialisationUnchanged`.
    static member InitialisationUnchanged(model: ModelUnderTest) : Property = Invariants.initialisationUnchanged model

    /// `Invariants.sparseMatchesDense`.
    static member SparseMatchesDense(model: ModelUnderTest) : Property = Invariants.sparseMatchesDense model

    /// `Invariants.epcFirstStep`.
    static member EpcFirstStep(model: ModelUnderTest) : Property = Invariants.epcFirstStep model

    /// `Invariants.spcEpcEquilibrium`.
    static member SpcEpcEquilibrium(model: ModelUnderTest) : Property = Invariants.spcEpcEquilibrium model

    /// `Invariants.keepRecalls`.
    static member KeepRecalls(model: ModelUnderTest) : Property = Invariants.keepRecalls model

    /// `Invariants.streamAverageRecalls`.
    static member StreamAverageRecalls(model: ModelUnderTest) : Property = Invariants.streamAverageRecalls model

    /// `Invariants.memoryStart`.
    static member MemoryStart(model: ModelUnderTest) : Property = Invariants.memoryStart model

    /// `Invariants.linearChains`: sPC and ePC reach the closed-form equilibrium of linear chains and learn alike there.
    static member LinearChains: Property = Invariants.linearChains

    /// `Invariants.linearEquilibrium`: the closed-form equilibrium of a linear chain is a critical point of F.
    static member LinearEquilibrium: Property = Invariants.linearEquilibrium

    /// `TheoryInvariants.closedFormEnergy`: the closed-form equilibrated energy of linear chains equals inference.
    static member ClosedFormEnergy: Property = TheoryInvariants.closedFormEnergy

    /// `TheoryInvariants.strictSaddle`: the origin is a strict saddle of F* for L >= 3, while the loss's Hessian is zero.
    static member StrictSaddle: Property = TheoryInvariants.strictSaddle

    /// `TheoryInvariants.hessians`: Hessians of the loss and of F* agree with finite differences of gradients.
    static member Hessians(model: ModelUnderTest) : Property = TheoryInvariants.hessians model

    /// `TheoryInvariants.linearActivityHessian`: activity Hessians of linear chains equal the block-tridiagonal oracle.
    static member LinearActivityHessian: Property = TheoryInvariants.linearActivityHessian

    /// `MemoryInvariants.hopfieldDescent`: the modern Hopfield update never raises the energy.
    static member HopfieldDescent: Property = MemoryInvariants.hopfieldDescent

    /// `MemoryInvariants.hamEvenOddDescent`: a HAM's even/odd half-sweeps never raise its energy.
    static member HamEvenOddDescent: Property = MemoryInvariants.hamEvenOddDescent

    /// `MemoryInvariants.hamSolversAgree`: every DEQ solver reaches the one fixed point of a contractive HAM.
    static member HamSolversAgree: Property = MemoryInvariants.hamSolversAgree

    /// `MemoryInvariants.criticalBeta`: the measured Hopfield phase transition matches N/(M^2 - c).
    static member CriticalBeta: Property = MemoryInvariants.criticalBeta

    /// `MemoryInvariants.hamImplicitGradients`: implicit gradients of a HAM equal finite differences.
    static member HamImplicitGradients: Property = MemoryInvariants.hamImplicitGradients

    /// Every invariant for a model, by name.
    static member All(model: ModelUnderTest) : IReadOnlyList<KeyValuePair<string, Property>> =
        Invariants.all model |> List.map (fun (n, p) -> KeyValuePair(n, p)) |> ResizeArray :> IReadOnlyList<_>

    /// Checks a property on `maxTest` cases; throws with FsCheck's report when it fails
    /// (the labels say what was measured, the shrunk counterexample, and the seed that
    /// replays it). `replay` is what a failure prints to replay it: "S,G" or "S,G,Size"
    /// (parentheses allowed); it reruns exactly the failing cases; null draws from a
    /// fixed seed, so that every run checks the same cases. The report of a passing check
    /// goes to `output` (null: nowhere); nothing is written to standard output.
    static member Check(property: Property, maxTest: int, replay: string, output: IO.TextWriter) : unit =
        if maxTest < 1 then raise (ArgumentOutOfRangeException(nameof maxTest, "check at least one case"))
        let number (what: string) (v: string) =
            match UInt64.TryParse(v.Trim()) with
            | true, n -> n
            | _ -> raise (ArgumentException(sprintf "replay must be 'S,G' or 'S,G,Size' (the numbers a failure prints), and its %s is '%s'" what v, nameof replay))
        let seed, size =
            match replay with
            | null | "" -> Rnd(20261122UL, 1234567891UL), None
            | s ->
                match s.Trim('(', ')', ' ').Split(',') with
                | [| a; b |] -> Rnd(number "seed" a, number "gamma" b), None
                | [| a; b; c |] -> Rnd(number "seed" a, number "gamma" b), Some(int (number "size" c))
                | _ -> raise (ArgumentException(sprintf "replay must be 'S,G' or 'S,G,Size' (the numbers a failure prints), got '%s'" s, nameof replay))
        let runner =
            { new IRunner with
                member _.OnStartFixture _ = ()
                member _.OnArguments(_, _, _) = ()
                member _.OnShrink(_, _) = ()
                member _.OnFinished(name, result) =
                    let report = Runner.onFinishedToString name result
                    match result with
                    | TestResult.Passed _ -> if not (isNull output) then output.WriteLine report
                    | _ -> raise (Exception report) }
        Check.One(Config.Quick.WithMaxTest(maxTest).WithReplay(Some { Rnd = seed; Size = size }).WithRunner(runner), property)

    /// `Check` with the passing report on standard error.
    static member Check(property: Property, maxTest: int, replay: string) : unit = Verify.Check(property, maxTest, replay, Console.Error)

    /// `Check` from the fixed seed, the passing report on standard error.
    static member Check(property: Property, maxTest: int) : unit = Verify.Check(property, maxTest, null, Console.Error)
