/// Initializers as text (their form in configuration files, flags and tables):
/// pieces `kind[a..b]` joined by `+`, e.g. `forward[1..3] + avg[4..]`. Kinds:
/// `random(mean,std)`, `zero`, `keep`, `forward`, `avg` and
/// `mem(slots=p,delta=d,dim=e,heads=a,lr=r)`; the aliases are in `Choices`.
/// `Initializer.ToString` writes the canonical text, which this module reads back.
module Hybrid.InitText

open System
open System.Globalization

let private bad (text: string) (why: string) : 'a = raise (ConfigError(sprintf "cannot parse initializer '%s': %s" text why))

let private number (text: string) (v: string) =
    match Double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
    | true, x when Double.IsFinite x -> x
    | _ -> bad text (sprintf "'%s' is not a number" v)

let private whole (v: string) (text: string) =
    let x = number text v
    if x <> Math.Floor x || abs x > float Int32.MaxValue then bad text (sprintf "'%s' is not a whole number" v)
    int x

/// The arguments between the parentheses of `name(args)`, or None without parentheses.
let private arguments (text: string) (piece: string) =
    let o = piece.IndexOf '('
    if o < 0 then None
    elif not (piece.EndsWith ")") then bad text "missing ')'"
    else Some(piece.Substring(o + 1, piece.Length - o - 2).Split(',', StringSplitOptions.RemoveEmptyEntries))

let private random (text: string) (piece: string) =
    match arguments text piece with
    | None -> InitKind.Random(0.0, 1.0)
    | Some [| m; s |] ->
        let s = number text s
        if s < 0.0 then bad text "std must be >= 0"
        InitKind.Random(number text m, s)
    | Some _ -> bad text "random takes (mean,std)"

/// Positional settings of `mem(...)` in order.
let private memoryPositions = [| "slots"; "delta"; "dim"; "lr" |]

let private memorySetting (text: string) (spec: MemorySpec) (key: string) (value: string) =
    let key =
        match Choices.memorySettingAliases |> List.tryFind (fun (a, _) -> a = key) with
        | Some(_, k) -> k
        | None -> key
    match key with
    | "slots" -> { spec with Slots = whole value text }
    | "delta" -> { spec with Delta = number text value }
    | "dim" -> { spec with Embedding = whole value text }
    | "heads" -> { spec with Heads = whole value text }
    | "lr" -> { spec with LearningRate = number text value }
    | other -> bad text (sprintf "unknown memory setting '%s' (expected slots, delta, dim, heads, lr)" other)

let private memory (text: string) (piece: string) =
    match arguments text piece with
    | None -> InitKind.Memory MemorySpec.Default
    | Some args ->
        let spec =
            args
            |> Array.indexed
            |> Array.fold
                (fun spec (i, a) ->
                    match a.Split('=') with
                    | [| k; v |] -> memorySetting text spec (k.Trim()) v
                    | _ when i < memoryPositions.Length -> memorySetting text spec memoryPositions[i] a
                    | _ -> bad text (sprintf "memory setting '%s' needs a name (slots=, delta=, dim=, heads=, lr=)" a))
                MemorySpec.Default
        try spec.Validate() with :? ArgumentException as e -> bad text (Codec.message e)
        InitKind.Memory spec

/// One kind, e.g. `forward`, `random(0,1)`, `mem(slots=16)`.
let kind (text: string) (piece: string) : InitKind =
    let s = piece.Trim().ToLowerInvariant()
    if s.StartsWith "random" || s.StartsWith "normal" then random text s
    elif s.StartsWith "mem" then memory text s
    else
        match Choices.initKind.TryParse s with
        | Some k -> k
        | None -> bad text (sprintf "unknown kind '%s' (expected random(m,s), zero, keep, forward, avg, mem(...))" s)

/// Splits on '+' outside parentheses.
let private pieces (text: string) =
    let parts = ResizeArray<string>()
    let mutable depth = 0
    let mutable start = 0
    for i in 0 .. text.Length - 1 do
        match text[i] with
        | '(' -> depth <- depth + 1
        | ')' -> depth <- depth - 1
        | '+' when depth = 0 ->
            parts.Add(text.Substring(start, i - start).Trim())
            start <- i + 1
        | _ -> ()
    parts.Add(text.Substring(start).Trim())
    List.ofSeq parts

/// A piece: its kind and its layer range `[first..last]` (`[first..]` open), if any.
let private piece (text: string) (p: string) =
    let b = p.LastIndexOf '['
    if b < 0 then kind text p, None
    else
        if not (p.EndsWith "]") then bad text (sprintf "missing ']' in '%s'" p)
        let range = p.Substring(b + 1, p.Length - b - 2)
        let dots = range.IndexOf ".."
        if dots < 0 then bad text (sprintf "range '%s' is not of the form a..b or a.." range)
        let layer (v: string) =
            match Int32.TryParse(v.Trim()) with
            | true, x -> x
            | _ -> bad text (sprintf "'%s' is not a layer number" v)
        let last = range.Substring(dots + 2).Trim()
        kind text (p.Substring(0, b)), Some(layer (range.Substring(0, dots)), (if last = "" then None else Some(layer last)))

/// The segments of ranged pieces: contiguous from the first range's start, only the last open.
let private segments (text: string) (parsed: (InitKind * (int * int option) option) list) =
    let start =
        match parsed.Head with
        | _, Some(0, _) -> 0
        | _ -> 1
    let segs, _ =
        parsed
        |> List.mapFold
            (fun expected (k, r) ->
                match r with
                | None -> bad text "every piece of a composition needs a layer range"
                | Some(first, last) ->
                    if first <> expected then
                        bad text (sprintf "ranges must be contiguous from layer %d: expected a range starting at %d, got %d" start expected first)
                    { Kind = k; Last = last }, (defaultArg last Int32.MaxValue) + 1)
            start
    if segs |> List.take (segs.Length - 1) |> List.exists (fun s -> s.Last.IsNone) then bad text "only the last piece may be open-ended"
    { Start = start; Segments = segs }

/// Parses the text form of an initializer.
let parse (text: string) : Initializer =
    if String.IsNullOrWhiteSpace text then raise (ConfigError "empty initializer")
    match pieces text |> List.map (piece text) with
    | [ k, None ] -> { Start = 1; Segments = [ { Kind = k; Last = None } ] }
    | parsed -> segments text parsed

/// The configuration codec of an initializer (its text form).
let codec: Codec<Initializer> = Codec.text "initializer, e.g. forward[1..3] + avg[4..]" parse string
