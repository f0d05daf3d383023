/// The initializer algebra (SPEC.md 1.2): how the hidden states h^(0) of a
/// batch are set before inference. Initializers are values: they print, parse,
/// compare, and compose by layer range ("forward for layers 1..2, stream
/// average above" is `forward[1..2] + avg[3..]`).
namespace Hybrid

open System
open System.Globalization
open TorchSharp

/// One way to initialise a layer.
[<RequireQualifiedAccess>]
type InitKind =
    /// Each unit drawn from N(mean, std^2).
    | Random of mean: float * std: float
    /// All zeros.
    | Zero
    /// The previous batch's final states (first batch, or a batch of another size: forward).
    | Keep
    /// The prediction of the layer below, computed bottom-up: all errors of these layers are 0.
    | Forward
    /// The mean final state of the previous batches' samples of the same class (Eq. 7).
    | StreamAverage
    /// Recall from a Hopfield-layer memory of the observation (Eq. 8), trained towards
    /// the inferred states after each batch (Eq. 9).
    | Memory of MemorySpec

    override this.ToString() =
        match this with
        | Random(m, s) -> String.Format(CultureInfo.InvariantCulture, "random({0},{1})", m, s)
        | Zero -> "zero"
        | Keep -> "keep"
        | Forward -> "forward"
        | StreamAverage -> "avg"
        | Memory spec -> string spec

/// A contiguous range of layers initialised one way. `Last = None` runs to the top.
type InitSegment = { Kind: InitKind; Last: int option }

/// An initializer: segments covering the free layers in order, from layer `Start`
/// (1 for networks with a clamped input; 0 when the input h_0 is a free latent, as
/// in generative networks). A single open segment covers every free layer.
[<CustomEquality; NoComparison>]
type Initializer =
    { Start: int
      Segments: InitSegment list }

    override this.Equals(other) =
        match other with
        | :? Initializer as o -> o.Segments = this.Segments && (o.Start = this.Start || o.Segments.Length = 1 && o.Segments.Head.Last.IsNone)
        | _ -> false

    override this.GetHashCode() = hash this.Segments

    /// The canonical text form, e.g. `forward`, `forward[1..2] + avg[3..]`.
    override this.ToString() =
        match this.Segments with
        | [ { Kind = k; Last = None } ] -> string k
        | segs ->
            let mutable first = this.Start
            let parts =
                [ for s in segs ->
                      let r =
                          match s.Last with
                          | Some l -> sprintf "[%d..%d]" first l
                          | None -> sprintf "[%d..]" first
                      first <- (defaultArg s.Last 0) + 1
                      string s.Kind + r ]
            String.Join(" + ", parts)

    /// The kind used for hidden layer `l` (1-based) of a network with `hidden` hidden layers.
    member this.KindAt(l: int) =
        let rec go segs =
            match segs with
            | [] -> invalidArg "layer" (sprintf "initializer %O does not cover hidden layer %d" this l)
            | s :: rest ->
                match s.Last with
                | Some last when l > last -> go rest
                | _ -> s.Kind
        go this.Segments

    /// True when some layer uses `kind` (compared by case).
    member this.Uses(test: InitKind -> bool) = this.Segments |> List.exists (fun s -> test s.Kind)

    /// Checks that the segments tile the free layers `first`..`last` exactly.
    member this.Validate(firstFree: int, hidden: int) =
        let wholeRange = (match this.Segments with [ { Last = None } ] -> true | _ -> false)
        if not wholeRange && this.Start <> firstFree then
            if firstFree = 0 then invalidArg "init" (sprintf "initializer %O starts at layer %d but the latent layer 0 is free too: start the first range at 0" this this.Start)
            else invalidArg "init" (sprintf "initializer %O names layer 0, but layer 0 is the clamped input" this)
        let rec go first segs =
            match segs with
            | [] -> if first <= hidden then invalidArg "init" (sprintf "initializer %O leaves hidden layers %d..%d uncovered" this first hidden)
            | [ { Last = None } ] -> ()
            | { Last = None } :: _ -> invalidArg "init" (sprintf "initializer %O: only the last segment may be open-ended" this)
            | { Last = Some last } :: rest ->
                if last < first then invalidArg "init" (sprintf "initializer %O: empty layer range ending at %d" this last)
                if last > hidden then
                    invalidArg "init" (sprintf "initializer %O names layer %d but the network has %d hidden layers" this last hidden)
                go (last + 1) rest
        match this.Segments with
        | [] -> invalidArg "init" "an initializer needs at least one segment"
        | segs -> go firstFree segs

    /// Checks that the segments tile hidden layers 1..hidden (a clamped input).
    member this.Validate(hidden: int) = this.Validate(1, hidden)

module Init =
    let private whole k = { Start = 1; Segments = [ { Kind = k; Last = None } ] }

    /// N(mean, std^2) per unit.
    let random mean std =
        if not (std >= 0.0) then invalidArg "std" (sprintf "random initializer needs std >= 0, got %g" std)
        whole (InitKind.Random(mean, std))

    /// All zeros.
    let zero = whole InitKind.Zero
    /// The previous batch's final states.
    let keep = whole InitKind.Keep
    /// The forward sweep.
    let forward = whole InitKind.Forward
    /// The stream average (Eq. 7).
    let streamAverage = whole InitKind.StreamAverage
    /// A Hopfield-layer memory per layer (Eq. 8).
    let memory (spec: MemorySpec) =
        spec.Validate()
        whole (InitKind.Memory spec)

    /// `split m lower upper`: layers 1..m from `lower`, the rest from `upper`.
    let split (m: int) (lower: Initializer) (upper: Initializer) =
        if m < 1 then invalidArg "m" (sprintf "split point must be at least 1, got %d" m)
        let rec cut segs =
            match segs with
            | [] -> []
            | s :: rest ->
                match s.Last with
                | Some l when l < m -> s :: cut rest
                | _ -> [ { s with Last = Some m } ]
        let rec shift segs =
            match segs with
            | [] -> []
            | s :: rest -> { s with Last = s.Last |> Option.map (fun l -> l + m) } :: shift rest
        { Start = lower.Start; Segments = cut lower.Segments @ shift upper.Segments }
