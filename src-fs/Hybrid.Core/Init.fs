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

    override this.ToString() =
        match this with
        | Random(m, s) -> String.Format(CultureInfo.InvariantCulture, "random({0},{1})", m, s)
        | Zero -> "zero"
        | Keep -> "keep"
        | Forward -> "forward"
        | StreamAverage -> "avg"

/// A contiguous range of hidden layers initialised one way. `Last = None` runs to the top.
type InitSegment = { Kind: InitKind; Last: int option }

/// An initializer: segments covering hidden layers 1, 2, ... in order.
[<CustomEquality; NoComparison>]
type Initializer =
    { Segments: InitSegment list }

    override this.Equals(other) =
        match other with
        | :? Initializer as o -> o.Segments = this.Segments
        | _ -> false

    override this.GetHashCode() = hash this.Segments

    /// The canonical text form, e.g. `forward`, `forward[1..2] + avg[3..]`.
    override this.ToString() =
        match this.Segments with
        | [ { Kind = k; Last = None } ] -> string k
        | segs ->
            let mutable first = 1
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

    /// Checks that the segments tile hidden layers 1..hidden exactly.
    member this.Validate(hidden: int) =
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
        | segs -> go 1 segs

module Init =
    let private whole k = { Segments = [ { Kind = k; Last = None } ] }

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
        { Segments = cut lower.Segments @ shift upper.Segments }

    /// Parses the text form: pieces `kind[a..b]` joined by `+`; kinds `random(mean,std)`,
    /// `zero`, `keep` (or `null`), `forward` (or `fw`), `avg` (or `stream-average`).
    let parse (text: string) : Initializer =
        if String.IsNullOrWhiteSpace text then invalidArg "init" "empty initializer"
        let bad why = invalidArg "init" (sprintf "cannot parse initializer '%s': %s" text why)
        let parseKind (s: string) =
            let s = s.Trim().ToLowerInvariant()
            let num (v: string) =
                match Double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
                | true, x -> x
                | _ -> bad (sprintf "'%s' is not a number" v)
            if s.StartsWith "random" || s.StartsWith "normal" then
                let o = s.IndexOf '('
                if o < 0 then InitKind.Random(0.0, 1.0)
                else
                    if not (s.EndsWith ")") then bad "missing ')'"
                    match s.Substring(o + 1, s.Length - o - 2).Split(',') with
                    | [| m; sd |] ->
                        let sd = num sd
                        if sd < 0.0 then bad "std must be >= 0"
                        InitKind.Random(num m, sd)
                    | _ -> bad "random takes (mean,std)"
            else
                match s with
                | "zero" | "zeros" -> InitKind.Zero
                | "keep" | "null" -> InitKind.Keep
                | "forward" | "fw" -> InitKind.Forward
                | "avg" | "average" | "stream-average" | "stream_average" -> InitKind.StreamAverage
                | other -> bad (sprintf "unknown kind '%s' (expected random(m,s), zero, keep, forward, avg)" other)
        let pieces = text.Split('+') |> Array.map (fun p -> p.Trim())
        let parsed =
            [ for p in pieces ->
                  let b = p.LastIndexOf '['
                  if b < 0 then parseKind p, None
                  else
                      if not (p.EndsWith "]") then bad (sprintf "missing ']' in '%s'" p)
                      let range = p.Substring(b + 1, p.Length - b - 2)
                      let dots = range.IndexOf ".."
                      if dots < 0 then bad (sprintf "range '%s' is not of the form a..b or a.." range)
                      let toInt (v: string) =
                          match Int32.TryParse(v.Trim()) with
                          | true, x -> x
                          | _ -> bad (sprintf "'%s' is not a layer number" v)
                      let first = toInt (range.Substring(0, dots))
                      let lastText = range.Substring(dots + 2).Trim()
                      let last = if lastText = "" then None else Some(toInt lastText)
                      parseKind (p.Substring(0, b)), Some(first, last) ]
        match parsed with
        | [ k, None ] -> whole k
        | _ ->
            let mutable expected = 1
            let segs =
                [ for k, r in parsed ->
                      match r with
                      | None -> bad "every piece of a composition needs a layer range"
                      | Some(first, last) ->
                          if first <> expected then bad (sprintf "ranges must be contiguous from layer 1: expected a range starting at %d, got %d" expected first)
                          expected <- (defaultArg last Int32.MaxValue) + 1
                          { Kind = k; Last = last } ]
            let init = { Segments = segs }
            match List.last segs with
            | { Last = Some _ } -> init
            | _ ->
                if segs |> List.take (segs.Length - 1) |> List.exists (fun s -> s.Last.IsNone) then bad "only the last piece may be open-ended"
                init

/// What an initializer needs to know about the current batch.
type InitContext =
    { Network: Network
      /// The clamped input h_0.
      Input: Tensor
      /// Labels of the batch (int64), when known (training).
      Labels: Tensor option
      /// Number of classes, for the stream average.
      Classes: int
      /// Generator for random initialisation.
      Generator: Generator }

/// h^(0) and the predictions the forward sweep computed along the way.
type InitResult =
    { /// L entries: the input, then hidden layers 1..L-1. Hidden states are leaves
      /// that require gradients when `leaves` was asked for.
      States: Tensor[]
      /// `Predictions[l-1]` = mu_l = f_{l-1}(States[l-1]) with its graph, when the
      /// forward sweep computed it (layer l forward-initialised, or the layer above).
      Predictions: Tensor option[] }

