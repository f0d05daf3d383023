/// Retrieval from corrupted queries in a modern Hopfield network: dataset images
/// stored as patterns (centred, unit norm), queried with part of each image masked
/// or with noise added; reports accuracy (the nearest pattern is the original) and
/// overlap (cosine to the original) per beta.
module Hybrid.Experiments.Retrieval

open System
open System.Text.Json.Nodes
open TorchSharp
open Hybrid
open Hybrid.Reporting
open Hybrid.Hopfield

/// How queries are corrupted.
[<RequireQualifiedAccess>]
type Corruption =
    /// Zero the bottom fraction of each image.
    | Mask of fraction: float
    /// Add N(0, s^2 / d) per pixel (noise relative to the unit norm).
    | Noise of scale: float

    override this.ToString() =
        match this with
        | Mask f -> sprintf "mask:%s" (f.ToString(Report.culture))
        | Noise s -> sprintf "noise:%s" (s.ToString(Report.culture))

/// Reads `mask:F` or `noise:S`.
let corruption (text: string) =
    let fail () = raise (ConfigError(sprintf "expected mask:F or noise:S, got '%s'" text))
    match text.Split(':') with
    | [| kind; level |] ->
        let v =
            match Double.TryParse(level, Globalization.NumberStyles.Float, Report.culture) with
            | true, v when v >= 0.0 -> v
            | _ -> fail ()
        match kind.Trim().ToLowerInvariant() with
        | "mask" when v <= 1.0 -> Corruption.Mask v
        | "mask" -> raise (ConfigError "mask:F needs F in [0,1]")
        | "noise" -> Corruption.Noise v
        | other -> raise (ConfigError(sprintf "unknown corruption '%s' (expected mask or noise)" other))
    | _ -> fail ()

/// What `hybrid hopfield retrieve` measures.
type Settings =
    { Dataset: string
      DataRoot: string option
      /// Stored patterns (the first training images).
      Count: int
      /// Inverse temperatures.
      Betas: float list
      Corruption: Corruption
      /// Update cap per query.
      MaxSteps: int
      /// Seed of the noise.
      Seed: int64 }

    /// Checks the settings; the message names the field.
    member this.Validate() =
        if this.Count < 2 then
            invalidArg "count" (sprintf "count must be at least 2 (the images are centred on their mean: one image alone becomes zero), got %d" this.Count)
        if this.Betas.IsEmpty then invalidArg "betas" "betas needs at least one inverse temperature"
        for b in this.Betas do
            if not (b > 0.0 && Double.IsFinite b) then invalidArg "betas" (sprintf "betas: %g is not a positive, finite inverse temperature" b)
        if this.MaxSteps < 1 then invalidArg "maxSteps" (sprintf "maxSteps must be at least 1, got %d" this.MaxSteps)

/// 100 Fashion-MNIST images, half masked, beta in {1, 4, 16, 64}.
let defaults =
    { Dataset = "fashion-mnist"; DataRoot = None; Count = 100; Betas = [ 1.0; 4.0; 16.0; 64.0 ]; Corruption = Corruption.Mask 0.5; MaxSteps = 100; Seed = 0L }

/// The JSON form of the settings.
let codec: Codec<Settings> =
    Codec.record
        [ Codec.field "dataset" "Dataset whose training images are stored" Codec.string (fun s -> s.Dataset) (fun v s -> { s with Dataset = v })
          Codec.optional "data" "Dataset root folder" Codec.string (fun s -> s.DataRoot) (fun v s -> { s with DataRoot = v })
          Codec.field "count" "Stored patterns (the first images)" Codec.int (fun s -> s.Count) (fun v s -> { s with Count = v })
          Codec.field "betas" "Inverse temperatures" (Codec.items Codec.float) (fun s -> s.Betas) (fun v s -> { s with Betas = v })
          Codec.field "corrupt" "Corruption: mask:F (zero the bottom fraction F of each image) or noise:S (add N(0,S^2) per pixel, relative to the norm)" (Codec.text "mask:F or noise:S" corruption string) (fun s -> s.Corruption) (fun v s -> { s with Corruption = v })
          Codec.field "maxSteps" "Update cap per query" Codec.int (fun s -> s.MaxSteps) (fun v s -> { s with MaxSteps = v })
          Codec.field "seed" "Seed of the noise" Codec.int64 (fun s -> s.Seed) (fun v s -> { s with Seed = v }) ]
    |> Codec.check (fun s -> s.Validate())

/// One beta's measurement.
type Row =
    { Beta: float
      /// Percent of queries whose nearest pattern is the original.
      Accuracy: float
      /// Mean cosine of the final state to the original.
      Overlap: float
      MeanIterations: float
      NotConverged: int }

/// Corrupted copies of the patterns, `[N; d]`.
let private queries (s: Settings) (p: Patterns) =
    let n, d = int64 p.Count, int64 p.Dimension
    match s.Corruption with
    | Corruption.Mask f ->
        let keep = int64 (Math.Round(float d * (1.0 - f)))
        torch.cat([| p.X.narrow(1L, 0L, keep); torch.zeros([| n; d - keep |], dtype = torch.float64) |], 1L)
    | Corruption.Noise level ->
        use g = Rng.generator s.Seed torch.CPU
        Ops.plus p.X (Ops.mul (torch.randn([| n; d |], dtype = torch.float64, generator = g)) (level / sqrt (float d)))

/// Stores the images and retrieves from their corrupted copies at every beta.
let measure (s: Settings) : Row list =
    s.Validate()
    let p = Phase.datasetPatterns s.DataRoot s.Dataset s.Count 1.0
    Scope.run (fun () ->
        let q = queries s p
        [ for b in s.Betas ->
              let r = retrieve p b q 1e-8 s.MaxSteps
              use states = r.States
              let nearest = states.mm(p.X.t()).argmax(1L).data<int64>().ToArray()
              let cos = (states * p.X).sum(1L) / Ops.clampMin (states.norm(1) * p.X.norm(1)) 1e-12
              { Beta = b
                Accuracy = 100.0 * float (nearest |> Array.indexed |> Array.filter (fun (i, k) -> k = int64 i) |> Array.length) / float s.Count
                Overlap = Scope.scalar (cos.mean())
                MeanIterations = r.Iterations |> Array.averageBy float
                NotConverged = r.Converged |> Array.filter not |> Array.length } ])

/// The measurement as a report: a JSON array of rows and a table.
let report (s: Settings) (rows: Row list) : Report =
    let c = Report.culture
    { Report.ofJson (
          Report.object
              [ "dataset", JsonValue.Create s.Dataset
                "count", Report.int s.Count
                "corrupt", JsonValue.Create(string s.Corruption)
                "rows",
                JsonArray(
                    [| for r in rows ->
                           Report.object
                               [ "beta", Report.num r.Beta
                                 "accuracy", Report.num r.Accuracy
                                 "overlap", Report.num r.Overlap
                                 "meanIterations", Report.num r.MeanIterations
                                 "notConverged", Report.int r.NotConverged ]
                           :> JsonNode |]) ]
      ) with
        Tables =
          [ { Title = sprintf "Retrieval of %d %s images from %O queries" s.Count s.Dataset s.Corruption
              Header = [ "beta"; "accuracy %"; "overlap"; "mean iterations"; "not converged" ]
              Rows =
                [ for r in rows ->
                      [ r.Beta.ToString(c); r.Accuracy.ToString("F1", c); r.Overlap.ToString("F4", c); r.MeanIterations.ToString("F1", c); string r.NotConverged ] ] } ] }
