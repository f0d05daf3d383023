/// Signal decay in sPC versus ePC (SPEC.md 1.4): on deep chains, how many
/// inference steps each reparameterisation needs to reach the exact linear
/// equilibrium, each at its own best stable step size, and how the per-layer
/// updates evolve step by step.
module Hybrid.Experiments.Decay

open System
open System.IO
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting

/// How the chain's weights are drawn.
[<RequireQualifiedAccess>]
type ChainWeights =
    /// PyTorch's default U(-1/sqrt(n), 1/sqrt(n)) with biases: each layer shrinks the signal (gain about 1/sqrt 3).
    | Default
    /// Random orthogonal matrices without biases: gain 1, the signal keeps its size through the chain.
    | Orthogonal

    override this.ToString() =
        match this with
        | Default -> "default"
        | Orthogonal -> "orthogonal"

/// The chain weights by name.
let chainWeights: Choice<ChainWeights> = { What = "chain weights"; Values = [ "default", ChainWeights.Default; "orthogonal", ChainWeights.Orthogonal ]; Aliases = [] }

/// A chain to study: `Depth` blocks of width `Width`, all with `Activation`.
type Chain =
    { Depth: int
      Width: int
      Activation: Activation
      Precision: Precision
      Weights: ChainWeights }

    override this.ToString() = sprintf "L=%d %O %O %O weights" this.Depth this.Activation this.Precision this.Weights

/// One tried step size.
type Attempt =
    { StepSize: float
      /// Steps to reach the tolerance (None: not reached within the budget).
      Steps: int option
      /// Whether the energy blew up.
      Diverged: bool }

/// The search's outcome for one reparameterisation.
type MethodResult =
    { Reparam: Reparam
      /// The fastest attempt that reached the tolerance, if any did.
      Best: Attempt option
      /// Every attempt, in the order tried.
      Attempts: Attempt list
      /// Per step, ||h_l^(t) - h_l^(t-1)|| for each hidden layer, at the chosen step size.
      UpdateNorms: float[][]
      /// Per step, the relative distance to the exact equilibrium (linear chains only).
      Distances: float[] }

/// sPC and ePC on one chain.
type CaseResult =
    { Chain: Chain
      Spc: MethodResult
      Epc: MethodResult }

    /// sPC steps / ePC steps, when both reached the tolerance.
    member this.Ratio =
        match this.Spc.Best, this.Epc.Best with
        | Some { Steps = Some s }, Some { Steps = Some e } -> Some(float s / float e)
        | _ -> None

/// The step sizes searched: 2 down to 2^-8 by factors of sqrt 2.
let stepGrid = [ for k in 0 .. 18 -> 2.0 * Math.Pow(2.0, -float k / 2.0) ]

