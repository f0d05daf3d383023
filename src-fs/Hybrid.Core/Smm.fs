/// Cost accounting in sequential matrix multiplications (SMM, SPEC.md 1.3):
/// the matrix products on the critical path of one weight update when every
/// layer runs in parallel.
module Hybrid.Smm

/// SMMs of the initialisation of a network with `depth` blocks: the longest chain
/// of consecutive forward-initialised layers (the sweep computes one layer after
/// another), plus one when the chain reaches the top hidden layer (the sweep then
/// also yields mu_L). Full forward initialisation costs L; `forward[1..m] + avg`
/// costs m; stream average, keep, zero and random cost 0.
let initialisation (init: Initializer) (depth: int) : int =
    let mutable run = 0
    let mutable best = 0
    for l in 1 .. depth - 1 do
        if init.KindAt l = InitKind.Forward then
            run <- run + 1
            best <- max best run
        else run <- 0
    if depth >= 2 && init.KindAt(depth - 1) = InitKind.Forward then best + 1 else best

/// One backpropagation update: L forward products and L-1 backward ones.
let backprop (depth: int) = 2 * depth - 1

/// One predictive-coding update with `steps` inference steps. sPC: 2 per step
/// (prediction and error exchange, all layers in parallel) plus the
/// initialisation. ePC: each step is a full forward and backward sweep
/// (2L - 1), plus the closing sweep that rebuilds the states (L).
let predictiveCoding (reparam: Reparam) (init: Initializer) (depth: int) (steps: int) =
    match reparam with
    | Reparam.States -> 2 * steps + initialisation init depth
    | Reparam.Errors -> steps * (2 * depth - 1) + depth
