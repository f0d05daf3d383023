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
    static member Mlp: Model = Model.mlp

    /// Hybrid's residual MLPs under a parameterisation (`Model.residual`).
    static member Residual(parameterisation: Hybrid.Parameterisation) : Model = Model.residual parameterisation

    /// Hybrid's convolutional networks on the spec's image (`Model.convNet`).
    static member ConvNet(maxPool: bool) : Model = Model.convNet maxPool

    /// Networks made of your own blocks (`Model.ofBlocks`): `factory` builds each block
    /// for its `BlockSpec`; the parameters are redrawn from the case's seed.
    static member Blocks(name: string, factory: Func<BlockSpec, torch.nn.Module<torch.Tensor, torch.Tensor>>) : Model =
        ArgumentException.ThrowIfNullOrWhiteSpace name
        ArgumentNullException.ThrowIfNull factory
        Model.ofBlocks name factory

    /// Networks you build whole from a spec (`Model.ofModules`: any input shape, any blocks):
    /// `inputShape` gives the per-sample input shape and `blocks` the modules (the last
    /// one's output has `spec.Outputs` values) that the spec stands for; the parameters
    /// are redrawn from the case's seed.
    static member Custom(name: string, inputShape: Func<NetSpec, int64[]>, blocks: Func<NetSpec, IEnumerable<torch.nn.Module<torch.Tensor, torch.Tensor>>>) : Model =
        ArgumentException.ThrowIfNullOrWhiteSpace name
        ArgumentNullException.ThrowIfNull inputShape
        ArgumentNullException.ThrowIfNull blocks
        Model.ofModules name inputShape.Invoke (fun spec -> List.ofSeq (blocks.Invoke spec))

    /// `Model.inPrecision`: `model` with its network and batch in `precision`.
    static member InPrecision(model: Model, precision: Hybrid.Precision) : Model = Model.inPrecision precision model

    /// `Invariants.forwardInitialisation`.
    static member ForwardInitialisation(model: Model) : Property = Invariants.forwardInitialisation model

    /// `Invariants.stateGradient`.
    static member StateGradient(model: Model) : Property = Invariants.stateGradient model

    /// `Invariants.descent`.
    static member Descent(model: Model) : Property = Invariants.descent model

    /// `Invariants.initialisationUnchanged`.
    static member InitialisationUnchanged(model: Model) : Property = Invariants.initialisationUnchanged model

    /// `Invariants.sparseMatchesDense`.
    static member SparseMatchesDense(model: Model) : Property = Invariants.sparseMatchesDense model

    /// `Invariants.epcFirstStep`.
    static member EpcFirstStep(model: Model) : Property = Invariants.epcFirstStep model

    /// `Invariants.spcEpcEquilibrium`.
    static member SpcEpcEquilibrium(model: Model) : Property = Invariants.spcEpcEquilibrium model

    /// `Invariants.keepRecalls`.
    static member KeepRecalls(model: Model) : Property = Invariants.keepRecalls model

    /// `Invariants.streamAverageRecalls`.
    static member StreamAverageRecalls(model: Model) : Property = Invariants.streamAverageRecalls model

    /// `Invariants.memoryStart`.
    static member MemoryStart(model: Model) : Property = Invariants.memoryStart model

    /// `Invariants.linearChains`: sPC and ePC reach the closed-form equilibrium of linear chains and learn alike there.
    static member LinearChains: Property = Invariants.linearChains

    /// `Invariants.linearEquilibrium`: the closed-form equilibrium of a linear chain is a critical point of F.
    static member LinearEquilibrium: Property = Invariants.linearEquilibrium

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
    static member All(model: Model) : IReadOnlyList<KeyValuePair<string, Property>> =
        Invariants.all model |> List.map (fun (n, p) -> KeyValuePair(n, p)) |> ResizeArray :> IReadOnlyList<_>

    /// Checks a property on `maxTest` cases; throws with FsCheck's report when it fails.
    /// `replay` ("S,G", the pair a failure prints) reruns exactly the failing cases; null
    /// draws from a fixed seed, so that every run checks the same cases.
    static member Check(property: Property, maxTest: int, replay: string) : unit =
        if maxTest < 1 then raise (ArgumentOutOfRangeException(nameof maxTest, "check at least one case"))
        let rnd =
            match replay with
            | null | "" -> Rnd(20261122UL, 1234567891UL)
            | s ->
                match s.Trim('(', ')', ' ').Split(',') with
                | [| a; b |] -> Rnd(UInt64.Parse(a.Trim()), UInt64.Parse(b.Trim()))
                | _ -> raise (ArgumentException(sprintf "replay must be 'S,G' (the two numbers a failure prints), got '%s'" s, nameof replay))
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithReplay(Some { Rnd = rnd; Size = None }), property)

    /// `Check` from the fixed seed.
    static member Check(property: Property, maxTest: int) : unit = Verify.Check(property, maxTest, null)
