/// Building blocks for tests: networks, batches and targets in float64 on the CPU.
module Hybrid.Tests.Fixtures

open TorchSharp
open Hybrid
open Hybrid.Tests.Generators

let cpu = torch.CPU

/// A synthetic, linearly separable 4-class problem: class c has mean 2 e_c in 8 dimensions.
let separable (n: int) (seed: int64) : Hybrid.Data.TensorSplit =
    use g = Rng.generator seed cpu
    let labels = Array.init n (fun i -> i % 4)
    let y = torch.tensor(labels |> Array.map int64)
    let centres = Ops.mul (torch.nn.functional.one_hot(y, 8L).to_type(torch.float32)) 2.0
    let x = (centres + Ops.mul (torch.randn([| int64 n; 8L |], generator = g)) 0.5).DetachFromDisposeScope()
    { X = x; Y = y.DetachFromDisposeScope(); Labels = labels; Classes = 4 }

/// `separable` data: `train` training and `test` test samples (seeds 1 and 2).
let separableData (train: int) (test: int) : RunData =
    { Train = separable train 1L; Test = separable test 2L; Classes = 4; InputShape = [| 8L |]; Stats = None }

/// The network of a generated architecture, in float64 (the kit's `Model.mlp`).
let network (m: SmallMlp) = Hybrid.Verification.Model.mlp.Build m

/// A batch of inputs N(0,1) and a target: one-hot labels (cross-entropy) or N(0,1) values (squared error).
let batch (m: SmallMlp) = Hybrid.Verification.Case.batch m [| int64 m.Input |]

/// The initializer context of a batch.
let context (net: Network) (x: torch.Tensor) (labels: torch.Tensor) (g: torch.Generator) =
    InitContext.supervised net x labels net.Outputs g

/// Relative error ||a - b|| / max(||b||, tiny).
let relErr (a: torch.Tensor) (b: torch.Tensor) =
    Scope.scalar ((a - b).norm()) / max (Scope.scalar (b.norm())) 1e-300

/// Cosine similarity of two tensors.
let cosine (a: torch.Tensor) (b: torch.Tensor) =
    Scope.scalar ((a * b).sum()) / max (Scope.scalar (a.norm()) * Scope.scalar (b.norm())) 1e-300

/// ||a - b|| <= rel * max(||b||, floor): a relative tolerance that does not demand
/// relative precision of values that are themselves near zero.
let close (rel: float) (floor: float) (a: torch.Tensor) (b: torch.Tensor) =
    Scope.scalar ((a - b).norm()) <= rel * max (Scope.scalar (b.norm())) floor

/// Bitwise equality of two tensors (same shape, same values).
let same (a: torch.Tensor) (b: torch.Tensor) = a.shape = b.shape && a.allclose(b, 0.0, 0.0)
