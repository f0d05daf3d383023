/// Minibatch samplers: random batches, and stream-aligned batches in which each
/// batch is C class-pure sub-batches in a fixed class order (SPEC.md 1.2).
namespace Hybrid.Data

open System
open Hybrid

/// How training batches are drawn.
[<RequireQualifiedAccess>]
type Batching =
    /// A fresh random permutation each epoch; the last batch may be smaller.
    | Random
    /// Each batch holds `size / classes` samples of every class, classes in
    /// ascending order; samples are shuffled within their class each epoch and
    /// the leftover that does not fill a whole batch is skipped that epoch.
    | StreamAligned

    override this.ToString() =
        match this with
        | Random -> "random"
        | StreamAligned -> "stream"

module Batching =
    /// Checks a batch size against a batching and class count; the message says what is wrong.
    let validate (batching: Batching) (classes: int) (size: int) =
        if size < 1 then invalidArg "batchSize" (sprintf "batch size must be at least 1, got %d" size)
        match batching with
        | Batching.StreamAligned when size % classes <> 0 ->
            invalidArg "batchSize"
                (sprintf "stream-aligned batches need a batch size divisible by the number of classes (%d), got %d" classes size)
        | _ -> ()

    /// The batches (sample indices) of one epoch, drawn with `seed` and `epoch`.
    let epoch (batching: Batching) (classes: int) (size: int) (seed: int64) (epochIndex: int) (labels: int[]) : int64[][] =
        validate batching classes size
        let rng = Rng.random seed (sprintf "batches/%d" epochIndex)
        match batching with
        | Batching.Random ->
            let idx = Array.init labels.Length int64
            rng.Shuffle idx
            idx |> Array.chunkBySize size
        | Batching.StreamAligned ->
            let per = size / classes
            // Each class's sample indices in ascending order (one pass), then shuffled, class by class.
            let byClass = Array.init classes (fun _ -> Array.zeroCreate<int64> 0)
            let counts = Array.zeroCreate<int> classes
            for l in labels do counts[l] <- counts[l] + 1
            for c in 0 .. classes - 1 do byClass[c] <- Array.zeroCreate<int64> counts[c]
            let filled = Array.zeroCreate<int> classes
            labels |> Array.iteri (fun i l ->
                byClass[l][filled[l]] <- int64 i
                filled[l] <- filled[l] + 1)
            for members in byClass do rng.Shuffle members
            let batches = byClass |> Array.map (fun m -> m.Length / per) |> Array.min
            Array.init batches (fun b -> Array.init size (fun j -> byClass[j / per][b * per + j % per]))

    /// Number of batches per epoch.
    let count (batching: Batching) (classes: int) (size: int) (labels: int[]) =
        match batching with
        | Batching.Random -> (labels.Length + size - 1) / size
        | Batching.StreamAligned ->
            let per = size / classes
            let counts = Array.zeroCreate<int> classes
            for l in labels do counts[l] <- counts[l] + 1
            counts |> Array.map (fun n -> n / per) |> Array.min
