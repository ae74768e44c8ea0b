namespace Modular.Hardening.Tests.Soak;

/// <summary>Least-squares line through (t, y) samples: how fast a measure grows over a run, beyond its noise.</summary>
public static class Trend
{
    /// <summary>The slope (y units per t unit) of the least-squares line; 0 for fewer than two distinct t.</summary>
    public static double Slope(IReadOnlyList<(double T, double Y)> points)
    {
        if (points.Count < 2) return 0;
        double mt = points.Average(p => p.T), my = points.Average(p => p.Y);
        double num = 0, den = 0;
        foreach (var (t, y) in points)
        {
            num += (t - mt) * (y - my);
            den += (t - mt) * (t - mt);
        }
        return den == 0 ? 0 : num / den;
    }

    /// <summary>The growth the fitted line predicts from the first to the last sample (slope times the time span).</summary>
    public static double Growth(IReadOnlyList<(double T, double Y)> points) =>
        points.Count < 2 ? 0 : Slope(points) * (points[^1].T - points[0].T);

    /// <summary>The value at quantile <paramref name="q"/> (0..1) of <paramref name="sorted"/> (nearest rank).</summary>
    public static double Quantile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
}
