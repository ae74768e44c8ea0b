using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// out[T, N] = x[T, K] W[N, K]^T + b: square output tiles per group (16x16 on GPUs; the edge is the group's X
/// size, smaller on ILGPU's CPU simulator), K streamed through shared memory in tile-wide slabs so each loaded x
/// and W element is reused tile times. W (and b) may be F32, F16 or BF16; sums are float32.
/// </summary>
internal static class GemmKernels
{
    /// <summary>Largest tile edge (the shared-memory tiles are sized for it); groups are edge x edge threads.</summary>
    public const int MaxTile = 16;

    /// <summary>Group (gx, gy) computes rows gy*tile.. and columns gx*tile.. of out.</summary>
    public static void Linear(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int wKind,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var xs = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        var ws = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        int tile = Group.DimX;
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * tile + ty;
        int col = Grid.IdxX * tile + tx;
        // The W row this thread loads into the tile (tile row ty holds output column gx*tile+ty).
        int wRow = Grid.IdxX * tile + ty;
        long xBase = (long)row * k, wBase = (long)wRow * k;
        float acc = 0f;
        for (int k0 = 0; k0 < k; k0 += tile)
        {
            int kk = k0 + tx;
            xs[ty * tile + tx] = row < rows && kk < k ? x[xBase + kk] : 0f;
            ws[ty * tile + tx] = wRow < n && kk < k ? WeightRead.Load(w32, w16, wKind, wBase + kk) : 0f;
            Group.Barrier();
            for (int i = 0; i < tile; i++) acc += xs[ty * tile + i] * ws[tx * tile + i];
            Group.Barrier();
        }
        if (row < rows && col < n)
        {
            if (hasBias != 0) acc += WeightRead.Load(b32, b16, bKind, col);
            output[(long)row * n + col] = acc;
        }
    }

    /// <summary>Most token rows <see cref="LinearFewRows"/> takes (decode batches); more go to the tiled kernel.</summary>
    public const int MaxFewRows = 8;

    /// <summary>Threads per group of <see cref="LinearFewRows"/> (shared partial sums are sized for it).</summary>
    public const int MaxDotGroup = 256;

    /// <summary>
    /// Decode-shaped GEMM (T &lt;= 8): group j computes column j for every row, its threads splitting K and
    /// reducing through shared memory, so each W row is read once and all threads have work even when T is 1.
    /// </summary>
    public static void LinearFewRows(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int wKind,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var partial = SharedMemory.Allocate<float>(MaxDotGroup * MaxFewRows);
        int lane = Group.IdxX, size = Group.DimX;
        for (int col = Grid.IdxX; col < n; col += Grid.DimX)
        {
            long wRow = (long)col * k;
            for (int r = 0; r < MaxFewRows; r++) partial[r * MaxDotGroup + lane] = 0f;
            for (int j = lane; j < k; j += size)
            {
                float wv = WeightRead.Load(w32, w16, wKind, wRow + j);
                for (int r = 0; r < rows; r++) partial[r * MaxDotGroup + lane] += wv * x[(long)r * k + j];
            }
            Group.Barrier();
            for (int s = size / 2; s > 0; s >>= 1)
            {
                if (lane < s)
                    for (int r = 0; r < rows; r++) partial[r * MaxDotGroup + lane] += partial[r * MaxDotGroup + lane + s];
                Group.Barrier();
            }
            if (lane < rows)
            {
                float v = partial[lane * MaxDotGroup];
                if (hasBias != 0) v += WeightRead.Load(b32, b16, bKind, col);
                output[(long)lane * n + col] = v;
            }
            Group.Barrier();
        }
    }
}
