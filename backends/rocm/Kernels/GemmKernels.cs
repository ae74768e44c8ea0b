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
}