/// The chain's network, its input and target (float64 draws cast to the chain's precision).
let private build (chain: Chain) (batch: int) (seed: int64) =
    let device = torch.CPU
    let arch = Architecture.Mlp(List.replicate (chain.Depth - 1) chain.Width, chain.Activation)
    let ref64 = Network.create arch Loss.SquaredError [| int64 chain.Width |] chain.Width Precision.Float64 device seed
    if chain.Weights = ChainWeights.Orthogonal then
        use _ = torch.no_grad ()
        use g = Rng.generator (Rng.derive seed "orthogonal") device
        for b in ref64.Blocks do
            let struct (q, _) = torch.linalg.qr(torch.randn(b.Weight.shape, dtype = torch.float64, generator = g))
            b.Weight.copy_(q) |> ignore
            match b.Bias with
            | Some bias -> bias.zero_() |> ignore
            | None -> ()
    let net =
        if chain.Precision = Precision.Float64 then ref64
        else
            let n = Network.create arch Loss.SquaredError [| int64 chain.Width |] chain.Width chain.Precision device seed
            Network.copyParameters ref64 n
            n
    use g = Rng.generator (Rng.derive seed "decay-data") device
    let x64 = torch.randn([| int64 batch; int64 chain.Width |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
    let y64 = torch.randn([| int64 batch; int64 chain.Width |], dtype = torch.float64, generator = g).DetachFromDisposeScope()
    ref64, net, x64, y64

/// Runs inference from the forward pass and returns the steps to reach `tolerance`
/// relative distance to `exact` (None: not within `maxSteps`), or a divergence.
let private attempt (net: Network) (x: torch.Tensor) (y: torch.Tensor) (exact: torch.Tensor[]) (reparam: Reparam) (stepSize: float) (maxSteps: int) (tolerance: float) =
    use _ = torch.NewDisposeScope()
    use g = Rng.generator 0L torch.CPU
    use st = new InitState(1, 0L)
    let ctx = InitContext.input net x g
    let init = InitApply.apply Init.forward st ctx true
    let opts = { InferenceOptions.spc maxSteps stepSize with Reparam = reparam }
    let mutable reached = None
    try
        Inference.observed net opts init (Some y) (fun t states ->
            let d = Equilibrium.distance states exact
            if not (Double.IsFinite d) || d > 1e6 then
                raise (DivergenceError { Layer = None; Step = t; Batch = None; Energy = d; StepSize = stepSize; Reparam = reparam; Cause = DivergenceCause.StepSize; Block = None })
            if d <= tolerance then
                reached <- Some t
                true
            else false)
        |> ignore
        { StepSize = stepSize; Steps = reached; Diverged = false }
    with DivergenceError _ -> { StepSize = stepSize; Steps = None; Diverged = true }

/// Records per-layer update norms and distances for `steps` steps at `stepSize`.
let private trace (net: Network) (x: torch.Tensor) (y: torch.Tensor) (exact: torch.Tensor[] option) (reparam: Reparam) (stepSize: float) (steps: int) =
    use _ = torch.NewDisposeScope()
    use g = Rng.generator 0L torch.CPU
    use st = new InitState(1, 0L)
    let ctx = InitContext.input net x g
    let init = InitApply.apply Init.forward st ctx true
    let opts = { InferenceOptions.spc steps stepSize with Reparam = reparam; Record = true; DivergenceFactor = infinity }
    let distances = ResizeArray()
    let r =
        Inference.observed net opts init (Some y) (fun _ states ->
            match exact with
            | Some e -> distances.Add(Equilibrium.distance states e)
            | None -> ()
            false)
    r.UpdateNorms, distances.ToArray()

/// Searches each reparameterisation's step sizes (largest first; an attempt is cut
/// off once it needs more steps than the best so far) and traces the best one.
/// Nonlinear chains have no exact equilibrium: they are traced at the step size
/// found for the linear chain of the same depth and precision (`stepHint`).
let run (chain: Chain) (batch: int) (maxSteps: int) (tolerance: float) (traceSteps: int) (seed: int64) (stepHint: (Reparam -> float) option) : CaseResult =
    let ref64, net, x64, y64 = build chain batch seed
    try
        let x = x64.``to``(chain.Precision.ScalarType)
        let y = y64.``to``(chain.Precision.ScalarType)
        let linear = chain.Activation = Activation.Identity
        let exact = if linear then Some(Equilibrium.linear ref64 x64 y64 |> Array.map (fun t -> t.``to``(chain.Precision.ScalarType))) else None
        let search reparam =
            match exact with
            | Some e ->
                let attempts = ResizeArray<Attempt>()
                let mutable best: Attempt option = None
                let mutable worse = 0
                let mutable i = 0
                while i < stepGrid.Length && worse < 3 do
                    let budget =
                        match best with
                        | Some { Steps = Some s } -> s
                        | _ -> maxSteps
                    let a = attempt net x y e reparam stepGrid[i] budget tolerance
                    attempts.Add a
                    match a.Steps, best with
                    | Some s, Some { Steps = Some b } when s < b ->
                        best <- Some a
                        worse <- 0
                    | Some _, None -> best <- Some a
                    | _, Some _ -> worse <- worse + 1
                    | None, None -> ()
                    i <- i + 1
                best, List.ofSeq attempts
            | None -> None, []
        let spcBest, spcAttempts = search Reparam.States
        let epcBest, epcAttempts = search Reparam.Errors
        // Both traces run for the same number of steps: long enough for the slower
        // method to converge, at most `traceSteps`.
        let longest =
            [ spcBest; epcBest ] |> List.choose (function Some { Steps = Some s } -> Some s | _ -> None)
        let steps = if longest.IsEmpty then traceSteps else min traceSteps (List.max longest)
        let study reparam best attempts =
            let stepSize =
                match best, stepHint with
                | Some b, _ -> b.StepSize
                | None, Some h -> h reparam
                | None, None -> stepGrid[stepGrid.Length - 1]
            let norms, dists = trace net x y exact reparam stepSize steps
            { Reparam = reparam; Best = best; Attempts = attempts; UpdateNorms = norms; Distances = dists }
        { Chain = chain; Spc = study Reparam.States spcBest spcAttempts; Epc = study Reparam.Errors epcBest epcAttempts }
    finally
        (net :> IDisposable).Dispose()
        if not (obj.ReferenceEquals(net, ref64)) then (ref64 :> IDisposable).Dispose()
        x64.Dispose()
        y64.Dispose()

/// What `hybrid decay` studies.
type Settings =
    { /// Chain depths L (blocks).
      Depths: int list
      Width: int
      /// Samples per chain.
      Batch: int
      /// Inference step budget per attempt.
      MaxSteps: int
      /// Relative distance to the exact equilibrium counted as reached.
      Tolerance: float
      /// Steps recorded for the update-magnitude plots.
      TraceSteps: int
      Seed: int64
      Weights: ChainWeights
      /// Folder for the plots, CSV and JSON.
      Out: string }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        if this.Depths.IsEmpty then invalidArg "depths" "depths needs at least one depth"
        for d in this.Depths do
            if d < 2 then invalidArg "depths" (sprintf "depths: %d is not a depth of at least 2" d)
        if this.Width < 1 then invalidArg "width" (sprintf "width must be at least 1, got %d" this.Width)
        if this.Batch < 1 then invalidArg "batch" (sprintf "batch must be at least 1, got %d" this.Batch)
        if this.MaxSteps < 1 then invalidArg "maxSteps" (sprintf "maxSteps must be at least 1, got %d" this.MaxSteps)
        if not (this.Tolerance > 0.0 && this.Tolerance < 1.0) then invalidArg "tolerance" (sprintf "tolerance must be in (0,1) (a relative distance), got %g" this.Tolerance)
        if this.TraceSteps < 1 then invalidArg "traceSteps" (sprintf "traceSteps must be at least 1, got %d" this.TraceSteps)

/// Depths 5, 10, 20 of width 32, PyTorch's default weights.
let defaults =
    { Depths = [ 5; 10; 20 ]; Width = 32; Batch = 16; MaxSteps = 20000; Tolerance = 1e-3; TraceSteps = 400; Seed = 0L; Weights = ChainWeights.Default; Out = "runs/decay" }

/// The JSON form of the settings.
let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "depths" "Chain depths L (blocks)" (Codec.items Codec.int) (fun s -> s.Depths) (fun v s -> { s with Depths = v })
          Codec.field "width" "Width of every layer" Codec.int (fun s -> s.Width) (fun v s -> { s with Width = v })
          Codec.field "batch" "Samples per chain" Codec.int (fun s -> s.Batch) (fun v s -> { s with Batch = v })
          Codec.field "maxSteps" "Inference step budget per attempt" Codec.int (fun s -> s.MaxSteps) (fun v s -> { s with MaxSteps = v })
          Codec.field "tolerance" "Relative distance to the exact equilibrium counted as reached" Codec.float (fun s -> s.Tolerance) (fun v s -> { s with Tolerance = v })
          Codec.field "traceSteps" "Steps recorded for the update-magnitude plots" Codec.int (fun s -> s.TraceSteps) (fun v s -> { s with TraceSteps = v })
          Codec.field "seed" "Seed of weights and data" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v })
          Codec.field "weights" "Chain weights: default (PyTorch's, each layer shrinks the signal) or orthogonal (gain 1)" (Codec.choice chainWeights) (fun s -> s.Weights) (fun v s -> { s with Weights = v })
          Codec.field "out" "Folder for the plots, CSV and JSON" Codec.string (fun s -> s.Out) (fun v s -> { s with Out = v }) ]
    |> Codec.check (fun s -> s.Validate())

