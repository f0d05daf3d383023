/// Every closed choice of the configuration system in one table: the values, each
/// written by its canonical spelling (the type's `ToString`), and the older or
/// shorter spellings accepted as aliases. Nothing else in Hybrid parses these names.
module Hybrid.Choices

val private cases:
  what: string ->
    values: 'T list -> aliases: (string * string) list -> Choice<'T>
    when 'T: equality

/// auto, cpu, cuda.
val device: Choice<DeviceChoice>

/// float32, float64.
val precision: Choice<Precision>

/// unit, standardise.
val normalisation: Choice<Data.Normalisation>

/// random, stream.
val batching: Choice<Data.Batching>

/// identity, relu, leaky_relu, gelu, elu, tanh, sigmoid.
val activation: Choice<Activation>

/// mse, ce.
val loss: Choice<Loss>

/// sp, mupc, ntp.
val parameterisation: Choice<Parameterisation>

/// default, kaiming, lecun.
val weightInit: Choice<WeightInit>

/// spc, epc.
val reparam: Choice<Reparam>

/// The kinds of model of a run.
val modelKind: Choice<string>

/// bp (backpropagation) or pc (predictive coding).
val algorithm: Choice<string>

/// The weight optimisers.
val optimizer: Choice<string>

/// The names of the initializer kinds (the kinds with settings, random and mem, are
/// parsed by `InitText`).
val initKind: Choice<InitKind>

/// The settings of a memory initializer, `mem(slots=..,...)`: key aliases.
val memorySettingAliases: (string * string) list

/// The HAM solvers without settings; `damped:D` is parsed by `solver`.
val private plainSolver: Choice<Ham.Solver>

/// A HAM solver: `picard`, `damped:D` (D in (0,1], default 0.5), `anderson`,
/// `even-odd`, `even-odd-anderson` (Anderson with memory 4 and Tikhonov 1e-4).
val solver: text: string -> Ham.Solver

/// The canonical spelling of a solver (`solver` reads it back).
val solverName: s: Ham.Solver -> string

/// Every table, by name, for the documentation check and `hybrid config schema`.
val aliases: (string * (string * string) list) list
