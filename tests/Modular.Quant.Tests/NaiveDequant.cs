using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Quant.Tests;

/// <summary>
/// Straight-from-the-format dequantizers, written independently of the plugin: one element at a time, with the
/// checkpoint tensors read as stored. They are the reference the canonical conversion and the kernels must meet.
/// </summary>
internal static class NaiveDequant
{
    public static int[] I32(IWeightSource s, string name) => MemoryMarshal.Cast<byte, int>(s.Bytes(name)).ToArray();

    public static float[] Floats(IWeightSource s, string name)
    {
        var info = s.Info(name);
        var b = s.Bytes(name);
        return info.DType switch
        {
            DType.F16 => Array.ConvertAll(MemoryMarshal.Cast<byte, Half>(b).ToArray(), h => (float)h),
            DType.F32 => MemoryMarshal.Cast<byte, float>(b).ToArray(),
            DType.BF16 => Array.ConvertAll(MemoryMarshal.Cast<byte, ushort>(b).ToArray(), u => BitConverter.Int32BitsToSingle(u << 16)),
            _ => throw new NotSupportedException(info.DType.ToString()),
        };
    }

    /// <summary>GPTQ v1: w[n,k] = (q[k,n] - (qzeros[g,n] + 1)) * scales[g,n], g = g_idx[k].</summary>
    public static float[] Gptq(IWeightSource s, string p, int bits, int groupSize)
    {
        var qw = I32(s, p + ".qweight");
        var qz = I32(s, p + ".qzeros");
        var sc = Floats(s, p + ".scales");
        int pack = 32 / bits, n = s.Info(p + ".qweight").Shape[1], k = s.Info(p + ".qweight").Shape[0] * pack;
        int[] gIdx = s.Contains(p + ".g_idx") ? I32(s, p + ".g_idx") : Enumerable.Range(0, k).Select(i => i / groupSize).ToArray();
        uint mask = (1u << bits) - 1;
        var w = new float[n * k];
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < n; j++)
            {
                int g = gIdx[kk];
                uint q = ((uint)qw[kk / pack * n + j] >> (bits * (kk % pack))) & mask;
                uint z = (((uint)qz[g * (n / pack) + j / pack] >> (bits * (j % pack))) & mask) + 1;
                w[j * k + kk] = ((float)q - z) * sc[g * n + j];
            }
        return w;
    }

    /// <summary>AWQ gemm: nibble i of a word holds output column order[i], order = 0,2,4,6,1,3,5,7.</summary>
    public static float[] Awq(IWeightSource s, string p, int groupSize)
    {
        int[] order = [0, 2, 4, 6, 1, 3, 5, 7];
        var qw = I32(s, p + ".qweight");
        var qz = I32(s, p + ".qzeros");
        var sc = Floats(s, p + ".scales");
        int k = s.Info(p + ".qweight").Shape[0], words = s.Info(p + ".qweight").Shape[1], n = words * 8;
        var w = new float[n * k];
        for (int kk = 0; kk < k; kk++)
            for (int word = 0; word < words; word++)
                for (int i = 0; i < 8; i++)
                {
                    int j = word * 8 + order[i], g = kk / groupSize;
                    uint q = ((uint)qw[kk * words + word] >> (4 * i)) & 0xF;
                    uint z = ((uint)qz[g * words + word] >> (4 * i)) & 0xF;
                    w[j * k + kk] = ((float)q - z) * sc[g * n + j];
                }
        return w;
    }

    /// <summary>e4m3fn by its definition: (-1)^s 2^(e-7) (1 + m/8), subnormals 2^-6 m/8.</summary>
    public static double Fp8(byte b)
    {
        int sign = b >> 7, e = (b >> 3) & 15, m = b & 7;
        double v = e == 0 ? Math.Pow(2, -6) * m / 8.0 : Math.Pow(2, e - 7) * (1 + m / 8.0);
        return sign == 1 ? -v : v;
    }

    /// <summary>FP8 with scales broadcast from [ceil(N/bn), ceil(K/bk)] (per-tensor: one scale, bn = N, bk = K).</summary>
    public static float[] Fp8(ReadOnlySpan<byte> codes, float[] scales, int n, int k, int bn, int bk)
    {
        int cols = (k + bk - 1) / bk;
        var w = new float[n * k];
        for (int j = 0; j < n; j++)
            for (int kk = 0; kk < k; kk++)
                w[j * k + kk] = (float)(Fp8(codes[j * k + kk]) * scales[j / bn * cols + kk / bk]);
        return w;
    }

    /// <summary>y[t,n] = sum_k x[t,k] w[n,k] (+ b[n]) in double.</summary>
    public static double[] MatMul(float[] x, float[] w, float[]? bias, int t, int n, int k)
    {
        var y = new double[t * n];
        for (int r = 0; r < t; r++)
            for (int j = 0; j < n; j++)
            {
                double acc = bias?[j] ?? 0;
                for (int kk = 0; kk < k; kk++) acc += (double)x[r * k + kk] * w[j * k + kk];
                y[r * n + j] = acc;
            }
        return y;
    }
}
