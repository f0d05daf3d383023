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

/// A small fully connected network: input size, hidden widths, outputs, activation, loss, seed, batch.
type SmallMlp =
    { Input: int
      Widths: int list
      Outputs: int
      Activation: Hybrid.Activation
      Loss: Hybrid.Loss
      Seed: int64
      Batch: int }

    override this.ToString() =
        sprintf "mlp %d-[%s]-%d %O %O seed %d batch %d" this.Input (System.String.Join(",", this.Widths)) this.Outputs this.Activation this.Loss this.Seed this.Batch

/// Small MLPs with 1..4 hidden layers of width 1..6 and every activation.
let smallMlp =
    gen {
        let! input = Gen.choose (1, 6)
        let! hidden = Gen.choose (1, 4)
        let! widths = Gen.listOfLength hidden (Gen.choose (1, 6))
        let! outputs = Gen.choose (1, 4)
        let! act = Gen.elements Hybrid.Activation.All
        let! loss = Gen.elements [ Hybrid.Loss.SquaredError; Hybrid.Loss.CrossEntropy ]
        let! s = seed
        let! batch = Gen.choose (1, 5)
        return { Input = input; Widths = widths; Outputs = outputs; Activation = act; Loss = loss; Seed = s; Batch = batch }
    }

/// Arbitrary small MLPs.
let smallMlpArb = Arb.fromGen smallMlp