let private steps (m: MethodResult) = match m.Best with Some { Steps = Some s } -> Some s | _ -> None

let private stepsText (m: MethodResult) (budget: int) = match steps m with Some s -> string s | None -> sprintf "> %d" budget

let private describe (m: MethodResult) =
    match m.Best with
    | Some b -> sprintf "step %s: %s steps" (b.StepSize.ToString("G3", Report.culture)) (stepsText m 0)
    | None -> sprintf "not reached (%d step sizes tried)" m.Attempts.Length

/// Per-layer update norms of a few layers (first, quartiles, last) as plot lines.
let private seriesFor (m: MethodResult) (dashed: bool) =
    if m.UpdateNorms.Length = 0 then []
    else
        let layers = m.UpdateNorms[0].Length
        [ for l in Set.ofList [ 0; layers / 4; layers / 2; 3 * layers / 4; layers - 1 ] ->
              { Plots.series (sprintf "%O layer %d" m.Reparam (l + 1)) [ for i in 1 .. m.UpdateNorms.Length -> float i ] [ for step in m.UpdateNorms -> step[l] ] with
                  Dashed = dashed } ]

/// The outcome of a study: every chain's result, and the files written.
type Study =
    { Settings: Settings
      /// Per depth: the linear chain in float64, the tanh chain, then both in float32.
      Cases: CaseResult list
      /// The per-layer update plots, one per case.
      Plots: string list
      /// Every attempted step size.
      Csv: string }

