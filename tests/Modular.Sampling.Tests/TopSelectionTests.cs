namespace Modular.Sampling.Tests;

public class TopSelectionTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(50, 2)]
    [InlineData(700, 3)]
    [InlineData(3000, 4)]
    public void MatchesAFullSort_WithTiesToLowerIndex(int k, int seed)
    {
        var rng = new Random(seed);
        var row = new float[3000];
        // Coarse values give many ties; a few NaNs must be skipped.
        for (int i = 0; i < row.Length; i++) row[i] = MathF.Round((float)rng.NextDouble() * 40) / 4;
        row[17] = float.NaN;
        row[2999] = float.NaN;
        var ids = new int[k];
        var vals = new float[k];
        int n = TopSelection.Largest(row, k, ids, vals);

        var expected = Enumerable.Range(0, row.Length).Where(i => !float.IsNaN(row[i]))
            .OrderByDescending(i => row[i]).ThenBy(i => i).Take(k).ToArray();
        Assert.Equal(expected.Length, n);
        Assert.Equal(expected, ids[..n]);
        for (int i = 0; i < n; i++) Assert.Equal(row[ids[i]], vals[i]);
    }
}

public class SeededRandomTests
{
    [Fact]
    public void SameSeedAndIndex_Replays_OtherIndexDiffers()
    {
        var a = SeededRandom.ForRequest(123, 0);
        var b = SeededRandom.ForRequest(123, 0);
        var c = SeededRandom.ForRequest(123, 1);
        var d = SeededRandom.ForRequest(124, 0);
        var xa = Enumerable.Range(0, 8).Select(_ => a.NextDouble()).ToArray();
        Assert.Equal(xa, Enumerable.Range(0, 8).Select(_ => b.NextDouble()).ToArray());
        Assert.NotEqual(xa, Enumerable.Range(0, 8).Select(_ => c.NextDouble()).ToArray());
        Assert.NotEqual(xa, Enumerable.Range(0, 8).Select(_ => d.NextDouble()).ToArray());
        Assert.NotEqual(SeededRandom.ForRequest(null, 0).NextInt64(), SeededRandom.ForRequest(null, 0).NextInt64());
    }

    [Fact]
    public void Ranges_AreHonoured_AndUniformEnough()
    {
        var r = SeededRandom.ForRequest(77, 3);
        var buckets = new int[10];
        for (int i = 0; i < 10_000; i++)
        {
            double u = r.NextDouble();
            Assert.InRange(u, 0.0, 0.9999999999);
            buckets[(int)(u * 10)]++;
            Assert.InRange(r.Next(5, 9), 5, 8);
            Assert.InRange(r.NextInt64(-3, 3), -3, 2);
        }
        foreach (int b in buckets) Assert.InRange(b, 850, 1150);
        var bytes = new byte[13];
        r.NextBytes(bytes);
        Assert.Contains(bytes, x => x != 0);
    }
}
