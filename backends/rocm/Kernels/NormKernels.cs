using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>RMSNorm, one group per row: a shared-memory tree reduction of the sum of squares.</summary>
internal static class NormKernels
{
    /// <summary>Most threads per group (the shared partial sums are sized for it); groups are a power of two.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>
    /// For each row r (group r): when <paramref name="addResidual"/> is 1, residual[r] += x[r] first and the sum is
    /// normalized; out[r] = v / rms(v) * (offset + w). out may alias x (the per-head q/k norm runs in place).
    /// </summary>
    public static void RmsNorm(ArrayView<float> x, ArrayView<float> residual, int addResidual,
        ArrayView<float> w32, ArrayView<ushort> w16, int wKind, ArrayView<float> output,
        int rows, int width, float eps, float offset)
    {
        var partial = SharedMemory.Allocate<float>(MaxGroupSize);
        int lane = Group.IdxX, size = Group.DimX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            long row = (long)r * width;
            float sum = 0f;
            for (int j = lane; j < width; j += size)
            {
                float v = x[row + j];
                if (addResidual != 0)
                {
                    v += residual[row + j];
                    residual[row + j] = v;
                }
                sum += v * v;
            }
            partial[lane] = sum;
            Group.Barrier();
            for (int s = size / 2; s > 0; s >>= 1)
            {
                if (lane < s) partial[lane] += partial[lane + s];
                Group.Barrier();
            }
            float inv = 1f / MathF.Sqrt(partial[0] / width + eps);
            // Each lane reads back only the elements it wrote above, so no barrier is needed before this pass.
            for (int j = lane; j < width; j += size)
            {
                float v = addResidual != 0 ? residual[row + j] : x[row + j];
                output[row + j] = v * inv * (offset + WeightRead.Load(w32, w16, wKind, j));
            }
            Group.Barrier();
        }
    }
}