/// The study as JSON (also written to `Out/decay.json`): settings, and per linear
/// chain the best step sizes, steps and their ratio.
let private json (st: Study) : JsonObject =
    let s = st.Settings
    let stepSize (m: MethodResult) = m.Best |> Option.map (fun b -> b.StepSize)
    let stepsJson (m: MethodResult) = match steps m with Some n -> Report.int n | None -> null
    Report.object
        [ "tolerance", Report.num s.Tolerance
          "weights", Report.str (string s.Weights)
          "width", Report.int s.Width
          "batch", Report.int s.Batch
          "maxSteps", Report.int s.MaxSteps
          "seed", Report.long s.Seed
          "cases",
          JsonArray(
              [| for r in st.Cases do
                     if r.Chain.Activation = Activation.Identity then
                         yield
                             Report.object
                                 [ "depth", Report.int r.Chain.Depth
                                   "precision", Report.str (string r.Chain.Precision)
                                   "spcStepSize", Report.optional (stepSize r.Spc)
                                   "spcSteps", stepsJson r.Spc
                                   "epcStepSize", Report.optional (stepSize r.Epc)
                                   "epcSteps", stepsJson r.Epc
                                   "ratio", Report.optional r.Ratio ]
                             :> JsonNode |])
          "plots", Report.strings st.Plots
          "csv", Report.str st.Csv ]

