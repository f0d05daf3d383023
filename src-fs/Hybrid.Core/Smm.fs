/// Cost accounting in sequential matrix multiplications (SMM, SPEC.md 1.3):
/// the matrix products on the critical path of one weight update when every
/// layer runs in parallel.
module Hybrid.Smm

/// SMMs of a memory recall, softmax(delta (o Q + b) K^T) V: three products in a row
/// (all memories recall in parallel).
let memoryRecall = 3

/// SMMs of the initialisation of a network with `depth` blocks: the time at which
/// the last layer's h^(0) is ready when every layer starts as soon as its input is.
/// A forward layer is ready one product after the layer below; a memory after its
/// recall; stream average, keep, zero and random at once. When the top hidden layer
/// is forward-initialised the sweep also yields mu_L (one product more). Full forward
/// initialisation costs L; `forward[1..m] + avg` costs m; `forward[1..3] + mem` 3.
let initialisation (init: Initializer) (depth: int) : int =
    let readyAt (kind: InitKind) below =
        match kind with
        | InitKind.Forward -> below + 1
        | InitKind.Memory _ -> memoryRecall
        | _ -> 0
    // Layer 0: the clamped input (ready at once), or a free latent initialised by `init`.
    let mutable ready = if init.Start = 0 then readyAt (init.KindAt 0) 0 else 0
    let mutable last = ready
    for l in 1 .. depth - 1 do
        ready <- readyAt (init.KindAt l) ready
        last <- max last ready
    if depth >= 2 && init.KindAt(depth - 1) = InitKind.Forward then max last (ready + 1) else last

/// One backpropagation update: L forward products and L-1 backward ones.
let backprop (depth: int) = 2 * depth - 1

/// Block products one backpropagation update computes (not only its critical path): L
/// forward, L - 1 to the inputs, L to the weights.
let backpropProducts (depth: int) = 3 * depth - 1

/// Block products one predictive-coding update computed: the initialisation's
/// predictions, inference's predictions and products to the states (`Products`), and
/// one weight product per block whose gradient can be nonzero. With sPC's sparse path
/// this is what was actually computed, below the dense count when errors are exactly zero.
let products (init: InitResult) (r: InferenceResult) =
    (init.Predictions |> Array.filter Option.isSome |> Array.length) + r.Products + r.LiveBlocks

/// One predictive-coding update with `steps` inference steps. sPC: 2 per step
/// (prediction and error exchange, all layers in parallel) plus the
/// initialisation. ePC: each step is a full forward and backward sweep
/// (2L - 1), plus the closing sweep that rebuilds the states (L).
let predictiveCoding (reparam: Reparam) (init: Initializer) (depth: int) (steps: int) =
    match reparam with
    | Reparam.States -> 2 * steps + initialisation init depth
    | Reparam.Errors -> steps * (2 * depth - 1) + depth
