using System.Runtime.CompilerServices;
using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// Eight floats as one value. ILGPU lowers struct fields to scalars, so a GEMM micro-tile held in these stays in
/// registers on GPUs (an indexed local array would be spilled to local memory unless every loop were unrolled).
/// </summary>
internal struct Float8
{
    public float A0, A1, A2, A3, A4, A5, A6, A7;

    /// <summary>Elements <paramref name="start"/>, start + stride, ... of a (shared-memory) view.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float8 Load(ArrayView<float> s, int start, int stride) => new()
    {
        A0 = s[start], A1 = s[start + stride], A2 = s[start + 2 * stride], A3 = s[start + 3 * stride],
        A4 = s[start + 4 * stride], A5 = s[start + 5 * stride], A6 = s[start + 6 * stride], A7 = s[start + 7 * stride],
    };

    /// <summary>c + a * b, element-wise with a scalar <paramref name="a"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Float8 Fma(Float8 c, float a, Float8 b) => new()
    {
        A0 = c.A0 + a * b.A0, A1 = c.A1 + a * b.A1, A2 = c.A2 + a * b.A2, A3 = c.A3 + a * b.A3,
        A4 = c.A4 + a * b.A4, A5 = c.A5 + a * b.A5, A6 = c.A6 + a * b.A6, A7 = c.A7 + a * b.A7,
    };

    /// <summary>Element <paramref name="i"/> (0..7).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly float Get(int i) => i switch
    {
        0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, 5 => A5, 6 => A6, _ => A7,
    };
}
