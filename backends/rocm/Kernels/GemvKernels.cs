using System.Runtime.CompilerServices;
using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// Decode-shaped GEMM, out[T, N] = x[T, K] W[N, K]^T + b for T &lt;= <see cref="MaxFewRows"/>: split-K, so each W
/// row is read once and every row of x is applied to each loaded weight from registers (up to 8 sums per thread).
/// Two shapes of the same idea, chosen per device by <see cref="GemvVariant"/>: <see cref="GroupPerColumn"/>
/// (a whole group per output column, tree-reduced; what GPUs want) and <see cref="WarpPerColumn"/> (32 threads per
/// column; what pocl wants).
/// </summary>
internal static class GemvKernels
{
    /// <summary>Most token rows these kernels take (decode batches); more go to the tiled GEMM.</summary>
    public const int MaxFewRows = 8;

    /// <summary>Most threads per group (the shared partial sums are sized for it).</summary>
    public const int MaxDotGroup = 256;

    /// <summary>Threads that share one output column in <see cref="WarpPerColumn"/> (a warp on NVIDIA).</summary>
    public const int DotLanes = 32;

    /// <summary>
    /// Group j computes column j for every row: its G threads stride over K (neighbouring threads read
    /// neighbouring weights, so the loads coalesce), then one log2(G) tree in shared memory sums the partials.
    /// The group must be a power of two. This is the older GEMV (eb9b635, per-element sums since moved into
    /// registers); it gave 35.8 tok/s W1 decode through ILGPU's CUDA accelerator on an H100.
    /// </summary>
    public static void GroupPerColumn(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int wKind,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var partial = SharedMemory.Allocate<float>(MaxDotGroup * MaxFewRows);
        int lane = Group.IdxX, g = Group.DimX;
        for (int col = Grid.IdxX; col < n; col += Grid.DimX)
        {
            long wRow = (long)col * k;
            Float8 acc = default;
            for (int j = lane; j < k; j += g)
                acc = Dot(acc, x, j, k, rows, WeightRead.Load(w32, w16, wKind, wRow + j));
            Spill(partial, g, lane, acc);
            Group.Barrier();
            for (int s = g / 2; s > 0; s >>= 1)
            {
                if (lane < s)
                    for (int r = 0; r < rows; r++) partial[r * g + lane] += partial[r * g + lane + s];
                Group.Barrier();
            }
            if (lane < rows)
            {
                float v = partial[lane * g];
                if (hasBias != 0) v += WeightRead.Load(b32, b16, bKind, col);
                output[(long)lane * n + col] = v;
            }
            Group.Barrier();
        }
    }

    /// <summary>
    /// A group of G threads computes G/32 output columns, 32 threads per column (fewer when the group is smaller)
    /// striding over K. With <paramref name="pairs"/> set, 16-bit weights are read two per 32-bit word (K even,
    /// W 4-byte aligned). The per-thread sums meet in shared memory once per column block (one barrier, then a
    /// short serial sum per column). Tuned on pocl, where it beats the tiled GEMM 6 ms to 36 ms at
    /// [1,896]x[4864,896]^T; through ILGPU's CUDA accelerator it gave only 22.9 tok/s W1 decode (H200).
    /// </summary>
    public static void WarpPerColumn(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, ArrayView<uint> wPairs,
        int wKind, int pairs, ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var partial = SharedMemory.Allocate<float>(MaxDotGroup * MaxFewRows);
        int g = Group.DimX, idx = Group.IdxX;
        int lanes = Math.Min(DotLanes, g), perGroup = g / lanes;
        int lane = idx - idx / lanes * lanes, sub = idx / lanes;
        for (int colBase = Grid.IdxX * perGroup; colBase < n; colBase += Grid.DimX * perGroup)
        {
            int col = colBase + sub;
            Float8 acc = default;
            if (col < n)
            {
                long wRow = (long)col * k;
                if (pairs != 0)
                {
                    int half = k / 2;
                    long pRow = wRow / 2;
                    for (int p = lane; p < half; p += lanes)
                    {
                        uint bits = wPairs[pRow + p];
                        acc = Dot(acc, x, 2 * p, k, rows, Decode(bits & 0xFFFFu, wKind));
                        acc = Dot(acc, x, 2 * p + 1, k, rows, Decode(bits >> 16, wKind));
                    }
                }
                else
                {
                    for (int j = lane; j < k; j += lanes)
                        acc = Dot(acc, x, j, k, rows, WeightRead.Load(w32, w16, wKind, wRow + j));
                }
            }
            Spill(partial, g, idx, acc);
            Group.Barrier();
            // Thread `lane` of each column finishes row `lane` of it.
            if (lane < rows && col < n)
            {
                int start = lane * g + sub * lanes;
                float v = 0f;
                for (int i = 0; i < lanes; i++) v += partial[start + i];
                if (hasBias != 0) v += WeightRead.Load(b32, b16, bKind, col);
                output[(long)lane * n + col] = v;
            }
            Group.Barrier();
        }
    }

    /// <summary>partial[r * g + idx] = acc[r] for all 8 rows (rows past T hold zeros and are never read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Spill(ArrayView<float> partial, int g, int idx, Float8 acc)
    {
        partial[idx] = acc.A0;
        partial[g + idx] = acc.A1;
        partial[2 * g + idx] = acc.A2;
        partial[3 * g + idx] = acc.A3;
        partial[4 * g + idx] = acc.A4;
        partial[5 * g + idx] = acc.A5;
        partial[6 * g + idx] = acc.A6;
        partial[7 * g + idx] = acc.A7;
    }

    /// <summary>A 16-bit weight word (F16 or BF16 per <paramref name="kind"/>) as float32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Decode(uint bits, int kind) =>
        kind == StorageKind.BF16 ? Interop.IntAsFloat(bits << 16) : WeightRead.HalfToFloat(bits);

    /// <summary>acc[r] += w * x[r, j] for the first <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float8 Dot(Float8 acc, ArrayView<float> x, int j, int k, int rows, float w)
    {
        acc.A0 += w * x[j];
        if (rows > 1) acc.A1 += w * x[(long)k + j];
        if (rows > 2) acc.A2 += w * x[2L * k + j];
        if (rows > 3) acc.A3 += w * x[3L * k + j];
        if (rows > 4) acc.A4 += w * x[4L * k + j];
        if (rows > 5) acc.A5 += w * x[5L * k + j];
        if (rows > 6) acc.A6 += w * x[6L * k + j];
        if (rows > 7) acc.A7 += w * x[7L * k + j];
        return acc;
    }
}
