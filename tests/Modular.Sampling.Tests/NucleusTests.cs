namespace Modular.Sampling.Tests;

/// <summary>The bucketed nucleus search must select exactly the set a full sort would.</summary>
public class NucleusTests
{
    [Theory]
    [InlineData(0.3, 1)]
    [InlineData(1.0, 2)]
    [InlineData(3.0, 3)]
    [InlineData(8.0, 4)]
    public void MatchesFullSort(double scale, int seed)
    {
        var rng = new Random(seed);
        var sampler = new ProbabilitySampler();
        int compared = 0;
        foreach (float topP in new[] { 0.3f, 0.5f, 0.9f, 0.99f })
        {
            for (int trial = 0; trial < 5; trial++)
            {
                var logits = TestRows.RandomLogits(rng, 6000, scale);
                float max = logits.Max();
                var probs = logits.Select(x => MathF.Exp(x - max)).ToArray();

                // Reference: full sort by (probability desc, id asc); keep while the mass before is below top_p.
                var order = Enumerable.Range(0, probs.Length).OrderByDescending(i => probs[i]).ThenBy(i => i).ToArray();
                double total = probs.Sum(x => (double)x), target = topP * total, before = 0;
                var expected = new HashSet<int>();
                foreach (int i in order)
                {
                    if (before >= target) break;
                    // A mass this close to the cut is decided by summation order; such rows are not a fair check.
                    if (Math.Abs(before + probs[i] - target) < 1e-6 * total) { expected = null; break; }
                    expected.Add(i);
                    before += probs[i];
                }
                if (expected is null) continue;

                var keys = sampler.FindNucleus(probs, topP, out ulong cutoff, out double kept);
                var actual = new HashSet<int>();
                foreach (ulong k in keys) if (k <= cutoff) actual.Add(ProbabilitySampler.KeyId(k));
                Assert.True(expected.SetEquals(actual), $"top_p {topP}, scale {scale}: expected {expected.Count} tokens, got {actual.Count}");
                Assert.Equal(before, kept, tolerance: 1e-4 * total);
                compared++;
            }
        }
        Assert.True(compared >= 16, $"only {compared} of 20 rows were compared");
    }
}
