using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Backends.Cpu;

/// <summary>Host conversions of checkpoint dtypes to float32.</summary>
public static class Conversions
{
    /// <summary>Converts <paramref name="src"/> elements of <paramref name="type"/> to float32.</summary>
    public static void ToF32(ReadOnlySpan<byte> src, DType type, Span<float> dst)
    {
        switch (type)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(src).CopyTo(dst);
                break;
            case DType.F16:
                System.Numerics.Tensors.TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(src), dst);
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

    /// <summary>Decodes one FP8 e4m3fn byte (bias 7, no infinities, 0x7F/0xFF are NaN).</summary>
    public static float Fp8E4M3ToF32(byte b)
    {
        int sign = b >> 7, exp = (b >> 3) & 0xF, man = b & 0x7;
        if (exp == 0xF && man == 0x7) return float.NaN;
        float v = exp == 0 ? man / 8f * MathF.Pow(2, -6) : (1 + man / 8f) * MathF.Pow(2, exp - 7);
        return sign != 0 ? -v : v;
    }
}
