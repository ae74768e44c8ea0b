namespace ScalarBackend;

/// <summary>Widening of the 16-bit float formats checkpoints store weights in.</summary>
internal static class FloatFormats
{
    /// <summary>bfloat16 is the upper half of a float32, so widening is a 16-bit shift.</summary>
    public static void Bf16ToF32(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = BitConverter.UInt32BitsToSingle((uint)src[i] << 16);
    }

    /// <summary>IEEE half precision, through .NET's <see cref="Half"/>.</summary>
    public static void F16ToF32(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(src[i]);
    }
}
