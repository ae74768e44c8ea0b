using System.Runtime.CompilerServices;
using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// out[T, N] = x[T, K] W[N, K]^T + b. W (and b) may be F32, F16 or BF16; sums are float32.
/// <see cref="Linear"/> is a register-tiled GEMM for prefill and batched decode; T &lt;= 8 (decode) goes to the
/// split-K GEMVs of <see cref="GemvKernels"/>, where reading W once is all that matters.
/// </summary>
internal static class GemmKernels
{
    /// <summary>Outputs per thread along each edge of its micro-tile (one <see cref="Float8"/> per row).</summary>
    public const int Micro = 8;

    /// <summary>Largest group edge in threads; a group of dx x dy threads computes (dy*8) x (dx*8) outputs.</summary>
    public const int MaxTile = 16;

    /// <summary>K depth of the slabs staged in shared memory per barrier pair.</summary>
    public const int Depth = 16;

    /// <summary>Shared row stride: the largest block edge (128) plus padding against bank conflicts on the stores.</summary>
    private const int SharedStride = MaxTile * Micro + 4;

    /// <summary>
    /// Group (gx, gy) of dx x dy threads computes the block of rows gy*dy*8.. and columns gx*dx*8... Each K slab
    /// of x and W goes through shared memory transposed (k-major, weights widened to float32 there), so thread
    /// (tx, ty) reads 8 x values and 8 W values per k and does 64 multiply-adds on its micro-tile: rows
    /// ty + i*dy, columns tx + j*dx (strided, so neighbouring threads hit neighbouring banks and the final stores
    /// coalesce).
    /// </summary>
    public static void Linear(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int wKind,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var xs = SharedMemory.Allocate<float>(Depth * SharedStride);
        var ws = SharedMemory.Allocate<float>(Depth * SharedStride);
        int tx = Group.IdxX, ty = Group.IdxY, dx = Group.DimX, dy = Group.DimY;
        int bm = dy * Micro, bn = dx * Micro;
        int row0 = Grid.IdxY * bm, col0 = Grid.IdxX * bn;
        int tid = ty * dx + tx, threads = dx * dy;
        Float8 c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        // 16 x 16 groups (the GPU shape) prefetch: thread tid stages k tid % 16 of rows tid / 16 + 16i (i < 8) of
        // both slabs, so the next slab's global loads are in flight while the current one is multiplied.
        bool prefetch = dx == MaxTile && dy == MaxTile;
        int pk = tid & (Depth - 1), pm = tid / Depth;
        Float8 px = default, pw = default;
        if (prefetch)
        {
            px = SlabX(x, row0 + pm, 0 + pk, rows, k);
            pw = SlabW(w32, w16, wKind, col0 + pm, 0 + pk, n, k);
        }
        for (int k0 = 0; k0 < k; k0 += Depth)
        {
            if (prefetch)
            {
                Stage(xs, pk * SharedStride + pm, px);
                Stage(ws, pk * SharedStride + pm, pw);
            }
            else
            {
                // Consecutive threads take consecutive k of one row: Depth-long contiguous runs of x and W.
                for (int e = tid; e < bm * Depth; e += threads)
                {
                    int m = e / Depth, kk = e - m * Depth;
                    int r = row0 + m, kg = k0 + kk;
                    xs[kk * SharedStride + m] = r < rows && kg < k ? x[(long)r * k + kg] : 0f;
                }
                for (int e = tid; e < bn * Depth; e += threads)
                {
                    int m = e / Depth, kk = e - m * Depth;
                    int c = col0 + m, kg = k0 + kk;
                    ws[kk * SharedStride + m] = c < n && kg < k ? WeightRead.Load(w32, w16, wKind, (long)c * k + kg) : 0f;
                }
            }
            Group.Barrier();
            if (prefetch && k0 + Depth < k)
            {
                px = SlabX(x, row0 + pm, k0 + Depth + pk, rows, k);
                pw = SlabW(w32, w16, wKind, col0 + pm, k0 + Depth + pk, n, k);
            }
            for (int kk = 0; kk < Depth; kk++)
            {
                var a = Float8.Load(xs, kk * SharedStride + ty, dy);
                var b = Float8.Load(ws, kk * SharedStride + tx, dx);
                c0 = Float8.Fma(c0, a.A0, b);
                c1 = Float8.Fma(c1, a.A1, b);
                c2 = Float8.Fma(c2, a.A2, b);
                c3 = Float8.Fma(c3, a.A3, b);
                c4 = Float8.Fma(c4, a.A4, b);
                c5 = Float8.Fma(c5, a.A5, b);
                c6 = Float8.Fma(c6, a.A6, b);
                c7 = Float8.Fma(c7, a.A7, b);
            }
            Group.Barrier();
        }
        int col = col0 + tx;
        StoreRow(output, c0, row0 + ty, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c1, row0 + ty + dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c2, row0 + ty + 2 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c3, row0 + ty + 3 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c4, row0 + ty + 4 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c5, row0 + ty + 5 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c6, row0 + ty + 6 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
        StoreRow(output, c7, row0 + ty + 7 * dy, col, dx, rows, n, b32, b16, bKind, hasBias);
    }

    /// <summary>x[r + 16i, kg] for i &lt; 8 (0 outside the matrix): one thread's share of a 128-row slab.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float8 SlabX(ArrayView<float> x, int r, int kg, int rows, int k)
    {
        bool inK = kg < k;
        long o = (long)r * k + kg, step = (long)MaxTile * k;
        return new Float8
        {
            A0 = inK && r < rows ? x[o] : 0f,
            A1 = inK && r + MaxTile < rows ? x[o + step] : 0f,
            A2 = inK && r + 2 * MaxTile < rows ? x[o + 2 * step] : 0f,
            A3 = inK && r + 3 * MaxTile < rows ? x[o + 3 * step] : 0f,
            A4 = inK && r + 4 * MaxTile < rows ? x[o + 4 * step] : 0f,
            A5 = inK && r + 5 * MaxTile < rows ? x[o + 5 * step] : 0f,
            A6 = inK && r + 6 * MaxTile < rows ? x[o + 6 * step] : 0f,
            A7 = inK && r + 7 * MaxTile < rows ? x[o + 7 * step] : 0f,
        };
    }

    /// <summary>W[c + 16i, kg] for i &lt; 8 as float32 (0 outside the matrix).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Float8 SlabW(ArrayView<float> w32, ArrayView<ushort> w16, int wKind, int c, int kg, int n, int k)
    {
        bool inK = kg < k;
        long o = (long)c * k + kg, step = (long)MaxTile * k;
        return new Float8
        {
            A0 = inK && c < n ? WeightRead.Load(w32, w16, wKind, o) : 0f,
            A1 = inK && c + MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + step) : 0f,
            A2 = inK && c + 2 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 2 * step) : 0f,
            A3 = inK && c + 3 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 3 * step) : 0f,
            A4 = inK && c + 4 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 4 * step) : 0f,
            A5 = inK && c + 5 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 5 * step) : 0f,
            A6 = inK && c + 6 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 6 * step) : 0f,
            A7 = inK && c + 7 * MaxTile < n ? WeightRead.Load(w32, w16, wKind, o + 7 * step) : 0f,
        };
    }

    /// <summary>s[start + 16i] = v[i]: a prefetched slab share into its k-major shared tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Stage(ArrayView<float> s, int start, Float8 v)
    {
        s[start] = v.A0;
        s[start + MaxTile] = v.A1;
        s[start + 2 * MaxTile] = v.A2;
        s[start + 3 * MaxTile] = v.A3;
        s[start + 4 * MaxTile] = v.A4;
        s[start + 5 * MaxTile] = v.A5;
        s[start + 6 * MaxTile] = v.A6;
        s[start + 7 * MaxTile] = v.A7;
    }

    /// <summary>Writes one micro-tile row: columns col, col + stride, ... (plus bias) of output row r, within bounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(ArrayView<float> output, Float8 c, int r, int col, int stride, int rows, int n,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias)
    {
        if (r >= rows) return;
        long o = (long)r * n;
        Put(output, o, c.A0, col, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A1, col + stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A2, col + 2 * stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A3, col + 3 * stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A4, col + 4 * stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A5, col + 5 * stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A6, col + 6 * stride, n, b32, b16, bKind, hasBias);
        Put(output, o, c.A7, col + 7 * stride, n, b32, b16, bKind, hasBias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ArrayView<float> output, long rowStart, float v, int col, int n,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias)
    {
        if (col >= n) return;
        if (hasBias != 0) v += WeightRead.Load(b32, b16, bKind, col);
        output[rowStart + col] = v;
    }
}