/// The state an initializer carries across batches (kept states, class means).
/// Owns its tensors.
type InitState(classes: int) =
    let mutable kept: Tensor[] = [||]
    let mutable means: Tensor[] = [||]
    let seen = Array.zeroCreate<bool> (max classes 1)

    /// The previous batch's final hidden states (index l-1 for layer l), if any.
    member _.Kept = kept
    /// The per-class means of each hidden layer (`[C; shape]`), if any.
    member _.Means = means
    /// Which classes have a mean.
    member _.Seen = Array.copy seen

    /// Records a batch's final states (L entries: input first) and labels.
    member _.Update(states: Tensor[], labels: Tensor option, keepStates: bool, average: bool) =
        use _ = torch.no_grad ()
        if keepStates then
            let fresh = states |> Array.skip 1 |> Array.map (fun s -> s.detach().clone().DetachFromDisposeScope())
            for t in kept do t.Dispose()
            kept <- fresh
        match labels with
        | Some y when average ->
            use _ = torch.NewDisposeScope()
            let oneHot = torch.nn.functional.one_hot(y, int64 classes).``to``(states[1].dtype)
            let counts = oneHot.sum(0L)
            let positive = Ops.gt counts 0.0
            let present = positive.cpu().data<bool>().ToArray()
            let denom = (Ops.clampMin counts 1.0).unsqueeze(1L)
            if means.Length = 0 then
                means <- states |> Array.skip 1 |> Array.map (fun s ->
                    torch.zeros(Array.append [| int64 classes |] (s.shape |> Array.skip 1), dtype = s.dtype, device = s.device).DetachFromDisposeScope())
            for i in 0 .. means.Length - 1 do
                let s = states[i + 1].detach()
                let flat = s.reshape(s.shape[0], -1L)
                let m = (oneHot.t().mm(flat) / denom).reshape(means[i].shape)
                let mask = positive.reshape(Array.append [| int64 classes |] (Array.create (int (means[i].dim ()) - 1) 1L))
                means[i].copy_(torch.where(mask, m, means[i])) |> ignore
            for c in 0 .. classes - 1 do
                if present[c] then seen[c] <- true
        | _ -> ()

    interface IDisposable with
        member _.Dispose() =
            for t in kept do t.Dispose()
            for t in means do t.Dispose()
            kept <- [||]
            means <- [||]

module InitApply =
    /// Computes h^(0) for a batch, bottom-up. Forward layers take the prediction of
    /// the layer below; `Keep` and `StreamAverage` fall back to forward where they
    /// have nothing yet (first batch, a batch of another size, an unseen class).
    /// With `leaves`, hidden states are fresh leaves requiring gradients and the
    /// forward sweep's predictions keep their graph, so inference can reuse them.
    let apply (init: Initializer) (state: InitState) (ctx: InitContext) (leaves: bool) : InitResult =
        let net = ctx.Network
        let L = net.Depth
        init.Validate(L - 1)
        let n = ctx.Input.shape[0]
        let dtype = net.Precision.ScalarType
        let states = Array.zeroCreate<Tensor> L
        let preds = Array.create<Tensor option> L None
        states[0] <- ctx.Input
        let predictionOf l =
            // mu_l = f_{l-1}(h_{l-1}), with the graph when leaves are asked for.
            match preds[l - 1] with
            | Some p -> p
            | None ->
                let p =
                    if leaves then net.Blocks[l - 1].Forward states[l - 1]
                    else using (torch.no_grad ()) (fun _ -> net.Blocks[l - 1].Forward states[l - 1])
                preds[l - 1] <- Some p
                p
        for l in 1 .. L - 1 do
            let shape = Array.append [| n |] (net.StateShape l)
            let forward () = (predictionOf l).detach()
            let h =
                match init.KindAt l with
                | InitKind.Forward -> forward ()
                | InitKind.Zero -> torch.zeros(shape, dtype = dtype, device = net.Device)
                | InitKind.Random(m, s) ->
                    Ops.add (Ops.mul (torch.randn(shape, dtype = dtype, device = torch.CPU, generator = ctx.Generator)) s) m |> fun t -> t.``to``(net.Device)
                | InitKind.Keep ->
                    if state.Kept.Length = L - 1 && state.Kept[l - 1].shape = shape then state.Kept[l - 1].clone()
                    else forward ()
                | InitKind.StreamAverage ->
                    match ctx.Labels with
                    | Some y when state.Means.Length = L - 1 ->
                        let seen = state.Seen
                        let labels = y.cpu().data<int64>().ToArray()
                        let avg = state.Means[l - 1].index_select(0L, y)
                        if labels |> Array.forall (fun c -> seen[int c]) then avg
                        else
                            let known = torch.tensor(labels |> Array.map (fun c -> seen[int c]), device = net.Device)
                            let mask = known.reshape(Array.append [| n |] (Array.create (shape.Length - 1) 1L))
                            torch.where(mask, avg, forward ())
                    | _ -> forward ()
            states[l] <- if leaves then h.detach().requires_grad_(true) else h.detach()
        // The top prediction comes for free when the sweep reached the last hidden layer.
        if L >= 2 && init.KindAt(L - 1) = InitKind.Forward then predictionOf L |> ignore
        { States = states; Predictions = preds }
