using Microsoft.FSharp.Collections;

namespace Hybrid.Facade;

/// <summary>One line of a line plot.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values (same length as <paramref name="X"/>).</param>
/// <param name="Dashed">Draw the line dashed.</param>
/// <param name="Markers">Draw markers at the points.</param>
/// <param name="LineWidth">Line width in pixels (0: markers only).</param>
public sealed record Series(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y, bool Dashed = false, bool Markers = false, float LineWidth = 2);

/// <summary>A vertical reference line.</summary>
/// <param name="X">Position.</param>
/// <param name="Label">Legend text.</param>
public sealed record Marker(double X, string Label);

/// <summary>Where a plot's legend goes.</summary>
public enum LegendPosition
{
    /// <summary>Top right.</summary>
    UpperRight,
    /// <summary>Bottom right.</summary>
    LowerRight,
    /// <summary>Middle of the right side.</summary>
    MiddleRight,
}

/// <summary>PNG plots (ScottPlot; no display needed).</summary>
public static class Plots
{
    /// <summary>Writes a line plot to <paramref name="path"/>. With <paramref name="logY"/>,
    /// values are plotted as log10 (non-positive values are dropped) and the axis says so.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logY = false, int width = 900, int height = 600, IEnumerable<Marker>? markers = null, LegendPosition legend = LegendPosition.UpperRight)
    {
        var lines = series.Select(s => new Hybrid.Reporting.Plots.Series(s.Label, ListModule.OfSeq(s.X), ListModule.OfSeq(s.Y), s.Dashed, s.Markers, s.LineWidth));
        var marks = (markers ?? []).Select(m => new Hybrid.Reporting.Plots.Marker(m.X, m.Label));
        var position = legend switch
        {
            LegendPosition.LowerRight => Hybrid.Reporting.Plots.Legend.LowerRight,
            LegendPosition.MiddleRight => Hybrid.Reporting.Plots.Legend.MiddleRight,
            _ => Hybrid.Reporting.Plots.Legend.UpperRight,
        };
        Hybrid.Reporting.Plots.writeSized(width, height,
            new Hybrid.Reporting.Plots.Figure(path, title, xLabel, yLabel, ListModule.OfSeq(lines), logY, ListModule.OfSeq(marks), position));
    }
}

/// <summary>Grey-scale image grids written as PNG files.</summary>
public static class Images
{
    /// <summary>Writes <paramref name="rows"/> of images side by side: each row is a list of images of
    /// <paramref name="width"/> x <paramref name="height"/> values in [0,1] (values outside are clipped),
    /// each pixel drawn as a <paramref name="scale"/> x <paramref name="scale"/> square, with a 2-pixel gap.</summary>
    public static void SaveGrid(string path, IReadOnlyList<IReadOnlyList<float[]>> rows, int width, int height, int scale = 3) =>
        Hybrid.Reporting.Plots.imageGrid(path, ListModule.OfSeq(rows.Select(r => ListModule.OfSeq(r))), width, height, scale);
}
