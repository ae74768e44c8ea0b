using System.Numerics;
using System.Numerics.Tensors;
using Modular.Abstractions;

namespace Modular.Sampling;

/// <summary>
/// The random branch of the sampler, as vLLM v1 orders it: temperature, then min-p (relative to the top token),
/// then top-k, then top-p over what is left, then one draw by inverse CDF with the sequence's own stream.
/// Works on unnormalized probabilities exp((x - max) / T), so the top token has exactly 1 and min-p is a plain
/// threshold. Reuses its scratch buffers; not thread-safe.
/// </summary>
internal sealed class ProbabilitySampler
{
    // Block sums let the inverse-CDF walk skip whole blocks with one vectorized Sum each.
    private const int Block = 2048;
    // Candidate thresholds tried for top-p (relative to the top token), before falling back to every nonzero token.
    private static readonly float[] NucleusThresholds = [1f / 1024, 1f / (1 << 20), 1e-12f, 0f];

    private int[] _topIds = [];
    private float[] _topValues = [];
    // Candidate keys: inverted probability bits above, token id below, so ascending keys mean descending
    // probability with ties to the lower id (bits of a non-negative float order like the float).
    private ulong[] _keys = [];
    private ulong[] _boundary = [];
    // Top 12 bits of a key (sign, exponent, 3 mantissa bits): probability bands 1/8 of an octave wide.
    private const int BucketShift = 52;
    private readonly double[] _bucketMass = new double[1 << (64 - BucketShift)];

    /// <summary>
    /// Draws a token from <paramref name="logits"/> (processed logits, overwritten with probabilities).
    /// </summary>
    public int Sample(Span<float> logits, SamplingParams p, Random rng, int rowIndex)
    {
        float max = TensorPrimitives.Max(logits);
        if (!float.IsFinite(max))
            throw new InvalidOperationException(
                $"Sampler: row {rowIndex} has no usable logit after logit_bias, the allowed-token mask, min_tokens and penalties " +
                $"(maximum is {max}); the guided-decoding mask may allow nothing, or the model produced NaN/infinity");
        // Draw first: one number per step whatever the settings, so the stream advances predictably.
        double u = rng.NextDouble();

        var probs = logits;
        TensorPrimitives.Subtract(probs, max, probs);
        TensorPrimitives.Multiply(probs, 1f / p.Temperature, probs);
        TensorPrimitives.Exp(probs, probs);

        // min-p and top-k both reduce to "keep p >= floor" (top-k keeps ties at the k-th value, as vLLM does).
        float floor = p.MinP > 0 ? p.MinP : 0f;
        if (p.TopK > 0 && p.TopK < probs.Length)
        {
            EnsureTop(p.TopK);
            int n = TopSelection.Largest(probs, p.TopK, _topIds, _topValues);
            if (n == p.TopK) floor = Math.Max(floor, _topValues[n - 1]);
        }
        if (floor > 0) ZeroBelow(probs, floor);

        if (p.TopP < 1f) return SampleNucleus(probs, p.TopP, u);
        return SampleFullRow(probs, u);
    }

    /// <summary>
    /// Top-p: keeps the most likely tokens until the mass before the next one reaches top_p (so the smallest set
    /// whose mass is at least top_p), then samples within it. Never sorts the vocabulary: candidates above a
    /// threshold whose mass already covers top_p are bucketed by the top bits of their probability, and only the
    /// bucket where the cumulative mass crosses top_p is sorted to place the exact cut.
    /// </summary>
    private int SampleNucleus(ReadOnlySpan<float> probs, float topP, double u)
    {
        var keys = FindNucleus(probs, topP, out ulong cutoff, out double kept);

        // Draw among the nucleus (keys up to the cut) in id order.
        double x = u * kept;
        int last = -1;
        foreach (ulong k in keys)
        {
            if (k > cutoff) continue;
            int id = KeyId(k);
            float pi = probs[id];
            if (x < pi) return id;
            x -= pi;
            last = id;
        }
        return last; // rounding left x just past the end: take the last kept token
    }

