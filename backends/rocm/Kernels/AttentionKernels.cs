using ILGPU;

namespace Modular.Backends.Rocm.Kernels;

/// <summary>Scalar parameters of a paged-attention launch (one struct keeps the launcher under 16 arguments).</summary>
internal struct AttentionShape
{
    public int Tokens;
    public int NumHeads;
    public int NumKvHeads;
    public int HeadDim;
    public int BlockSize;
    public int MaxBlocksPerSeq;
    public int Window;
    public float Scale;
}

/// <summary>
/// Paged attention over K/V pools [slots, kvHeads, headDim] (slot = block * blockSize + offset): the KV store by
/// slot mapping, and one group per (query token, head) that streams the token's visible keys in tiles of
/// <see cref="MaxKeyTile"/> with an online softmax, so prefill, chunked prefill and decode share one kernel.
/// </summary>
internal static class AttentionKernels
{
    /// <summary>Most keys scored per tile = threads per group (64 on GPUs; fewer on ILGPU's CPU simulator).</summary>
    public const int MaxKeyTile = 64;

    /// <summary>Largest head dimension the shared-memory query/accumulator rows hold.</summary>
    public const int MaxHeadDim = 256;

    /// <summary>kPool[slot[t]] = k[t], vPool[slot[t]] = v[t]; negative slots (padding) are skipped.</summary>
    public static void StoreKv(ArrayView<float> k, ArrayView<float> v, ArrayView<int> slots,
        ArrayView<float> kPool, ArrayView<float> vPool, int rowLen, long totalSlots)
    {
        long stride = (long)Grid.DimX * Group.DimX;
        for (long i = Grid.GlobalIndex.X; i < k.Length; i += stride)
        {
            long t = i / rowLen, c = i - t * rowLen;
            int slot = slots[t];
            if (slot < 0 || slot >= totalSlots) continue;
            long dst = (long)slot * rowLen + c;
            kPool[dst] = k[i];
            vPool[dst] = v[i];
        }
    }

    /// <summary>
    /// out[t, h] = softmax(q[t, h] . K^T * scale) V over keys [max(0, pos - window + 1), pos] of token t's
    /// sequence, where pos = tokenPos[t] and keys are found through the sequence's block table row.
    /// </summary>
    public static void PagedAttention(ArrayView<float> q, ArrayView<float> kPool, ArrayView<float> vPool,
        ArrayView<int> tokenSeq, ArrayView<int> tokenPos, ArrayView<int> blockTables, ArrayView<float> output,
        AttentionShape p)
    {
        var qs = SharedMemory.Allocate<float>(MaxHeadDim);
        var acc = SharedMemory.Allocate<float>(MaxHeadDim);
        var scores = SharedMemory.Allocate<float>(MaxKeyTile);
        var slotOf = SharedMemory.Allocate<int>(MaxKeyTile);
        int lane = Group.IdxX, keyTile = Group.DimX;
        int d = p.HeadDim, group = p.NumHeads / p.NumKvHeads;
        long rowLen = (long)p.NumKvHeads * d;
        int items = p.Tokens * p.NumHeads;
        for (int item = Grid.IdxX; item < items; item += Grid.DimX)
        {
            int t = item / p.NumHeads, h = item - t * p.NumHeads, kvh = h / group;
            int seq = tokenSeq[t], pos = tokenPos[t];
            int first = p.Window > 0 ? Math.Max(0, pos - p.Window + 1) : 0;
            int n = pos - first + 1;
            long qRow = ((long)t * p.NumHeads + h) * d;
            for (int j = lane; j < d; j += keyTile)
            {
                qs[j] = q[qRow + j];
                acc[j] = 0f;
            }
            Group.Barrier();
            float m = float.NegativeInfinity, l = 0f;
            long tableRow = (long)seq * p.MaxBlocksPerSeq;
            long headOffset = (long)kvh * d;
            for (int k0 = 0; k0 < n; k0 += keyTile)
            {
                int count = Math.Min(keyTile, n - k0);
                // Phase 1: lane i scores key k0 + i.
                if (lane < count)
                {
                    int key = first + k0 + lane;
                    int slot = blockTables[tableRow + key / p.BlockSize] * p.BlockSize + key % p.BlockSize;
                    slotOf[lane] = slot;
                    long kRow = slot * rowLen + headOffset;
                    float dot = 0f;
                    for (int j = 0; j < d; j++) dot += qs[j] * kPool[kRow + j];
                    scores[lane] = dot * p.Scale;
                }
                Group.Barrier();
                // Phase 2: every lane finds the same tile max; lane i turns its score into a weight.
                float tileMax = float.NegativeInfinity;
                for (int i = 0; i < count; i++) tileMax = MathF.Max(tileMax, scores[i]);
                float mNew = MathF.Max(m, tileMax);
                float alpha = MathF.Exp(m - mNew);
                Group.Barrier();
                if (lane < count) scores[lane] = MathF.Exp(scores[lane] - mNew);
                Group.Barrier();
                // Phase 3: lane owns dims lane, lane + keyTile, ...; rescale and add this tile's weighted values.
                float tileSum = 0f;
                for (int i = 0; i < count; i++) tileSum += scores[i];
                l = l * alpha + tileSum;
                m = mNew;
                for (int j = lane; j < d; j += keyTile)
                {
                    float a = acc[j] * alpha;
                    for (int i = 0; i < count; i++) a += scores[i] * vPool[slotOf[i] * rowLen + headOffset + j];
                    acc[j] = a;
                }
                Group.Barrier();
            }
            float inv = l > 0f ? 1f / l : 0f;
            for (int j = lane; j < d; j += keyTile) output[qRow + j] = acc[j] * inv;
            Group.Barrier();
        }
    }
}
