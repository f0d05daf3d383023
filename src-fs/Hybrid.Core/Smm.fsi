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
