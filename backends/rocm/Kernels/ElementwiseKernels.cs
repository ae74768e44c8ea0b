using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>Gated-activation codes passed to kernels (the Activation enum's values).</summary>
internal static class ActivationCode
{
    public const int Silu = 0;
    public const int GeluTanh = 1;
    public const int Gelu = 2;
}

/// <summary>
/// Memory-bound ops: one thread per output element in a grid-stride loop, so any launch size covers any tensor.
/// </summary>
internal static class ElementwiseKernels
{
    /// <summary>out[t, j] = table[ids[t], j] * scale; ids outside the table give a zero row.</summary>
    public static void Embedding(ArrayView<float> t32, ArrayView<ushort> t16, int kind, ArrayView<int> ids,
        ArrayView<float> output, int vocab, int hidden, float scale)
    {
        long total = output.Length;
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < total; i += stride)
        {
            int t = (int)(i / hidden), j = (int)(i - (long)t * hidden);
            int tok = ids[t];
            output[i] = (uint)tok < (uint)vocab ? WeightRead.Load(t32, t16, kind, (long)tok * hidden + j) * scale : 0f;
        }
    }

    /// <summary>out = a + b.</summary>
    public static void Add(ArrayView<float> a, ArrayView<float> b, ArrayView<float> output)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < output.Length; i += stride) output[i] = a[i] + b[i];
    }

    /// <summary>out[i, j] = x[rows[i], j]; rows outside x give zeros.</summary>
    public static void GatherRows(ArrayView<float> x, ArrayView<int> rows, ArrayView<float> output, int xRows, int width)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < output.Length; i += stride)
        {
            int r = (int)(i / width), j = (int)(i - (long)r * width);
            int src = rows[r];
            output[i] = (uint)src < (uint)xRows ? x[(long)src * width + j] : 0f;
        }
    }

    /// <summary>out[t, i] = act(gateUp[t, i]) * gateUp[t, inter + i].</summary>
    public static void ActAndMul(ArrayView<float> gateUp, ArrayView<float> output, int inter, int activation)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < output.Length; i += stride)
        {
            long t = i / inter, c = i - t * inter;
            long g = t * 2 * inter + c;
            output[i] = Activate(gateUp[g], activation) * gateUp[g + inter];
        }
    }

    /// <summary>SiLU, tanh-GELU or erf-GELU of one value.</summary>
    public static float Activate(float x, int activation)
    {
        if (activation == ActivationCode.Silu) return x / (1f + MathF.Exp(-x));
        if (activation == ActivationCode.GeluTanh)
            return 0.5f * x * (1f + MathF.Tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
        return 0.5f * x * (1f + Erf(x * 0.70710678118654752f));
    }

    /// <summary>
    /// erf for exact GELU, which ILGPU has no intrinsic for: Abramowitz-Stegun 7.1.26 (|error| below 1.5e-7,
    /// under float32 rounding of the GELU output at the magnitudes activations reach).
    /// </summary>
    public static float Erf(float x)
    {
        float ax = MathF.Abs(x);
        float t = 1f / (1f + 0.3275911f * ax);
        float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
        float r = 1f - poly * MathF.Exp(-ax * ax);
        return x < 0 ? -r : r;
    }
}
