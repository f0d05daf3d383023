module Hybrid.Bench.Program

open System
open System.Text.Json.Nodes
open Hybrid
open Hybrid.Bench.StepCost

let private arg (argv: string[]) (name: string) (fallback: string) =
    match Array.tryFindIndex ((=) name) argv with
    | Some i when i + 1 < argv.Length -> argv[i + 1]
    | _ -> fallback

/// bench step-cost [--steps T] [--batch N] [--rounds R] [--warmup W] [--width W] [--deep L] [--json]
[<EntryPoint>]
let main argv =
    Runtime.init ()
    let t = int (arg argv "--steps" "5")
    let batch = int (arg argv "--batch" "200")
    let rounds = int (arg argv "--rounds" "30")
    let warmup = int (arg argv "--warmup" "5")
    let width = int (arg argv "--width" "512")
    let deep = int (arg argv "--deep" "0")
    let json = Array.contains "--json" argv
    let threads = int (arg argv "--threads" "0")
    if threads > 0 then Runtime.setThreads threads
    let pc (inference: InferenceOptions) (init: Initializer) = Algorithm.PredictiveCoding { Inference = inference; Init = init }
    let spcBound = Some(float (2 * t + 2) / 3.0)
    // Targets of the sparse path (x BP, T = 5): forward init 3.0 at L = 5 and 1.2 at L = 20; PC-avg 3.3 at L = 5.
    let target depth (avg: bool) =
        match depth, avg with
        | 5, false -> Some 3.0
        | 5, true -> Some 3.3
        | 20, false -> Some 1.2
        | _ -> None
    let cases depth =
        // Table 1's PC-avg at L = 5 (forward for the first 3 hidden layers); half the hidden layers deeper.
        let m = if depth = 5 then 3 else max 1 ((depth - 1) / 2)
        let hybrid = Init.split m Init.forward Init.streamAverage
        let spc = InferenceOptions.spc t 0.1
        [ { Name = sprintf "BP (L=%d)" depth; Bound = None; Target = None; Algorithm = Algorithm.Backprop; Depth = depth }
          { Name = sprintf "sPC fw dense (L=%d)" depth; Bound = spcBound; Target = None; Algorithm = pc { spc with Dense = true } Init.forward; Depth = depth }
          { Name = sprintf "sPC fw (L=%d)" depth; Bound = spcBound; Target = (if t = 5 then target depth false else None); Algorithm = pc spc Init.forward; Depth = depth }
          { Name = sprintf "sPC avg%d dense (L=%d)" m depth; Bound = spcBound; Target = None; Algorithm = pc { spc with Dense = true } hybrid; Depth = depth }
          { Name = sprintf "sPC avg%d (L=%d)" m depth; Bound = spcBound; Target = (if t = 5 then target depth true else None); Algorithm = pc spc hybrid; Depth = depth }
          { Name = sprintf "ePC (L=%d)" depth; Bound = Some(float (2 * t + 3) / 3.0); Target = None; Algorithm = pc (InferenceOptions.epc t 0.01) Init.forward; Depth = depth } ]
    let all = cases 5 @ (if deep > 0 then cases deep else [])
    let results = measure all width batch warmup rounds 0L
    let bpProducts depth = Smm.backpropProducts depth
    let verdict (r: Measured) =
        match r.Case.Target, r.Case.Bound with
        | Some x, _ -> (if r.Ratio <= x then "met" else "MISSED") + sprintf " (<= %.1fx BP)" x
        | None, Some b -> (if r.Ratio / b <= 1.15 then "met" else "MISSED") + " (<= 1.15x bound)"
        | None, None -> "-"
    if json then
        let arr = JsonArray()
        for r in results do
            let o = JsonObject()
            o["case"] <- r.Case.Name
            o["depth"] <- r.Case.Depth
            o["medianMs"] <- r.MedianMs
            o["ratio"] <- r.Ratio
            o["bound"] <- (match r.Case.Bound with Some b -> JsonValue.Create b :> JsonNode | None -> null)
            o["ratioOverBound"] <- (match r.Case.Bound with Some b -> JsonValue.Create(r.Ratio / b) :> JsonNode | None -> null)
            o["products"] <- r.Products
            o["productsOverBp"] <- float r.Products / float (bpProducts r.Case.Depth)
            o["target"] <- (match r.Case.Target with Some x -> JsonValue.Create x :> JsonNode | None -> null)
            o["verdict"] <- verdict r
            o["liveTensorGrowth"] <- r.LiveGrowth
            arr.Add o
        printfn "%s" (arr.ToJsonString(Text.Json.JsonSerializerOptions(WriteIndented = true)))
    else
        printfn "Step cost: MLP width %d, batch %d, T = %d, %d interleaved rounds after %d warm-up, %d threads" width batch t rounds warmup (Runtime.threads ())
        printfn "%-24s %10s %7s %7s %11s %9s %11s  %s" "case" "median ms" "x BP" "bound" "ratio/bound" "products" "prod. x BP" "target"
        for r in results do
            let bound, over =
                match r.Case.Bound with
                | Some b -> sprintf "%.2f" b, sprintf "%.3f" (r.Ratio / b)
                | None -> "-", "-"
            printfn "%-24s %10.2f %7.2f %7s %11s %9d %11.2f  %s" r.Case.Name r.MedianMs r.Ratio bound over r.Products
                (float r.Products / float (bpProducts r.Case.Depth)) (verdict r)
        printfn "live tensor growth over the timed rounds: %s" (String.Join(", ", results |> List.map (fun r -> string r.LiveGrowth)))
        printfn "bound: the dense operation count relative to BP's 3 passes (forward, input backward, weight backward): sPC (2T+2)/3, ePC (2T+3)/3"
        printfn "products: block (matrix) products one step computed; BP computes 3L - 1"
    0
