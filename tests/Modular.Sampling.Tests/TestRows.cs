using Modular.Abstractions;
using Modular.Sampling;

namespace Modular.Sampling.Tests;

/// <summary>Builders for sampler inputs and a double-precision reference of the sampling distribution.</summary>
internal static class TestRows
{
    public static SamplingSequence Sequence(SamplingParams p, int[]? prompt = null, int[]? output = null,
        Random? rng = null, ulong[]? mask = null, int[]? eos = null) => new()
    {
        Params = p,
        PromptIds = prompt ?? [],
        OutputIds = output ?? [],
        Rng = rng ?? SeededRandom.ForRequest(1234, 0),
        AllowedMask = mask,
        EosIds = eos ?? [],
    };

    /// <summary>Samples one row alone and returns the result.</summary>
    public static SampledToken SampleOne(Sampler sampler, float[] logits, SamplingSequence seq)
    {
        var results = new SampledToken[1];
        sampler.Sample((float[])logits.Clone(), logits.Length, [seq], results);
        return results[0];
    }

    /// <summary>Random logits, normal-ish with the given spread.</summary>
    public static float[] RandomLogits(Random rng, int vocab, double scale = 3.0)
    {
        var row = new float[vocab];
        for (int i = 0; i < vocab; i++)
        {
            // Sum of uniforms: cheap, bell-shaped, deterministic for a seeded Random.
            double s = rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5;
            row[i] = (float)(s * scale);
        }
        return row;
    }

    /// <summary>
    /// Reference distribution written directly from the definitions (full sort, doubles): softmax(x / T), then
    /// min-p relative to the top probability, then top-k, then top-p over the renormalized survivors.
    /// </summary>
    public static double[] Expected(float[] logits, float temperature, int topK = 0, float topP = 1f, float minP = 0f)
    {
        int v = logits.Length;
        double max = logits.Max();
        var p = new double[v];
        for (int i = 0; i < v; i++) p[i] = Math.Exp((logits[i] - max) / temperature);
        Normalize(p);

        double top = p.Max();
        for (int i = 0; i < v; i++) if (p[i] < minP * top) p[i] = 0;
        Normalize(p);

        var order = Enumerable.Range(0, v).OrderByDescending(i => p[i]).ThenBy(i => i).ToArray();
        if (topK > 0 && topK < v)
            for (int r = topK; r < v; r++) p[order[r]] = 0;
        Normalize(p);

        if (topP < 1f)
        {
            double before = 0;
            foreach (int i in order)
            {
                if (before >= topP) p[i] = 0;
                else before += p[i];
            }
            Normalize(p);
        }
        return p;
    }

    private static void Normalize(double[] p)
    {
        double s = p.Sum();
        for (int i = 0; i < p.Length; i++) p[i] /= s;
    }

    /// <summary>Pearson chi-square of observed counts against expected probabilities (cells with p = 0 skipped).</summary>
    public static double ChiSquare(int[] counts, double[] expected)
    {
        int n = counts.Sum();
        double chi = 0;
        for (int i = 0; i < counts.Length; i++)
        {
            if (expected[i] == 0) continue;
            double e = n * expected[i];
            chi += (counts[i] - e) * (counts[i] - e) / e;
        }
        return chi;
    }

    /// <summary>Chi-square critical values at significance 0.001, by degrees of freedom.</summary>
    public static double Critical001(int df) => df switch
    {
        1 => 10.828, 2 => 13.816, 3 => 16.266, 4 => 18.467, 5 => 20.515, 6 => 22.458, 7 => 24.322,
        _ => throw new ArgumentOutOfRangeException(nameof(df)),
    };
}
