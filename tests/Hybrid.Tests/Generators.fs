/// Shared FsCheck generators of the domain: seeds, small architectures, activations.
module Hybrid.Tests.Generators

open FsCheck
open FsCheck.FSharp

/// A non-negative seed.
let seed = Gen.choose (0, 1_000_000) |> Gen.map int64

/// Labels in 0..classes-1 where every class occurs at least `minPerClass` times.
let labels (classes: int) (minPerClass: int) =
    gen {
        let! extra = Gen.listOf (Gen.choose (0, classes - 1))
        let! order = Gen.shuffle (List.init classes (fun c -> List.replicate minPerClass c) |> List.concat |> List.append extra |> Array.ofList)
        return order
    }
