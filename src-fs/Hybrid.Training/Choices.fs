/// Every closed choice of the configuration system in one table: the values, each
/// written by its canonical spelling (the type's `ToString`), and the older or
/// shorter spellings accepted as aliases. Nothing else in Hybrid parses these names.
module Hybrid.Choices

open System
open System.Globalization
open Hybrid.Data

let private cases (what: string) (values: 'T list) (aliases: (string * string) list) : Choice<'T> =
    { What = what; Values = values |> List.map (fun v -> string v, v); Aliases = aliases }

/// auto, cpu, cuda.
let device = cases "device" [ DeviceChoice.Auto; DeviceChoice.Cpu; DeviceChoice.Cuda ] [ "gpu", "cuda" ]

/// float32, float64.
let precision =
    cases "precision" [ Precision.Float32; Precision.Float64 ] [ "f32", "float32"; "single", "float32"; "float", "float32"; "f64", "float64"; "double", "float64" ]

/// unit, standardise.
let normalisation =
    cases "normalisation" [ Normalisation.Unit; Normalisation.Standardise ] [ "none", "unit"; "standardize", "standardise"; "std", "standardise" ]

/// random, stream.
let batching = cases "batching" [ Batching.Random; Batching.StreamAligned ] [ "shuffle", "random"; "stream-aligned", "stream"; "aligned", "stream" ]

/// identity, relu, leaky_relu, gelu, elu, tanh, sigmoid.
let activation = cases "activation" Activation.All [ "leaky-relu", "leaky_relu"; "linear", "identity" ]

/// mse, ce.
let loss =
    cases "loss" [ Loss.SquaredError; Loss.CrossEntropy ]
        [ "squared_error", "mse"; "squared-error", "mse"; "se", "mse"; "cross_entropy", "ce"; "cross-entropy", "ce"; "xent", "ce" ]

/// sp, mupc, ntp.
let parameterisation =
    cases "parameterisation" [ Parameterisation.Sp; Parameterisation.MuPC; Parameterisation.Ntp ] [ "standard", "sp"; "mu_pc", "mupc"; "μpc", "mupc" ]

/// default, kaiming, lecun.
let weightInit = cases "weight initialisation" [ WeightInit.Default; WeightInit.Kaiming; WeightInit.Lecun ] [ "pytorch", "default"; "he", "kaiming" ]

/// spc, epc.
let reparam = cases "reparameterisation" [ Reparam.States; Reparam.Errors ] [ "states", "spc"; "state", "spc"; "errors", "epc"; "error", "epc" ]

/// The kinds of model of a run.
let modelKind: Choice<string> = { What = "model"; Values = [ for k in [ "mlp"; "resmlp"; "conv"; "alexnet"; "vgg5"; "vgg7"; "resnet18"; "custom" ] -> k, k ]; Aliases = [ "residual-mlp", "resmlp" ] }

/// bp (backpropagation) or pc (predictive coding).
let algorithm: Choice<string> = { What = "algorithm"; Values = [ "bp", "bp"; "pc", "pc" ]; Aliases = [ "backprop", "bp" ] }

/// The weight optimisers.
let optimizer: Choice<string> = { What = "optimiser"; Values = [ "adamw", "adamw"; "sgd", "sgd" ]; Aliases = [] }

/// The names of the initializer kinds (the kinds with settings, random and mem, are
/// parsed by `InitText`).
let initKind =
    cases "initializer kind" [ InitKind.Zero; InitKind.Keep; InitKind.Forward; InitKind.StreamAverage ]
        [ "zeros", "zero"; "null", "keep"; "fw", "forward"; "average", "avg"; "stream-average", "avg"; "stream_average", "avg" ]

/// The settings of a memory initializer, `mem(slots=..,...)`: key aliases.
let memorySettingAliases = [ "p", "slots"; "e", "dim"; "embedding", "dim"; "a", "heads" ]

/// The HAM solvers without settings; `damped:D` is parsed by `solver`.
let private plainSolver =
    { What = "solver"
      Values =
        [ "picard", Ham.Solver.Picard
          "anderson", Ham.Solver.Anderson(4, 1e-4)
          "even-odd", Ham.Solver.EvenOdd
          "even-odd-anderson", Ham.Solver.EvenOddAnderson(4, 1e-4) ]
      Aliases =
        [ "sync", "picard"; "synchronous", "picard"; "deq", "anderson"; "deq-anderson", "anderson"; "evenodd", "even-odd"
          "evenodd-anderson", "even-odd-anderson"; "even-odd+anderson", "even-odd-anderson" ] }

/// A HAM solver: `picard`, `damped:D` (D in (0,1], default 0.5), `anderson`,
/// `even-odd`, `even-odd-anderson` (Anderson with memory 4 and Tikhonov 1e-4).
let solver (text: string) : Ham.Solver =
    let s = if isNull text then "" else text.Trim().ToLowerInvariant()
    if s.StartsWith "damped" then
        let parts = s.Split(':')
        let d =
            if parts.Length = 1 && parts[0] = "damped" then 0.5
            elif parts.Length = 2 then
                match Double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, v -> v
                | _ -> raise (ConfigError(sprintf "damping '%s' is not a number" parts[1]))
            else raise (ConfigError(sprintf "unknown solver '%s' (expected damped:D)" text))
        if not (d > 0.0 && d <= 1.0) then raise (ConfigError(sprintf "damping must be in (0,1], got %g" d))
        Ham.Solver.Damped d
    else
        match plainSolver.TryParse s with
        | Some v -> v
        | None -> raise (ConfigError(sprintf "unknown solver '%s' (expected picard, damped:D, anderson, even-odd or even-odd-anderson)" text))

/// The canonical spelling of a solver (`solver` reads it back).
let solverName (s: Ham.Solver) =
    match s with
    | Ham.Solver.Damped d -> sprintf "damped:%s" (d.ToString("R", CultureInfo.InvariantCulture))
    | Ham.Solver.Picard -> "picard"
    | Ham.Solver.Anderson _ -> "anderson"
    | Ham.Solver.EvenOdd -> "even-odd"
    | Ham.Solver.EvenOddAnderson _ -> "even-odd-anderson"

/// Every table, by name, for the documentation check and `hybrid config schema`.
let aliases: (string * (string * string) list) list =
    [ device.What, device.Aliases
      precision.What, precision.Aliases
      normalisation.What, normalisation.Aliases
      batching.What, batching.Aliases
      activation.What, activation.Aliases
      loss.What, loss.Aliases
      parameterisation.What, parameterisation.Aliases
      weightInit.What, weightInit.Aliases
      reparam.What, reparam.Aliases
      initKind.What, initKind.Aliases
      modelKind.What, modelKind.Aliases
      algorithm.What, algorithm.Aliases
      "memory setting", memorySettingAliases
      plainSolver.What, plainSolver.Aliases ]
