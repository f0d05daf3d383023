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
    let spc = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc t 0.1; Init = Init.forward }
    let cases depth =
        let hybrid = Init.split (max 1 ((depth - 1) / 2)) Init.forward Init.streamAverage
        [ { Name = sprintf "BP (L=%d)" depth; Bound = None; Algorithm = Algorithm.Backprop; Depth = depth }
          { Name = sprintf "sPC fw, T=%d (L=%d)" t depth; Bound = Some(float (2 * t + 2) / 3.0); Algorithm = spc; Depth = depth }
          { Name = sprintf "sPC avg, T=%d (L=%d)" t depth; Bound = Some(float (2 * t + 2) / 3.0)
            Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.spc t 0.1; Init = hybrid }; Depth = depth }
          { Name = sprintf "ePC, T=%d (L=%d)" t depth; Bound = Some(float (2 * t + 3) / 3.0)
            Algorithm = Algorithm.PredictiveCoding { Inference = InferenceOptions.epc t 0.01; Init = Init.forward }; Depth = depth } ]
    let all = cases 5 @ (if deep > 0 then cases deep else [])
    let results = measure all width batch warmup rounds 0L
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
            o["liveTensorGrowth"] <- r.LiveGrowth
            arr.Add o
        printfn "%s" (arr.ToJsonString(Text.Json.JsonSerializerOptions(WriteIndented = true)))
    else
        printfn "Step cost: MLP width %d, batch %d, %d interleaved rounds after %d warm-up, %d threads" width batch rounds warmup (Runtime.threads ())
        printfn "%-26s %10s %8s %8s %12s %8s" "case" "median ms" "x BP" "bound" "ratio/bound" "target"
        for r in results do
            match r.Case.Bound with
            | None -> printfn "%-26s %10.2f %8.2f %8s %12s %8s" r.Case.Name r.MedianMs r.Ratio "-" "-" "-"
            | Some b ->
                let verdict = if r.Ratio / b <= 1.15 then "met" else "MISSED"
                printfn "%-26s %10.2f %8.2f %8.2f %12.3f %8s" r.Case.Name r.MedianMs r.Ratio b (r.Ratio / b) verdict
        printfn "live tensor growth over the timed rounds: %s" (String.Join(", ", results |> List.map (fun r -> string r.LiveGrowth)))
        printfn "bound: operation count relative to BP's 3 (forward, input backward, weight backward): sPC (2T+2)/3, ePC (2T+3)/3"
    0
