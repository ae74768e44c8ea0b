using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// How a float tensor is stored on the device. F16 and BF16 live as raw 16-bit words and are widened in the
/// kernels (float32 accumulation), so no device needs native half support - pocl's CPU device has none.
/// </summary>
internal static class StorageKind
{
    public const int F32 = 0;
    public const int F16 = 1;
    public const int BF16 = 2;
}

/// <summary>A float tensor as kernels see it: both typed views (one is a dummy) and the kind that says which is real.</summary>
/// <param name="F32">The data when <paramref name="Kind"/> is F32.</param>
/// <param name="U16">The data when it is F16 or BF16.</param>
/// <param name="Kind">A <see cref="StorageKind"/> constant.</param>
/// <param name="Pairs">The 16-bit data read two words at a time, when it starts 4-byte aligned (else a dummy).</param>
/// <param name="PairsAligned">True when <paramref name="Pairs"/> is the data.</param>
internal readonly record struct FloatRef(ArrayView<float> F32, ArrayView<ushort> U16, int Kind, ArrayView<uint> Pairs, bool PairsAligned);

/// <summary>Device-side decoding of <see cref="StorageKind"/> values.</summary>
internal static class WeightRead
{
    /// <summary>Element <paramref name="i"/> as float32, whatever the storage kind (uniform branch per launch).</summary>
    public static float Load(ArrayView<float> f32, ArrayView<ushort> u16, int kind, long i)
    {
        if (kind == StorageKind.F32) return f32[i];
        uint bits = u16[i];
        return kind == StorageKind.BF16 ? Interop.IntAsFloat(bits << 16) : HalfToFloat(bits);
    }

    /// <summary>IEEE half bits to float32, exact (subnormals, infinities and NaN included).</summary>
    public static float HalfToFloat(uint h)
    {
        uint sign = (h & 0x8000u) << 16;
        uint exp = (h >> 10) & 0x1Fu;
        uint man = h & 0x3FFu;
        if (exp == 0)
        {
            // Subnormal or zero: man * 2^-24, exact in float32.
            float v = man * 5.9604644775390625E-8f;
            return sign != 0 ? -v : v;
        }
        if (exp == 31) return Interop.IntAsFloat(sign | 0x7F800000u | (man << 13));
        return Interop.IntAsFloat(sign | ((exp + 112u) << 23) | (man << 13));
    }
}
