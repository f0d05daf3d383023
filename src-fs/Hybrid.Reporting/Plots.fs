/// PNG figures of experiment results (ScottPlot; no display needed): line plots
/// and grids of grey images.
module Hybrid.Reporting.Plots

open System
open System.IO
open ScottPlot
open SkiaSharp

/// One line of a line plot.
type Series =
    { Label: string
      X: float list
      /// Same length as `X`; non-finite values are left out.
      Y: float list
      Dashed: bool
      Markers: bool
      /// Line width in pixels (0: markers only).
      LineWidth: float32 }

/// A line of a plot with the usual style (solid, no markers, width 2).
let series (label: string) (x: float seq) (y: float seq) =
    { Label = label; X = List.ofSeq x; Y = List.ofSeq y; Dashed = false; Markers = false; LineWidth = 2.0f }

/// A vertical reference line.
type Marker = { X: float; Label: string }

/// Where the legend goes.
[<RequireQualifiedAccess>]
type Legend =
    | UpperRight
    | LowerRight
    | MiddleRight

/// A line plot to write.
type Figure =
    { Path: string
      Title: string
      XLabel: string
      YLabel: string
      Series: Series list
      /// Plot log10 of the values (non-positive ones are dropped); the axis says so.
      LogY: bool
      Markers: Marker list
      Legend: Legend }

/// A figure with no reference lines, a linear axis and the legend upper right.
let figure (path: string) (title: string) (xLabel: string) (yLabel: string) (series: Series list) =
    { Path = path; Title = title; XLabel = xLabel; YLabel = yLabel; Series = series; LogY = false; Markers = []; Legend = Legend.UpperRight }

let private ensureFolder (path: string) = Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath path)) |> ignore

/// Writes a line plot to its path (900 x 600 unless given).
let writeSized (width: int) (height: int) (f: Figure) =
    use plot = new Plot()
    let palette = Palettes.Category10()
    let color i = palette.GetColor(i % palette.Colors.Length)
    f.Series
    |> List.iteri (fun i s ->
        let pts =
            List.zip s.X s.Y
            |> List.filter (fun (_, y) -> Double.IsFinite y && (not f.LogY || y > 0.0))
            |> List.map (fun (x, y) -> x, (if f.LogY then log10 y else y))
        if not pts.IsEmpty then
            let line = plot.Add.Scatter(pts |> List.map fst |> Array.ofList, pts |> List.map snd |> Array.ofList)
            line.LegendText <- s.Label
            line.Color <- color i
            line.MarkerSize <- (if s.Markers then 5.0f else 0.0f)
            line.LineWidth <- s.LineWidth
            if s.Dashed then line.LinePattern <- LinePattern.Dashed)
    f.Markers
    |> List.iteri (fun j m ->
        let v = plot.Add.VerticalLine(m.X)
        v.LegendText <- m.Label
        v.LinePattern <- LinePattern.Dotted
        v.Color <- color (f.Series.Length + j))
    plot.Title(f.Title) |> ignore
    plot.XLabel(f.XLabel) |> ignore
    plot.YLabel(if f.LogY then sprintf "log10 %s" f.YLabel else f.YLabel) |> ignore
    plot.ShowLegend(
        match f.Legend with
        | Legend.UpperRight -> Alignment.UpperRight
        | Legend.LowerRight -> Alignment.LowerRight
        | Legend.MiddleRight -> Alignment.MiddleRight)
    |> ignore
    ensureFolder f.Path
    plot.SavePng(f.Path, width, height) |> ignore

/// Writes a line plot (900 x 600) to its path.
let write (f: Figure) = writeSized 900 600 f

