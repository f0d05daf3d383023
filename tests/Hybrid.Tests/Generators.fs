/// Shared FsCheck generators of the domain: seeds, small architectures, activations.
module Hybrid.Tests.Generators

open FsCheck
open FsCheck.FSharp

/// A non-negative seed.
let seed = Hybrid.Verification.Generate.seed

/// Labels in 0..classes-1 where every class occurs at least `minPerClass` times.
let labels (classes: int) (minPerClass: int) =
    gen {
        let! extra = Gen.listOf (Gen.choose (0, classes - 1))
        let! order = Gen.shuffle (List.init classes (fun c -> List.replicate minPerClass c) |> List.concat |> List.append extra |> Array.ofList)
        return order
    }

/// A small fully connected network (the verification kit's spec): input size, hidden
/// widths, outputs, activation, loss, seed, batch.
type SmallMlp = Hybrid.Verification.NetSpec

/// Small MLPs with 1..4 hidden layers of width 1..6 and every activation (the kit's generator).
let smallMlp = Hybrid.Verification.Generate.netSpec

/// Arbitrary small MLPs, shrinking towards fewer and narrower layers.
let smallMlpArb = Hybrid.Verification.Generate.netSpecs
