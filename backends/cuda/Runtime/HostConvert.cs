using System.Buffers.Binary;
using Modular.Abstractions;

namespace Modular.Backends.Cuda.Runtime;

/// <summary>Host-side float format conversions used when uploading (checkpoint dtype to storage dtype).</summary>
internal static class HostConvert
{
    /// <summary>float32 to bfloat16 bits, round to nearest even; NaN stays NaN.</summary>
    internal static ushort FloatToBf16(float f)
    {
        uint u = BitConverter.SingleToUInt32Bits(f);
        if ((u & 0x7fffffffu) > 0x7f800000u) return (ushort)((u >> 16) | 0x40);
        u += 0x7fffu + ((u >> 16) & 1u);
        return (ushort)(u >> 16);
    }

    /// <summary>bfloat16 bits to float32 (exact).</summary>
    internal static float Bf16ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Reads element <paramref name="i"/> of <paramref name="src"/> as float.</summary>
    internal static float ReadFloat(ReadOnlySpan<byte> src, DType type, int i) => type switch
    {
        DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(src[(i * 4)..]),
        DType.BF16 => Bf16ToFloat(BinaryPrimitives.ReadUInt16LittleEndian(src[(i * 2)..])),
        DType.F16 => (float)BinaryPrimitives.ReadHalfLittleEndian(src[(i * 2)..]),
        _ => throw new NotSupportedException($"cuda: cannot convert from {type} on upload (float types F32/F16/BF16 only)"),
    };

    /// <summary>Writes <paramref name="v"/> as element <paramref name="i"/> of <paramref name="dst"/>.</summary>
    internal static void WriteFloat(Span<byte> dst, DType type, int i, float v)
    {
        switch (type)
        {
            case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(dst[(i * 4)..], v); break;
            case DType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(dst[(i * 2)..], FloatToBf16(v)); break;
            case DType.F16: BinaryPrimitives.WriteHalfLittleEndian(dst[(i * 2)..], (Half)v); break;
            default: throw new NotSupportedException($"cuda: cannot convert to {type} on upload (float types F32/F16/BF16 only)");
        }
    }
}
