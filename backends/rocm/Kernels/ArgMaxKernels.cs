using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// Greedy sampling on the device: one group per logits row finds the smallest index of the largest value (NaN
/// never wins), so a decode step moves one int per sequence to the host instead of a vocabulary-wide row.
/// </summary>
internal static class ArgMaxKernels
{
    /// <summary>Most threads per group (the shared candidates are sized for it).</summary>
    public const int MaxGroup = 256;

    /// <summary>ids[r] = argmax of logits row r; 0 for a row without a non-NaN value.</summary>
    public static void ArgMax(ArrayView<float> logits, ArrayView<int> ids, int rows, int vocab)
    {
        var bestValue = SharedMemory.Allocate<float>(MaxGroup);
        var bestIndex = SharedMemory.Allocate<int>(MaxGroup);
        int lane = Group.IdxX, size = Group.DimX;
        for (int r = Grid.IdxX; r < rows; r += Grid.DimX)
        {
            long start = (long)r * vocab;
            float bv = float.NegativeInfinity;
            int bi = -1;
            // Ascending j with a strict comparison keeps each thread's smallest index among equal values.
            for (int j = lane; j < vocab; j += size)
            {
                float v = logits[start + j];
                // NaN by its bits: OpenCL compilers may assume finite math (pocl 3.1 does), which folds
                // comparison-based NaN tests such as v >= -inf to true.
                if ((Interop.FloatAsInt(v) & 0x7FFFFFFFu) > 0x7F800000u) continue;
                if (v > bv || bi < 0)
                {
                    bv = v;
                    bi = j;
                }
            }
            bestValue[lane] = bv;
            bestIndex[lane] = bi;
            Group.Barrier();
            for (int s = size / 2; s > 0; s >>= 1)
            {
                if (lane < s)
                {
                    float ov = bestValue[lane + s];
                    int oi = bestIndex[lane + s], mi = bestIndex[lane];
                    float mv = bestValue[lane];
                    if (oi >= 0 && (mi < 0 || ov > mv || (ov == mv && oi < mi)))
                    {
                        bestValue[lane] = ov;
                        bestIndex[lane] = oi;
                    }
                }
                Group.Barrier();
            }
            if (lane == 0) ids[r] = Math.Max(0, bestIndex[0]);
            Group.Barrier();
        }
    }
}
