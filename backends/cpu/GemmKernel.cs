using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Modular.Backends.Cpu;

/// <summary>
/// out[t, n] = dot(x[t, :], w[n, :]) for a range of weight rows. Four token rows share every weight load (a 4x2
/// register tile), which is what makes prefill compute-bound instead of load-bound; single rows fall back to
/// TensorPrimitives.Dot, the best choice for a memory-bound decode.
/// </summary>
internal static unsafe class GemmKernel
{
    public static void Rows(float* x, int rows, float* w, int n0, int n1, int k, float* output, int n, float* bias)
    {
        int t = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
            for (; t + 4 <= rows; t += 4) Tile4(x + (long)t * k, w, n0, n1, k, output + (long)t * n, n, bias);
        for (; t < rows; t++)
        {
            var xr = new ReadOnlySpan<float>(x + (long)t * k, k);
            float* orow = output + (long)t * n;
            for (int j = n0; j < n1; j++)
                orow[j] = TensorPrimitives.Dot(xr, new ReadOnlySpan<float>(w + (long)j * k, k)) + (bias == null ? 0f : bias[j]);
        }
    }

    private static void Tile4(float* x, float* w, int n0, int n1, int k, float* output, int n, float* bias)
    {
        float* x0 = x, x1 = x + k, x2 = x + 2 * k, x3 = x + 3 * k;
        int kv = k & ~7;
        int j = n0;
        for (; j + 2 <= n1; j += 2)
        {
            float* w0 = w + (long)j * k, w1 = w0 + k;
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default,
                             a20 = default, a21 = default, a30 = default, a31 = default;
            for (int i = 0; i < kv; i += 8)
            {
                var b0 = Vector256.Load(w0 + i);
                var b1 = Vector256.Load(w1 + i);
                var v0 = Vector256.Load(x0 + i);
                a00 = Vector256.FusedMultiplyAdd(v0, b0, a00); a01 = Vector256.FusedMultiplyAdd(v0, b1, a01);
                var v1 = Vector256.Load(x1 + i);
                a10 = Vector256.FusedMultiplyAdd(v1, b0, a10); a11 = Vector256.FusedMultiplyAdd(v1, b1, a11);
                var v2 = Vector256.Load(x2 + i);
                a20 = Vector256.FusedMultiplyAdd(v2, b0, a20); a21 = Vector256.FusedMultiplyAdd(v2, b1, a21);
                var v3 = Vector256.Load(x3 + i);
                a30 = Vector256.FusedMultiplyAdd(v3, b0, a30); a31 = Vector256.FusedMultiplyAdd(v3, b1, a31);
            }
            float s00 = Vector256.Sum(a00), s01 = Vector256.Sum(a01), s10 = Vector256.Sum(a10), s11 = Vector256.Sum(a11),
                  s20 = Vector256.Sum(a20), s21 = Vector256.Sum(a21), s30 = Vector256.Sum(a30), s31 = Vector256.Sum(a31);
            for (int i = kv; i < k; i++)
            {
                float b0 = w0[i], b1 = w1[i];
                s00 += x0[i] * b0; s01 += x0[i] * b1; s10 += x1[i] * b0; s11 += x1[i] * b1;
                s20 += x2[i] * b0; s21 += x2[i] * b1; s30 += x3[i] * b0; s31 += x3[i] * b1;
            }
            float bj0 = bias == null ? 0f : bias[j], bj1 = bias == null ? 0f : bias[j + 1];
            output[j] = s00 + bj0; output[j + 1] = s01 + bj1;
            output[n + j] = s10 + bj0; output[n + j + 1] = s11 + bj1;
            output[2 * n + j] = s20 + bj0; output[2 * n + j + 1] = s21 + bj1;
            output[3 * n + j] = s30 + bj0; output[3 * n + j + 1] = s31 + bj1;
        }
        for (; j < n1; j++)
        {
            var wr = new ReadOnlySpan<float>(w + (long)j * k, k);
            float bj = bias == null ? 0f : bias[j];
            for (int r = 0; r < 4; r++)
                output[(long)r * n + j] = TensorPrimitives.Dot(new ReadOnlySpan<float>(x + (long)r * k, k), wr) + bj;
        }
    }
}
