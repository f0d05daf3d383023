using ScottPlot;

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

/// <summary>PNG plots of experiment results (ScottPlot; no display needed).</summary>
public static class Plots
{
    /// <summary>Writes a line plot to <paramref name="path"/>. With <paramref name="logY"/>,
    /// values are plotted as log10 (non-positive values are dropped) and the axis says so.</summary>
    public static void Lines(string path, string title, string xLabel, string yLabel, IEnumerable<Series> series,
        bool logY = false, int width = 900, int height = 600, IEnumerable<Marker>? markers = null, Alignment legend = Alignment.UpperRight)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var i = 0;
        foreach (var s in series)
        {
            var pts = s.X.Zip(s.Y).Where(p => double.IsFinite(p.Second) && (!logY || p.Second > 0))
                .Select(p => (p.First, logY ? Math.Log10(p.Second) : p.Second)).ToArray();
            if (pts.Length == 0) { i++; continue; }
            var line = plot.Add.Scatter(pts.Select(p => p.First).ToArray(), pts.Select(p => p.Item2).ToArray());
            line.LegendText = s.Label;
            line.Color = palette.GetColor(i % palette.Colors.Length);
            line.MarkerSize = s.Markers ? 5 : 0;
            line.LineWidth = s.LineWidth;
            if (s.Dashed) line.LinePattern = LinePattern.Dashed;
            i++;
        }
        foreach (var m in markers ?? [])
        {
            var v = plot.Add.VerticalLine(m.X);
            v.LegendText = m.Label;
            v.LinePattern = LinePattern.Dotted;
            v.Color = palette.GetColor(i++ % palette.Colors.Length);
        }
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(logY ? $"log10 {yLabel}" : yLabel);
        plot.ShowLegend(legend);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, height);
    }
}
