namespace Modular.Hardening.Tests.Soak;

/// <summary>The soak's trend and quantile arithmetic (runs in CI; the soak itself does not).</summary>
public sealed class TrendTests
{
    [Fact]
    public void Growth_OfALeak_IsFound_ThroughASawtooth()
    {
        // 1 MiB per 10 s under a ±20 MiB sawtooth (collections): the fitted growth over 600 s is about 60 MiB.
        var leak = Enumerable.Range(0, 61).Select(i => (T: i * 10.0, Y: (100 + i + (i % 2 == 0 ? 20 : -20)) * 1048576.0)).ToList();
        Assert.InRange(Trend.Growth(leak) / 1048576.0, 55, 65);
        var flat = Enumerable.Range(0, 61).Select(i => (T: i * 10.0, Y: (100 + (i % 2 == 0 ? 20 : -20)) * 1048576.0)).ToList();
        Assert.InRange(Trend.Growth(flat) / 1048576.0, -2, 2);
        Assert.Equal(0, Trend.Growth([(1, 5)]));
    }

    [Fact]
    public void Quantile_IsNearestRank()
    {
        double[] sorted = [.. Enumerable.Range(1, 100).Select(i => (double)i)];
        Assert.Equal(50, Trend.Quantile(sorted, 0.5));
        Assert.Equal(99, Trend.Quantile(sorted, 0.99));
        Assert.Equal(100, Trend.Quantile(sorted, 1));
        Assert.Equal(7, Trend.Quantile([7], 0.99));
    }
}