/// Writes a heatmap of `values` (rows x columns, NaN: no value, grey) with each cell's
/// value written in it (colours: viridis from the smallest value to the largest), row
/// labels top to bottom and column labels left to right.
let heatmap (path: string) (title: string) (xLabel: string) (yLabel: string) (rowLabels: string list) (columnLabels: string list) (values: float[,]) =
    let rows, columns = Array2D.length1 values, Array2D.length2 values
    if rows <> rowLabels.Length || columns <> columnLabels.Length then
        invalidArg "values" (sprintf "a %d x %d heatmap needs %d row and %d column labels" rows columns rows columns)
    use plot = new Plot()
    let finite = [ for v in Seq.cast<float> values do if Double.IsFinite v then yield v ]
    let lo, hi = (if finite.IsEmpty then 0.0, 1.0 else List.min finite, List.max finite)
    let fraction v = if hi > lo then (v - lo) / (hi - lo) else 0.5
    let colormap = Colormaps.Viridis()
    // Unit cells centred on whole numbers: column c at x = c, row r at y = rows - 1 - r (row 0 on top).
    for r in 0 .. rows - 1 do
        for c in 0 .. columns - 1 do
            let v = values[r, c]
            let y = float (rows - 1 - r)
            let cell = plot.Add.Rectangle(float c - 0.5, float c + 0.5, y - 0.5, y + 0.5)
            cell.FillColor <- (if Double.IsFinite v then colormap.GetColor(fraction v) else Colors.LightGray)
            cell.LineWidth <- 0.0f
            if Double.IsFinite v then
                let t = plot.Add.Text(v.ToString("G4", Globalization.CultureInfo.InvariantCulture), float c, y)
                t.LabelAlignment <- Alignment.MiddleCenter
                t.LabelFontColor <- (if fraction v > 0.6 then Colors.Black else Colors.White)
    plot.Axes.Bottom.SetTicks([| for c in 0 .. columns - 1 -> float c |], Array.ofList columnLabels)
    plot.Axes.Left.SetTicks([| for r in 0 .. rows - 1 -> float (rows - 1 - r) |], Array.ofList rowLabels)
    plot.Axes.SetLimits(-0.5, float columns - 0.5, -0.5, float rows - 0.5)
    plot.Title(title) |> ignore
    plot.XLabel(xLabel) |> ignore
    plot.YLabel(yLabel) |> ignore
    ensureFolder path
    plot.SavePng(path, 900, 700) |> ignore
    path

/// Writes rows of grey images side by side: each image is `width` x `height`
/// values in [0,1] (values outside are clipped), each pixel a `scale` x `scale`
/// square, with a 2-pixel gap.
let imageGrid (path: string) (rows: float32[] list list) (width: int) (height: int) (scale: int) =
    if rows.IsEmpty then invalidArg "rows" "no images to write"
    if scale < 1 then invalidArg "scale" (sprintf "scale must be at least 1, got %d" scale)
    let columns = rows |> List.map List.length |> List.max
    let gap = 2
    let w = columns * (width * scale + gap) + gap
    let h = rows.Length * (height * scale + gap) + gap
    use bitmap = new SKBitmap(w, h, SKColorType.Gray8, SKAlphaType.Opaque)
    bitmap.Erase(SKColor(128uy, 128uy, 128uy))
    rows
    |> List.iteri (fun r images ->
        images
        |> List.iteri (fun c (img: float32[]) ->
            if img.Length <> width * height then
                invalidArg "rows" (sprintf "image (%d,%d) has %d values, expected %d x %d" r c img.Length width height)
            let x0 = gap + c * (width * scale + gap)
            let y0 = gap + r * (height * scale + gap)
            for y in 0 .. height - 1 do
                for x in 0 .. width - 1 do
                    let v = byte (Math.Round(255.0 * float (Math.Clamp(img[y * width + x], 0.0f, 1.0f))))
                    for dy in 0 .. scale - 1 do
                        for dx in 0 .. scale - 1 do
                            bitmap.SetPixel(x0 + x * scale + dx, y0 + y * scale + dy, SKColor(v, v, v))))
    ensureFolder path
    use image = SKImage.FromBitmap bitmap
    use data = image.Encode(SKEncodedImageFormat.Png, 100)
    use fs = File.Create path
    data.SaveTo fs
