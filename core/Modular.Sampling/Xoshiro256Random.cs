namespace Modular.Sampling;

/// <summary>
/// xoshiro256** behind the <see cref="Random"/> API, seeded with a full 64-bit value. Its output depends only on the
/// seed (not on the .NET version's choice of default generator), which is what request seeds promise.
/// </summary>
internal sealed class Xoshiro256Random : Random
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256Random(ulong seed) : base(0)
    {
        ulong sm = seed;
        _s0 = SplitMix64.Next(ref sm);
        _s1 = SplitMix64.Next(ref sm);
        _s2 = SplitMix64.Next(ref sm);
        _s3 = SplitMix64.Next(ref sm);
    }

    private ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    // Maps 64 random bits onto [0, range) by the high half of a 128-bit product (bias below 2^-64 * range).
    private ulong Below(ulong range) => (ulong)(((UInt128)NextUInt64() * range) >> 64);

    public override int Next()
    {
        while (true)
        {
            int r = (int)(NextUInt64() >> 33);
            if (r != int.MaxValue) return r;
        }
    }

    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)Below((ulong)maxValue);
    }

    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)(minValue + (long)Below((ulong)((long)maxValue - minValue)));
    }

    public override long NextInt64()
    {
        while (true)
        {
            long r = (long)(NextUInt64() >> 1);
            if (r != long.MaxValue) return r;
        }
    }

    public override long NextInt64(long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (long)Below((ulong)maxValue);
    }

    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return minValue + (long)Below((ulong)(maxValue - minValue));
    }

    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public override float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1U << 24));

    protected override double Sample() => NextDouble();

    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    public override void NextBytes(Span<byte> buffer)
    {
        while (buffer.Length >= 8)
        {
            BitConverter.TryWriteBytes(buffer, NextUInt64());
            buffer = buffer[8..];
        }
        if (buffer.IsEmpty) return;
        Span<byte> last = stackalloc byte[8];
        BitConverter.TryWriteBytes(last, NextUInt64());
        last[..buffer.Length].CopyTo(buffer);
    }
}
