namespace Modular.Abstractions;

/// <summary>The FP8 e4m3fn number format (1 sign, 4 exponent bits with bias 7, 3 mantissa bits, no infinities).</summary>
public static class Fp8E4M3
{
    /// <summary>Largest finite magnitude, 1.75 * 2^8.</summary>
    public const float Max = 448f;

    /// <summary>Decodes one byte; 0x7F and 0xFF are NaN.</summary>
    public static float Decode(byte b)
    {
        int exp = (b >> 3) & 0xF, man = b & 0x7;
        if (exp == 0xF && man == 0x7) return float.NaN;
        // Subnormals are man * 2^-9; normals (8 + man) * 2^(exp - 10).
        float v = exp == 0 ? man * (1f / 512) : (8 + man) * MathF.ScaleB(1f, exp - 10);
        return (b & 0x80) != 0 ? -v : v;
    }

    /// <summary>Encodes with round-to-nearest-even, saturating to ±448 (as torch's float8_e4m3fn cast of a clamped value).</summary>
    public static byte Encode(float x)
    {
        if (float.IsNaN(x)) return 0x7F;
        int sign = x < 0 || (x == 0 && float.IsNegative(x)) ? 0x80 : 0;
        float a = MathF.Abs(x);
        if (a >= Max) return (byte)(sign | 0x7E);
        if (a < 1f / 64)
        {
            // Subnormal range: a multiple of 2^-9; code 8 (if rounding reaches it) is exactly the smallest normal.
            return (byte)(sign | (int)MathF.Round(a * 512f, MidpointRounding.ToEven));
        }
        int bits = BitConverter.SingleToInt32Bits(a);
        int e = ((bits >> 23) & 0xFF) - 127, m = bits & 0x7FFFFF;
        int r = m >> 20, rest = m & 0xFFFFF;
        if (rest > 0x80000 || (rest == 0x80000 && (r & 1) == 1)) r++;
        if (r == 8) { r = 0; e++; }
        int code = ((e + 7) << 3) | r;
        return (byte)(sign | Math.Min(code, 0x7E));
    }
}
