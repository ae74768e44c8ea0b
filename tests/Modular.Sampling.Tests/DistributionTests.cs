using Modular.Abstractions;

namespace Modular.Sampling.Tests;

/// <summary>
/// Goodness-of-fit: 20,000 draws on an 8-token vocabulary must follow the renormalized distribution computed
/// independently (doubles, full sort) in <see cref="TestRows.Expected"/>. The threshold is the 0.001 critical value,
/// stable with a fixed seed; each test also shows that the plausible off-by-one mistake (one token too many or a
/// different order of filters) would be rejected by a wide margin.
/// </summary>
public class DistributionTests
{
    private static readonly float[] Logits = [2.0f, 1.5f, 1.2f, 0.8f, 0.3f, -0.2f, -0.9f, -1.5f];
    private const int Draws = 20_000;

    private static int[] Draw(SamplingParams p, long seed)
    {
        var sampler = new Sampler();
        var seq = TestRows.Sequence(p, rng: SeededRandom.ForRequest(seed, 0));
        var counts = new int[Logits.Length];
        var row = new float[Logits.Length];
        var results = new SampledToken[1];
        for (int i = 0; i < Draws; i++)
        {
            Logits.CopyTo(row, 0);
            sampler.Sample(row, row.Length, [seq], results);
            counts[results[0].TokenId]++;
        }
        return counts;
    }

    private static void AssertFits(int[] counts, double[] expected, int expectedSupport, double[]? wrong = null)
    {
        int support = expected.Count(e => e > 0);
        Assert.Equal(expectedSupport, support);
        for (int i = 0; i < counts.Length; i++)
            if (expected[i] == 0) Assert.True(counts[i] == 0, $"token {i} is outside the expected support but was drawn {counts[i]} times");
        double chi = TestRows.ChiSquare(counts, expected);
        double critical = TestRows.Critical001(support - 1);
        Assert.True(chi < critical, $"chi-square {chi:F2} >= {critical} (counts {string.Join(",", counts)})");
        if (wrong is not null)
        {
            // Power check: if the sampler had produced the wrong distribution, these counts would be rejected.
            var simulated = Simulate(wrong, Draws, 99);
            Assert.True(TestRows.ChiSquare(simulated, expected) > 5 * critical || simulated.Where((c, i) => expected[i] == 0 && c > 0).Any(),
                "the test would not notice the wrong distribution");
        }
    }

    private static int[] Simulate(double[] p, int n, int seed)
    {
        var rng = new Random(seed);
        var counts = new int[p.Length];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble(), c = 0;
            int t = 0;
            for (; t < p.Length - 1; t++) { c += p[t]; if (u < c) break; }
            counts[t]++;
        }
        return counts;
    }

    [Fact]
    public void Temperature()
    {
        var expected = TestRows.Expected(Logits, 0.7f);
        AssertFits(Draw(new SamplingParams { Temperature = 0.7f }, 1), expected, 8, wrong: TestRows.Expected(Logits, 1f));
    }

    [Fact]
    public void TopK()
    {
        var expected = TestRows.Expected(Logits, 1f, topK: 3);
        AssertFits(Draw(new SamplingParams { TopK = 3 }, 2), expected, 3, wrong: TestRows.Expected(Logits, 1f, topK: 4));
    }

    [Fact]
    public void TopP()
    {
        // Mass before token 3 is 0.7515 < 0.8, before token 4 is 0.8616: the nucleus is tokens 0..3.
        var expected = TestRows.Expected(Logits, 1f, topP: 0.8f);
        AssertFits(Draw(new SamplingParams { TopP = 0.8f }, 3), expected, 4, wrong: TestRows.Expected(Logits, 1f, topP: 0.9f));
    }

    [Fact]
    public void TopP_AfterTemperature()
    {
        // At T = 0.7 the mass before token 3 is 0.844 >= 0.8: only tokens 0..2 remain.
        var expected = TestRows.Expected(Logits, 0.7f, topP: 0.8f);
        AssertFits(Draw(new SamplingParams { Temperature = 0.7f, TopP = 0.8f }, 4), expected, 3, wrong: TestRows.Expected(Logits, 1f, topP: 0.8f));
    }

    [Fact]
    public void MinP()
    {
        // Ratios to the top token: 0.1827 for token 4 (kept), 0.1108 for token 5 (dropped).
        var expected = TestRows.Expected(Logits, 1f, minP: 0.15f);
        AssertFits(Draw(new SamplingParams { MinP = 0.15f }, 5), expected, 5, wrong: TestRows.Expected(Logits, 1f, minP: 0.1f));
    }

    [Fact]
    public void TopK_ThenTopP_RenormalizesBetween()
    {
        // Renormalized over the top 4, the mass before token 3 is 0.87 >= 0.8, so 0..2 remain; top-p over the
        // full distribution (mass before token 3 only 0.75) would keep token 3 as well.
        var expected = TestRows.Expected(Logits, 1f, topK: 4, topP: 0.8f);
        AssertFits(Draw(new SamplingParams { TopK = 4, TopP = 0.8f }, 6), expected, 3, wrong: TestRows.Expected(Logits, 1f, topP: 0.8f));
    }

    [Fact]
    public void MinP_BeforeTopP_AsVllmOrdersThem()
    {
        // min-p 0.15 keeps 0..4; renormalized, the mass before token 3 is 0.81 >= 0.78, so 0..2 remain.
        // Top-p first would keep 0..3 (mass before token 3 is only 0.75 of the full distribution).
        var expected = TestRows.Expected(Logits, 1f, topP: 0.78f, minP: 0.15f);
        var topPFirst = TestRows.Expected(Logits, 1f, topP: 0.78f);
        AssertFits(Draw(new SamplingParams { TopP = 0.78f, MinP = 0.15f }, 7), expected, 3, wrong: topPFirst);
    }

    [Fact]
    public void LargeVocabulary_TopPAndTopK_StayInsideTheReferenceSet()
    {
        // A flat row forces the nucleus search past its first candidate thresholds.
        const int vocab = 5000;
        var row = TestRows.RandomLogits(new Random(21), vocab, scale: 0.5);
        var sampler = new Sampler();
        foreach (var p in new[] { new SamplingParams { TopP = 0.5f }, new SamplingParams { TopK = 40, Temperature = 0.5f }, new SamplingParams { TopP = 0.95f, MinP = 0.5f } })
        {
            var expected = TestRows.Expected(row, p.Temperature, p.TopK, p.TopP, p.MinP);
            var seq = TestRows.Sequence(p, rng: SeededRandom.ForRequest(8, 0));
            var seen = new HashSet<int>();
            for (int i = 0; i < 3000; i++)
            {
                int t = TestRows.SampleOne(sampler, row, seq).TokenId;
                Assert.True(expected[t] > 0, $"token {t} drawn outside the reference set for {p}");
                seen.Add(t);
            }
            int support = expected.Count(e => e > 0);
            // Most of the allowed set should show up (all of it when small).
            Assert.True(seen.Count >= Math.Min(support, 40) * 0.9, $"only {seen.Count} of {support} allowed tokens drawn for {p}");
        }
    }
}
