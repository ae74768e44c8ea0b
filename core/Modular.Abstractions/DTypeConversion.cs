using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Modular.Abstractions;

/// <summary>
/// Host conversions between checkpoint dtypes and float32, shared by every backend's upload and download paths
/// (float32 is the pivot): widening is exact; narrowing rounds to nearest even.
/// </summary>
public static class DTypeConversion
{
    /// <summary>Widens <paramref name="src"/> elements of <paramref name="type"/> (F32, F16, BF16, F8E4M3) to float32.</summary>
    public static void ToF32(ReadOnlySpan<byte> src, DType type, Span<float> dst)
    {
        switch (type)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
                break;
            case DType.BF16:
            {
                var s = MemoryMarshal.Cast<byte, ushort>(src);
                var d = MemoryMarshal.Cast<float, uint>(dst);
                for (int i = 0; i < s.Length; i++) d[i] = (uint)s[i] << 16;
                break;
            }
            case DType.F8E4M3:
                for (int i = 0; i < src.Length; i++) dst[i] = Fp8E4M3ToF32(src[i]);
                break;
            default:
                throw new NotSupportedException($"cannot convert {type} to float32");
        }
    }

    /// <summary>
    /// Narrows float32 to <paramref name="type"/> bytes (F32, F16, BF16, F8E4M3); F8E4M3 uses scale 1.0, round to
    /// nearest even and saturates to ±448 (<see cref="Fp8E4M3.Encode"/>).
    /// </summary>
    public static void FromF32(ReadOnlySpan<float> src, DType type, Span<byte> dst)
    {
        switch (type)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(src).CopyTo(dst);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToHalf(src, MemoryMarshal.Cast<byte, Half>(dst));
                break;
            case DType.BF16:
            {
                var d = MemoryMarshal.Cast<byte, ushort>(dst);
                for (int i = 0; i < src.Length; i++) d[i] = ToBf16(src[i]);
                break;
            }
            case DType.F8E4M3:
                for (int i = 0; i < src.Length; i++) dst[i] = Fp8E4M3.Encode(src[i]);
                break;
            default:
                throw new NotSupportedException($"cannot convert float32 to {type}");
        }
    }

    /// <summary>float32 to bfloat16 bits, round to nearest even; NaN stays NaN.</summary>
    public static ushort ToBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if (float.IsNaN(f)) return (ushort)((u >> 16) | 0x40);
        return (ushort)((u + 0x7FFFu + ((u >> 16) & 1)) >> 16);
    }

    /// <summary>bfloat16 bits to float32 (exact).</summary>
    public static float Bf16ToF32(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Decodes one FP8 e4m3fn byte (bias 7, no infinities, 0x7F/0xFF are NaN).</summary>
    public static float Fp8E4M3ToF32(byte b) => Fp8E4M3.Decode(b);
}
