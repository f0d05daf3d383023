using SkiaSharp;

namespace Hybrid.Facade;

/// <summary>Grey-scale image grids written as PNG files.</summary>
public static class Images
{
    /// <summary>Writes <paramref name="rows"/> of images side by side: each row is a list of images of
    /// <paramref name="width"/> x <paramref name="height"/> values in [0,1] (values outside are clipped),
    /// each pixel drawn as a <paramref name="scale"/> x <paramref name="scale"/> square, with a 2-pixel gap.</summary>
    public static void SaveGrid(string path, IReadOnlyList<IReadOnlyList<float[]>> rows, int width, int height, int scale = 3)
    {
        if (rows.Count == 0) throw new ArgumentException("no images to write");
        if (scale < 1) throw new ArgumentException($"scale must be at least 1, got {scale}");
        var columns = rows.Max(r => r.Count);
        const int gap = 2;
        var w = columns * (width * scale + gap) + gap;
        var h = rows.Count * (height * scale + gap) + gap;
        using var bitmap = new SKBitmap(w, h, SKColorType.Gray8, SKAlphaType.Opaque);
        bitmap.Erase(new SKColor(128, 128, 128));
        for (var r = 0; r < rows.Count; r++)
            for (var c = 0; c < rows[r].Count; c++)
            {
                var img = rows[r][c];
                if (img.Length != width * height)
                    throw new ArgumentException($"image ({r},{c}) has {img.Length} values, expected {width} x {height}");
                var x0 = gap + c * (width * scale + gap);
                var y0 = gap + r * (height * scale + gap);
                for (var y = 0; y < height; y++)
                    for (var x = 0; x < width; x++)
                    {
                        var v = (byte)Math.Round(255 * Math.Clamp(img[y * width + x], 0f, 1f));
                        for (var dy = 0; dy < scale; dy++)
                            for (var dx = 0; dx < scale; dx++)
                                bitmap.SetPixel(x0 + x * scale + dx, y0 + y * scale + dy, new SKColor(v, v, v));
                    }
            }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var fs = File.Create(path);
        data.SaveTo(fs);
    }
}
