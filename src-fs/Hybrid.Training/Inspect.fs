/// Inspection of a network's inference on a batch: where the states, errors and
/// energies end up, for people and plots (the C# facade's `Trainer.Infer`).
module Hybrid.Inspect

open TorchSharp

/// Where inference ended on a batch. Tensors are detached and belong to the caller's
/// dispose scope.
type Inference =
    { /// h_0..h_{L-1}: the input, then the hidden states.
      States: torch.Tensor[]
      /// e_1..e_{L-1}: the hidden layers' prediction errors.
      Errors: torch.Tensor[]
      /// mu_L: the network's output at the final states.
      Output: torch.Tensor
      /// The energy's terms as numbers: hidden layers 1..L-1, then the output term.
      LayerEnergies: float[]
      /// F, their sum.
      Energy: float
      /// Inference steps taken (0 for backpropagation: the forward pass).
      Steps: int }

/// Runs the algorithm's inference on the batch `x` (prepared as the network's inputs)
/// from the forward pass, with the output clamped to `target` when given (one-hot or
/// values), and reads states, errors and energies where it ended. Backpropagation,
/// and a network of one block, show the forward pass. Deterministic: the forward
/// initialisation draws nothing.
let infer (net: Network) (algorithm: Algorithm) (x: torch.Tensor) (labels: torch.Tensor) (target: torch.Tensor option) : Inference =
    use g = Rng.generator 0L torch.CPU
    use state = new InitState(net.Outputs, 0L)
    let ctx = InitContext.supervised net x labels net.Outputs g
    let init = InitApply.apply Init.forward state ctx true
    let states, steps =
        match algorithm with
        | Algorithm.PredictiveCoding pc when net.Depth > 1 ->
            let r = Inference.run net pc.Inference init target None
            r.States, r.Steps
        | _ -> init.States, 0
    use _ = torch.no_grad ()
    let detached = states |> Array.map (fun s -> s.detach())
    let mus = Energy.predictions net detached
    let terms = Energy.terms net detached mus target
    let values = Energy.values terms
    { States = detached
      Errors = Energy.errors detached mus
      Output = mus[mus.Length - 1]
      LayerEnergies = values
      Energy = Array.sum values
      Steps = steps }
