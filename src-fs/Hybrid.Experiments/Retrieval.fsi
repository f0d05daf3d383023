/// Retrieval from corrupted queries in a modern Hopfield network: dataset images
/// stored as patterns (centred, unit norm), queried with part of each image masked
/// or with noise added; reports accuracy (the nearest pattern is the original) and
/// overlap (cosine to the original) per beta.
module Hybrid.Experiments.Retrieval

/// How queries are corrupted.
[<RequireQualifiedAccess>]
type Corruption =
    /// Zero the bottom fraction of each image.
    | Mask of fraction: float

    /// Add N(0, s^2 / d) per pixel (noise relative to the unit norm).
    | Noise of scale: float
    override ToString: unit -> string

/// Reads `mask:F` or `noise:S`.
val corruption: text: string -> Corruption

/// What `hybrid hopfield retrieve` measures.
type Settings =
    {
      Dataset: string
      DataRoot: string option

      /// Stored patterns (the first training images).
      Count: int

      /// Inverse temperatures.
      Betas: float list
      Corruption: Corruption

      /// Update cap per query.
      MaxSteps: int

      /// Seed of the noise.
      Seed: int64
    }

    /// Checks the settings; the message names the field.
    member Validate: unit -> unit

/// 100 Fashion-MNIST images, half masked, beta in {1, 4, 16, 64}.
val defaults: Settings

/// The JSON form of the settings.
val codec: Hybrid.Codec<Settings>

/// One beta's measurement.
type Row =
    {
      Beta: float

      /// Percent of queries whose nearest pattern is the original.
      Accuracy: float

      /// Mean cosine of the final state to the original.
      Overlap: float
      MeanIterations: float
      NotConverged: int
    }

/// Corrupted copies of the patterns, `[N; d]`.
val private queries:
  s: Settings -> p: Hybrid.Hopfield.Patterns -> TorchSharp.torch.Tensor

/// Stores the images and retrieves from their corrupted copies at every beta.
val measure: s: Settings -> Row list

/// The measurement as a report: a JSON array of rows and a table.
val report: s: Settings -> rows: Row list -> Hybrid.Reporting.Report
