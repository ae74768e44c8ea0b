using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// out[T, N] = x[T, K] W[N, K]^T + b: 16x16 output tiles per group, K streamed through shared memory in 16-wide
/// slabs so each loaded x and W element is reused 16 times. W (and b) may be F32, F16 or BF16; sums are float32.
/// </summary>
internal static class GemmKernels
{
    /// <summary>Tile edge; groups are Tile x Tile threads.</summary>
    public const int Tile = 16;

    /// <summary>Group (gx, gy) computes rows gy*16.. and columns gx*16.. of out.</summary>
    public static void Linear(ArrayView<float> x, ArrayView<float> w32, ArrayView<ushort> w16, int wKind,
        ArrayView<float> b32, ArrayView<ushort> b16, int bKind, int hasBias,
        ArrayView<float> output, int rows, int n, int k)
    {
        var xs = SharedMemory.Allocate<float>(Tile * Tile);
        var ws = SharedMemory.Allocate<float>(Tile * Tile);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * Tile + ty;
        int col = Grid.IdxX * Tile + tx;
        // The W row this thread loads into the tile (tile row ty holds output column gx*16+ty).
        int wRow = Grid.IdxX * Tile + ty;
        long xBase = (long)row * k, wBase = (long)wRow * k;
        float acc = 0f;
        for (int k0 = 0; k0 < k; k0 += Tile)
        {
            int kk = k0 + tx;
            xs[ty * Tile + tx] = row < rows && kk < k ? x[xBase + kk] : 0f;
            ws[ty * Tile + tx] = wRow < n && kk < k ? WeightRead.Load(w32, w16, wKind, wBase + kk) : 0f;
            Group.Barrier();
            for (int i = 0; i < Tile; i++) acc += xs[ty * Tile + i] * ws[tx * Tile + i];
            Group.Barrier();
        }
        if (row < rows && col < n)
        {
            if (hasBias != 0) acc += WeightRead.Load(b32, b16, bKind, col);
            output[(long)row * n + col] = acc;
        }
    }
}
