using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>Scalar parameters of a tiled prefill-attention launch.</summary>
internal struct FlashShape
{
    public int Tiles;
    public int NumHeads;
    public int NumKvHeads;
    public int HeadDim;
    public int BlockSize;
    public int MaxBlocksPerSeq;
    public int Window;
    public float Scale;
    /// <summary>Query heads per tile, all of one KV head (a divisor of NumHeads / NumKvHeads).</summary>
    public int HeadsPerTile;
    /// <summary>Query rows per tile: tokens per tile x <see cref="HeadsPerTile"/> (at most <see cref="FlashAttentionKernels.MaxQueryRows"/>, rows x dim within the shared tiles).</summary>
    public int QueryRows;
    /// <summary>Keys per shared K/V tile.</summary>
    public int KeyRows;
}

/// <summary>
/// Paged attention, FlashAttention style: a group takes consecutive query tokens of one sequence for the query
/// heads of one KV head (rows = token x head, up to <see cref="MaxQueryRows"/>), stages their queries and an
/// output accumulator in shared memory, and streams the visible keys in tiles whose K and then V rows are staged
/// in shared memory once and used by every row of the tile, with an online softmax. Prefill reuses each K/V tile
/// across tokens and heads; decode (one token per sequence) across the heads that share the KV head.
/// </summary>
internal static class FlashAttentionKernels
{
    /// <summary>Shared floats for the query tile and for the output accumulator (rows x head dim each).</summary>
    public const int RowFloats = 2048;

    /// <summary>Shared floats of the K/V tile (keys x (head dim + 1), padded against bank conflicts).</summary>
    public const int KeyFloats = 4160;

    /// <summary>Threads per group on devices that run that many.</summary>
    public const int GroupThreads = 128;

    /// <summary>Most query rows and most keys per tile.</summary>
    public const int MaxQueryRows = 32, MaxKeyRows = 32;

