/// Inspection of a network's inference on a batch: where the states, errors and
/// energies end up, for people and plots (the C# facade's `Trainer.Infer`).
module Hybrid.Inspect

/// Where inference ended on a batch. Tensors are detached and belong to the caller's
/// dispose scope.
type Inference =
    {
      /// h_0..h_{L-1}: the input, then the hidden states.
      States: TorchSharp.torch.Tensor array

      /// e_1..e_{L-1}: the hidden layers' prediction errors.
      Errors: TorchSharp.torch.Tensor array

      /// mu_L: the network's output at the final states.
      Output: TorchSharp.torch.Tensor

      /// The energy's terms as numbers: hidden layers 1..L-1, then the output term.
      LayerEnergies: float array

      /// F, their sum.
      Energy: float

      /// Inference steps taken (0 for backpropagation: the forward pass).
      Steps: int
    }

/// Runs the algorithm's inference on the batch `x` (prepared as the network's inputs)
/// from the forward pass, with the output clamped to `target` when given (one-hot or
/// values), and reads states, errors and energies where it ended. Backpropagation,
/// and a network of one block, show the forward pass. Deterministic: the forward
/// initialisation draws nothing.
val infer:
  net: Network ->
    algorithm: Algorithm ->
    x: TorchSharp.torch.Tensor ->
    labels: TorchSharp.torch.Tensor ->
    target: TorchSharp.torch.Tensor option -> Inference
