/// PNG figures of experiment results (ScottPlot; no display needed): line plots
/// and grids of grey images.
module Hybrid.Reporting.Plots

/// One line of a line plot.
type Series =
    {
      Label: string
      X: float list

      /// Same length as `X`; non-finite values are left out.
      Y: float list
      Dashed: bool
      Markers: bool

      /// Line width in pixels (0: markers only).
      LineWidth: float32
    }

/// A line of a plot with the usual style (solid, no markers, width 2).
val series: label: string -> x: float seq -> y: float seq -> Series

/// A vertical reference line.
type Marker =
    {
      X: float
      Label: string
    }

/// Where the legend goes.
[<RequireQualifiedAccess>]
type Legend =
    | UpperRight
    | LowerRight
    | MiddleRight

/// A line plot to write.
type Figure =
    {
      Path: string
      Title: string
      XLabel: string
      YLabel: string
      Series: Series list

      /// Plot log10 of the values (non-positive ones are dropped); the axis says so.
      LogY: bool
      Markers: Marker list
      Legend: Legend
    }

/// A figure with no reference lines, a linear axis and the legend upper right.
val figure:
  path: string ->
    title: string ->
    xLabel: string -> yLabel: string -> series: Series list -> Figure

val private ensureFolder: path: string -> unit

/// Writes a line plot to its path (900 x 600 unless given).
val writeSized: width: int -> height: int -> f: Figure -> unit

/// Writes a line plot (900 x 600) to its path.
val write: f: Figure -> unit

/// Writes a heatmap of `values` (rows x columns, NaN: no value, grey) with each cell's
/// value written in it (colours: viridis from the smallest value to the largest), row
/// labels top to bottom and column labels left to right.
val heatmap:
  path: string ->
    title: string ->
    xLabel: string ->
    yLabel: string ->
    rowLabels: string list ->
    columnLabels: string list -> values: float array2d -> string

/// Writes rows of grey images side by side: each image is `width` x `height`
/// values in [0,1] (values outside are clipped), each pixel a `scale` x `scale`
/// square, with a 2-pixel gap.
val imageGrid:
  path: string ->
    rows: float32 array list list ->
    width: int -> height: int -> scale: int -> unit
