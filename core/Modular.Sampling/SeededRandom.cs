namespace Modular.Sampling;

/// <summary>Creates the per-sequence random streams that <see cref="Modular.Abstractions.SamplingSequence.Rng"/> holds.</summary>
public static class SeededRandom
{
    /// <summary>
    /// A stream for completion <paramref name="sampleIndex"/> of a request. With a seed the stream is a pure function
    /// of (seed, sampleIndex), so n &gt; 1 completions of one seeded request differ from each other yet replay exactly;
    /// without a seed it is freshly random.
    /// </summary>
    public static Random ForRequest(long? seed, int sampleIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(sampleIndex);
        if (seed is not long s) return new Random();
        // Scramble the seed first so neighbouring seeds do not give neighbouring states, then step by the golden
        // ratio per sample index: distinct indices of one seed land on distinct SplitMix64 starting points.
        ulong state = SplitMix64.Mix((ulong)s) + (ulong)sampleIndex * SplitMix64.Gamma;
        return new Xoshiro256Random(state);
    }
}

/// <summary>The SplitMix64 generator, used to expand one 64-bit seed into xoshiro state words.</summary>
internal static class SplitMix64
{
    public const ulong Gamma = 0x9E3779B97F4A7C15UL;

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public static ulong Next(ref ulong state)
    {
        state += Gamma;
        return Mix(state);
    }
}