    /// <summary>
    /// Locates the nucleus: returns the candidate keys (in id order) and the largest key inside it; the nucleus is
    /// every candidate whose key is at most <paramref name="cutoff"/>, and <paramref name="kept"/> is its mass.
    /// </summary>
    internal ReadOnlySpan<ulong> FindNucleus(ReadOnlySpan<float> probs, float topP, out ulong cutoff, out double kept)
    {
        double total = TensorPrimitives.Sum(probs);
        double target = topP * total;
        int count = 0;
        foreach (float threshold in NucleusThresholds)
        {
            double mass = CollectCandidates(probs, threshold, out count);
            if (mass >= target || threshold == 0f) break;
        }
        var keys = _keys.AsSpan(0, count);

        // Coarse pass: mass per bucket; buckets ascend as probability descends.
        var bucketMass = _bucketMass;
        Array.Clear(bucketMass);
        foreach (ulong k in keys) bucketMass[k >> BucketShift] += probs[KeyId(k)];
        double before = 0;
        int crossing = -1;
        for (int b = 0; b < bucketMass.Length; b++)
        {
            if (before + bucketMass[b] >= target) { crossing = b; break; }
            before += bucketMass[b];
        }

        // Fine pass: order the crossing bucket (by descending probability, then id) and cut inside it. When
        // rounding kept every bucket below the target, the whole candidate set is the nucleus.
        kept = before;
        cutoff = ulong.MaxValue;
        if (crossing >= 0)
        {
            if (_boundary.Length < count) _boundary = new ulong[Math.Max(count, 2 * _boundary.Length)];
            int m = 0;
            foreach (ulong k in keys)
                if ((int)(k >> BucketShift) == crossing) _boundary[m++] = k;
            var inBucket = _boundary.AsSpan(0, m);
            inBucket.Sort();
            for (int i = 0; i < m && kept < target; i++)
            {
                kept += probs[KeyId(inBucket[i])];
                cutoff = inBucket[i];
            }
        }

        return keys;
    }

    private double CollectCandidates(ReadOnlySpan<float> probs, float threshold, out int count)
    {
        if (_keys.Length < probs.Length) _keys = new ulong[probs.Length];
        var keys = _keys;
        double mass = 0;
        int n = 0;
        for (int start = 0; start < probs.Length; start += Block)
        {
            var block = probs.Slice(start, Math.Min(Block, probs.Length - start));
            float blockMax = TensorPrimitives.Max(block);
            if (blockMax < threshold || blockMax == 0f) continue;
            for (int j = 0; j < block.Length; j++)
            {
                float v = block[j];
                if (v > 0f && v >= threshold)
                {
                    uint bits = BitConverter.SingleToUInt32Bits(v);
                    keys[n++] = ((ulong)(uint.MaxValue - bits) << 32) | (uint)(start + j);
                    mass += v;
                }
            }
        }
        count = n;
        return mass;
    }

    internal static int KeyId(ulong key) => (int)(uint)key;

    /// <summary>Inverse-CDF draw over the whole row in id order, skipping blocks by their vectorized sums.</summary>
    private static int SampleFullRow(ReadOnlySpan<float> probs, double u)
    {
        double total = 0;
        int blocks = (probs.Length + Block - 1) / Block;
        Span<double> sums = blocks <= 256 ? stackalloc double[blocks] : new double[blocks];
        for (int b = 0; b < blocks; b++)
        {
            sums[b] = TensorPrimitives.Sum(probs.Slice(b * Block, Math.Min(Block, probs.Length - b * Block)));
            total += sums[b];
        }

        double x = u * total;
        for (int b = 0; b < blocks; b++)
        {
            if (x >= sums[b] && b < blocks - 1) { x -= sums[b]; continue; }
            int start = b * Block;
            var block = probs.Slice(start, Math.Min(Block, probs.Length - start));
            for (int j = 0; j < block.Length; j++)
            {
                float pj = block[j];
                if (pj > 0f && x < pj) return start + j;
                x -= pj;
            }
            // Rounding between the vectorized block sum and this scalar walk: keep walking into later blocks.
            x = Math.Max(x, 0);
        }
        // Fell off the end through rounding: the last token with nonzero probability.
        for (int i = probs.Length - 1; i >= 0; i--)
            if (probs[i] > 0f) return i;
        return 0; // unreachable: the top token always has probability 1
    }

    private static void ZeroBelow(Span<float> probs, float floor)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var f = new Vector<float>(floor);
            for (; i <= probs.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(probs[i..]);
                Vector.ConditionalSelect(Vector.GreaterThanOrEqual(v, f), v, Vector<float>.Zero).CopyTo(probs[i..]);
            }
        }
        for (; i < probs.Length; i++)
            if (!(probs[i] >= floor)) probs[i] = 0f;
    }

    private void EnsureTop(int k)
    {
        if (_topIds.Length >= k) return;
        _topIds = new int[k];
        _topValues = new float[k];
    }
}