    /// <summary>
    /// Tile i covers query tokens tileFirst[i] .. tileFirst[i] + tileCount[i] - 1, all of sequence tokenSeq of the
    /// first; row r of a tile is token r / HeadsPerTile, head h0 + r % HeadsPerTile. Query token t sees keys
    /// [max(0, pos - window + 1), pos] with pos = tokenPos[t].
    /// </summary>
    public static void Prefill(ArrayView<float> q, ArrayView<float> kPool, ArrayView<float> vPool,
        ArrayView<int> tileFirst, ArrayView<int> tileCount, ArrayView<int> tokenSeq, ArrayView<int> tokenPos,
        ArrayView<int> blockTables, ArrayView<float> output, FlashShape p)
    {
        var qs = SharedMemory.Allocate<float>(RowFloats);
        var os = SharedMemory.Allocate<float>(RowFloats);
        var kv = SharedMemory.Allocate<float>(KeyFloats);
        var sc = SharedMemory.Allocate<float>(MaxQueryRows * MaxKeyRows);
        var rowMax = SharedMemory.Allocate<float>(MaxQueryRows);
        var rowSum = SharedMemory.Allocate<float>(MaxQueryRows);
        var rowScale = SharedMemory.Allocate<float>(MaxQueryRows);
        var slotOf = SharedMemory.Allocate<int>(MaxKeyRows);
        int tid = Group.IdxX, threads = Group.DimX;
        int d = p.HeadDim, kd = d + 1, bq = p.QueryRows, bk = p.KeyRows;
        int group = p.NumHeads / p.NumKvHeads;
        long rowLen = (long)p.NumKvHeads * d;
        int hpt = p.HeadsPerTile, headGroups = p.NumHeads / hpt;
        int items = p.Tiles * headGroups;
        for (int item = Grid.IdxX; item < items; item += Grid.DimX)
        {
            int tile = item / headGroups, h0 = (item - tile * headGroups) * hpt;
            long headOffset = (long)(h0 / group) * d;
            int first = tileFirst[tile], tokens = tileCount[tile], count = tokens * hpt;
            int seq = tokenSeq[first];
            int posFirst = tokenPos[first], posLast = tokenPos[first + tokens - 1];
            long tableRow = (long)seq * p.MaxBlocksPerSeq;
            for (int e = tid; e < bq * d; e += threads)
            {
                int r = e / d, j = e - r * d;
                int tr = r / hpt;
                qs[e] = r < count ? q[((long)(first + tr) * p.NumHeads + h0 + r - tr * hpt) * d + j] * p.Scale : 0f;
                os[e] = 0f;
            }
            for (int r = tid; r < bq; r += threads)
            {
                rowMax[r] = float.NegativeInfinity;
                rowSum[r] = 0f;
            }
            int keyStart = p.Window > 0 ? Math.Max(0, posFirst - p.Window + 1) : 0;
            for (int k0 = keyStart; k0 <= posLast; k0 += bk)
            {
                int nk = Math.Min(bk, posLast + 1 - k0);
                for (int i = tid; i < nk; i += threads)
                {
                    int key = k0 + i;
                    slotOf[i] = blockTables[tableRow + key / p.BlockSize] * p.BlockSize + key % p.BlockSize;
                }
                Group.Barrier();
                for (int e = tid; e < nk * d; e += threads)
                {
                    int i = e / d, j = e - i * d;
                    kv[i * kd + j] = kPool[slotOf[i] * rowLen + headOffset + j];
                }
                Group.Barrier();
                // Scores: consecutive threads take consecutive keys of one query row.
                for (int e = tid; e < bq * bk; e += threads)
                {
                    int r = e / bk, i = e - r * bk;
                    float s = float.NegativeInfinity;
                    int key = k0 + i;
                    if (r < count && i < nk)
                    {
                        int pos = tokenPos[first + r / hpt];
                        if (key <= pos && (p.Window <= 0 || key > pos - p.Window))
                        {
                            s = 0f;
                            int qb = r * d, kb = i * kd;
                            for (int j = 0; j < d; j++) s += qs[qb + j] * kv[kb + j];
                        }
                    }
                    sc[e] = s;
                }
                Group.Barrier();
                // V replaces K in the tile while one thread per query row updates its softmax state.
                for (int e = tid; e < nk * d; e += threads)
                {
                    int i = e / d, j = e - i * d;
                    kv[i * kd + j] = vPool[slotOf[i] * rowLen + headOffset + j];
                }
                for (int r = tid; r < bq; r += threads)
                {
                    float mOld = rowMax[r], mNew = mOld;
                    for (int i = 0; i < nk; i++) mNew = MathF.Max(mNew, sc[r * bk + i]);
                    float scale = 1f, sum = 0f;
                    if (mNew != float.NegativeInfinity)
                    {
                        scale = MathF.Exp(mOld - mNew);
                        for (int i = 0; i < nk; i++)
                        {
                            float w = MathF.Exp(sc[r * bk + i] - mNew);
                            sc[r * bk + i] = w;
                            sum += w;
                        }
                    }
                    else
                    {
                        for (int i = 0; i < nk; i++) sc[r * bk + i] = 0f;
                    }
                    rowMax[r] = mNew;
                    rowSum[r] = rowSum[r] * scale + sum;
                    rowScale[r] = scale;
                }
                Group.Barrier();
                // Accumulate: consecutive threads take consecutive dims of one query row.
                for (int e = tid; e < bq * d; e += threads)
                {
                    int r = e / d, j = e - r * d;
                    float a = os[e] * rowScale[r];
                    int sb = r * bk;
                    for (int i = 0; i < nk; i++) a += sc[sb + i] * kv[i * kd + j];
                    os[e] = a;
                }
                Group.Barrier();
            }
            for (int e = tid; e < count * d; e += threads)
            {
                int r = e / d, j = e - r * d;
                int tr = r / hpt;
                float l = rowSum[r];
                output[((long)(first + tr) * p.NumHeads + h0 + r - tr * hpt) * d + j] = l > 0f ? os[e] / l : 0f;
            }
            Group.Barrier();
        }
    }
}
