module Hybrid.Smm

/// SMMs of a memory recall, softmax(delta (o Q + b) K^T) V: three products in a row
/// (all memories recall in parallel).
val memoryRecall: int

/// SMMs of the initialisation of a network with `depth` blocks: the time at which
/// the last layer's h^(0) is ready when every layer starts as soon as its input is.
/// A forward layer is ready one product after the layer below; a memory after its
/// recall; stream average, keep, zero and random at once. When the top hidden layer
/// is forward-initialised the sweep also yields mu_L (one product more). Full forward
/// initialisation costs L; `forward[1..m] + avg` costs m; `forward[1..3] + mem` 3.
val initialisation: init: Initializer -> depth: int -> int

/// One backpropagation update: L forward products and L-1 backward ones.
val backprop: depth: int -> int

/// One predictive-coding update with `steps` inference steps. sPC: 2 per step
/// (prediction and error exchange, all layers in parallel) plus the
/// initialisation. ePC: each step is a full forward and backward sweep
/// (2L - 1), plus the closing sweep that rebuilds the states (L).
val predictiveCoding:
  reparam: Reparam -> init: Initializer -> depth: int -> steps: int -> int

/// Block products one backpropagation update computes (not only its critical path): L
/// forward, L - 1 to the inputs, L to the weights.
val backpropProducts: depth: int -> int

/// Block products one predictive-coding update computed: the initialisation's
/// predictions, inference's predictions and products to the states (`Products`), and
/// one weight product per block whose gradient can be nonzero. With sPC's sparse path
/// this is what was actually computed, below the dense count when errors are exactly zero.
val products: init: InitResult -> r: InferenceResult -> int
