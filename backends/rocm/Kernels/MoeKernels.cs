using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>
/// Sparse mixture of experts in three launches plus the shared act-and-mul: route (softmax, top-k, renormalize),
/// expert gate|up projections of each (token, choice), and the weighted sum of the chosen experts' down projections.
/// Expert weights are read through <see cref="WeightRead"/> in their stored dtype.
/// </summary>
internal static class MoeKernels
{
    /// <summary>
    /// Thread t: softmax over logits[t, :E], the top-k in (probability desc, index asc) order - ties resolve to
    /// the lower expert, as a first-max search does - into ids/weights [T, K].
    /// </summary>
    public static void Route(ArrayView<float> logits, ArrayView<int> ids, ArrayView<float> weights,
        int tokens, int experts, int topK, int renormalize)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long tl = Grid.GlobalIndex.X; tl < tokens; tl += stride)
        {
            long row = tl * experts;
            float max = float.NegativeInfinity;
            for (int e = 0; e < experts; e++) max = MathF.Max(max, logits[row + e]);
            float sum = 0f;
            for (int e = 0; e < experts; e++) sum += MathF.Exp(logits[row + e] - max);
            float prevVal = float.PositiveInfinity;
            int prevIdx = -1;
            float chosenSum = 0f;
            for (int j = 0; j < topK; j++)
            {
                int best = -1;
                float bestVal = float.NegativeInfinity;
                for (int e = 0; e < experts; e++)
                {
                    float v = logits[row + e];
                    bool after = v < prevVal || (v == prevVal && e > prevIdx);
                    if (after && (best < 0 || v > bestVal)) { best = e; bestVal = v; }
                }
                if (best < 0) best = 0; // only when topK > experts, which the host rejects
                float p = MathF.Exp(bestVal - max) / sum;
                ids[tl * topK + j] = best;
                weights[tl * topK + j] = p;
                chosenSum += p;
                prevVal = bestVal;
                prevIdx = best;
            }
            if (renormalize != 0)
                for (int j = 0; j < topK; j++) weights[tl * topK + j] /= chosenSum;
        }
    }

    /// <summary>hidden[(t*K + j), c] = x[t] . gateUp[ids[t, j], c] for c &lt; 2I.</summary>
    public static void ExpertGateUp(ArrayView<float> x, ArrayView<int> ids,
        ArrayView<float> w32, ArrayView<ushort> w16, int wKind, ArrayView<float> hidden,
        int topK, int twoInter, int h)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < hidden.Length; i += stride)
        {
            long choice = i / twoInter;
            long c = i - choice * twoInter;
            long t = choice / topK;
            int e = ids[choice];
            long xRow = t * h, wRow = ((long)e * twoInter + c) * h;
            float acc = 0f;
            for (int j = 0; j < h; j++) acc += x[xRow + j] * WeightRead.Load(w32, w16, wKind, wRow + j);
            hidden[i] = acc;
        }
    }

    /// <summary>out[t, c] = sum_j weights[t, j] * act[t*K + j] . down[ids[t, j], c] for c &lt; H.</summary>
    public static void ExpertDown(ArrayView<float> act, ArrayView<int> ids, ArrayView<float> weights,
        ArrayView<float> w32, ArrayView<ushort> w16, int wKind, ArrayView<float> output,
        int topK, int inter, int h)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < output.Length; i += stride)
        {
            long t = i / h, c = i - t * h;
            float total = 0f;
            for (int j = 0; j < topK; j++)
            {
                long choice = t * topK + j;
                int e = ids[choice];
                long aRow = choice * inter, wRow = ((long)e * h + c) * inter;
                float acc = 0f;
                for (int q = 0; q < inter; q++) acc += act[aRow + q] * WeightRead.Load(w32, w16, wKind, wRow + q);
                total += weights[choice] * acc;
            }
            output[i] = total;
        }
    }
}