/// Runs every depth in float64 and float32: the linear chain (step sizes searched),
/// then the tanh chain at the linear chain's step sizes; writes the per-layer update
/// plots, every attempt (decay.csv) and decay.json into `Out`.
let study (s: Settings) (observer: Observer) : Study =
    s.Validate()
    Directory.CreateDirectory s.Out |> ignore
    let c = Report.culture
    let results =
        [ for depth in s.Depths do
              for precision in [ Precision.Float64; Precision.Float32 ] do
                  let chain = { Depth = depth; Width = s.Width; Activation = Activation.Identity; Precision = precision; Weights = s.Weights }
                  observer.Message(sprintf "linear %O: searching step sizes..." chain)
                  let r = run chain s.Batch s.MaxSteps s.Tolerance s.TraceSteps s.Seed None
                  yield r
                  observer.Message(sprintf "  sPC %s; ePC %s" (describe r.Spc) (describe r.Epc))
                  let hint reparam =
                      match (if reparam = Reparam.States then r.Spc.Best else r.Epc.Best) with
                      | Some b -> b.StepSize
                      | None -> 0.1
                  let tanh = { chain with Activation = Activation.Tanh }
                  observer.Message(sprintf "tanh %O: tracing at the linear chain's step sizes..." tanh)
                  yield run tanh s.Batch s.MaxSteps s.Tolerance s.TraceSteps s.Seed (Some hint) ]
    let plots =
        [ for r in results ->
              let path = Path.Combine(s.Out, sprintf "decay-L%d-%O-%O-%O.png" r.Chain.Depth r.Chain.Activation r.Chain.Precision r.Chain.Weights)
              Plots.write
                  { Plots.figure path (sprintf "Per-layer update magnitude, %O (solid sPC, dashed ePC)" r.Chain) "inference step" "||h_l(t) - h_l(t-1)||"
                        (seriesFor r.Spc false @ seriesFor r.Epc true) with
                      LogY = true }
              path ]
    let csv = Path.Combine(s.Out, "decay.csv")
    let attempts =
        [ for r in results do
              for m in [ r.Spc; r.Epc ] do
                  for a in m.Attempts ->
                      String.Join(",",
                          [ string r.Chain.Depth; string r.Chain.Activation; string r.Chain.Precision; string m.Reparam; a.StepSize.ToString("R", c)
                            (match a.Steps with Some n -> string n | None -> ""); (if a.Diverged then "True" else "False")
                            (match m.Best with Some b when b.StepSize = a.StepSize -> "True" | _ -> "False") ]) ]
    File.WriteAllLines(csv, "depth,activation,precision,method,step_size,steps,diverged,best" :: attempts)
    let st = { Settings = s; Cases = results; Plots = plots; Csv = csv }
    Report.writeJson (Path.Combine(s.Out, "decay.json")) (json st)
    st

/// The study as a report: its JSON, and the table of steps to the equilibrium.
let report (st: Study) : Report =
    let s = st.Settings
    let c = Report.culture
    let linear = st.Cases |> List.filter (fun r -> r.Chain.Activation = Activation.Identity)
    let stepSize (m: MethodResult) = m.Best |> Option.map (fun b -> b.StepSize)
    let g3 (x: float option) = match x with Some v -> v.ToString("G3", c) | None -> "-"
    { Report.ofJson (json st) with
        Tables =
          [ { Title =
                sprintf "Steps to %s relative distance of the exact linear equilibrium (%O weights, width %d, batch %d, budget %d); paper: ~130-140x at L=20"
                    (s.Tolerance.ToString("G", c)) s.Weights s.Width s.Batch s.MaxSteps
              Header = [ "L"; "precision"; "sPC step"; "sPC steps"; "ePC step"; "ePC steps"; "sPC/ePC" ]
              Rows =
                [ for r in linear ->
                      [ string r.Chain.Depth; string r.Chain.Precision; g3 (stepSize r.Spc); stepsText r.Spc s.MaxSteps; g3 (stepSize r.Epc)
                        stepsText r.Epc s.MaxSteps; (match r.Ratio with Some q -> q.ToString("F1", c) + "x" | None -> "-") ] ] } ]
        Lines = [ sprintf "plots: %s" (String.Join(", ", st.Plots)); sprintf "all attempts: %s" st.Csv ] }
