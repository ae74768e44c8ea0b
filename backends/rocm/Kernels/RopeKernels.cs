using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>Rotary embedding, rotate-half (NeoX) style, from a cos/sin table [maxPos, rot].</summary>
internal static class RopeKernels
{
    /// <summary>
    /// Group t rotates token t: every (head, i &lt; rot/2) pair of q then k. Positions outside the table leave the
    /// token untouched (the host checks them before launch when it can).
    /// </summary>
    public static void Rope(ArrayView<float> q, ArrayView<float> k, ArrayView<int> positions, ArrayView<float> cosSin,
        int tokens, int qHeads, int kHeads, int headDim, int rot, int maxPos)
    {
        int half = rot / 2;
        int pairs = (qHeads + kHeads) * half;
        for (int t = Grid.IdxX; t < tokens; t += Grid.DimX)
        {
            int p = positions[t];
            if ((uint)p >= (uint)maxPos) continue;
            long table = (long)p * rot;
            for (int item = Group.IdxX; item < pairs; item += Group.DimX)
            {
                int head = item / half, i = item - head * half;
                float c = cosSin[table + i], s = cosSin[table + half + i];
                if (head < qHeads)
                {
                    long at = (long)t * qHeads * headDim + (long)head * headDim + i;
                    float a = q[at], b = q[at + half];
                    q[at] = a * c - b * s;
                    q[at + half] = b * c + a * s;
                }
                else
                {
                    long at = (long)t * kHeads * headDim + (long)(head - qHeads) * headDim + i;
                    float a = k[at], b = k[at + half];
                    k[at] = a * c - b * s;
                    k[at + half] = b * c + a * s;
                }
            }
        }
    }
}
