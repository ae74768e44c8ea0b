using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// Paged attention over a mixed prefill/decode step. The KV cache is a pool of blocks of BlockSize token slots;
/// slot = block * BlockSize + offset. Each sequence's block table lists, in order, the blocks holding its tokens,
/// so the key at sequence position j lives in slot BlockTables[s][j / BlockSize] * BlockSize + j % BlockSize.
/// The blocks of one sequence are in general neither contiguous nor ascending.
/// </summary>
internal sealed class ScalarAttention : IAttentionBackend
{
    /// <inheritdoc />
    public KvCache CreateCache(KvCacheSpec spec)
    {
        if (spec.DType != DType.F32)
            throw new NotSupportedException($"{ScalarPlugin.PluginName} keeps its KV cache in F32, not {spec.DType} (KvCacheSpec.DType)");
        return new ScalarKvCache(spec);
    }

    /// <summary>
    /// A device backend uploads the step's arrays here once for all layers; this one reads the host arrays
    /// directly, so it only checks that they are consistent.
    /// </summary>
    public void Prepare(AttentionMetadata metadata)
    {
        var m = metadata;
        if (m.QueryStartLoc.Length != m.NumSeqs + 1 || m.QueryStartLoc[m.NumSeqs] != m.NumTokens)
            throw new ArgumentException($"AttentionMetadata.QueryStartLoc must have NumSeqs+1 = {m.NumSeqs + 1} entries ending at NumTokens = {m.NumTokens}");
        if (m.SeqLens.Length != m.NumSeqs) throw new ArgumentException($"AttentionMetadata.SeqLens has {m.SeqLens.Length} entries for {m.NumSeqs} sequences");
        if (m.SlotMapping.Length != m.NumTokens) throw new ArgumentException($"AttentionMetadata.SlotMapping has {m.SlotMapping.Length} entries for {m.NumTokens} tokens");
        if (m.BlockTables.Length < m.NumSeqs * m.MaxBlocksPerSeq)
            throw new ArgumentException($"AttentionMetadata.BlockTables has {m.BlockTables.Length} entries, fewer than NumSeqs x MaxBlocksPerSeq = {m.NumSeqs * m.MaxBlocksPerSeq}");
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int queryLen = m.QueryStartLoc[s + 1] - m.QueryStartLoc[s];
            if (queryLen < 0 || queryLen > m.SeqLens[s])
                throw new ArgumentException($"AttentionMetadata: sequence {s} brings {queryLen} query tokens but its SeqLens entry is {m.SeqLens[s]}");
        }
    }

    /// <inheritdoc />
    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata metadata,
        in AttentionParams p, Tensor output)
    {
        var kv = cache as ScalarKvCache ?? throw new ArgumentException($"the KV cache was not created by {ScalarPlugin.PluginName}");
        if ((uint)layer >= (uint)kv.Spec.NumLayers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} is outside the cache's {kv.Spec.NumLayers} layers");
        if (p.NumKvHeads != kv.Spec.NumKvHeads || p.HeadDim != kv.Spec.HeadDim)
            throw new ArgumentException($"AttentionParams ({p.NumKvHeads} KV heads of {p.HeadDim}) disagree with the cache ({kv.Spec.NumKvHeads} of {kv.Spec.HeadDim})");
        if (p.NumHeads % p.NumKvHeads != 0) throw new ArgumentException($"AttentionParams: {p.NumHeads} query heads are not a multiple of {p.NumKvHeads} KV heads");

        var keyPool = kv.Keys(layer);
        var valuePool = kv.Values(layer);
        WriteNewKeysAndValues(ScalarDevice.Own(k).Floats, ScalarDevice.Own(v).Floats, keyPool, valuePool, metadata, kv.Spec);
        Attend(ScalarDevice.Own(q).Floats, keyPool, valuePool, metadata, p, kv.Spec.BlockSize, ScalarDevice.Own(output).Floats);
    }

    /// <summary>Step 1: the step's new K/V rows go to the slots the scheduler assigned them (negative = padding).</summary>
    private static void WriteNewKeysAndValues(ReadOnlySpan<float> k, ReadOnlySpan<float> v, Span<float> keyPool, Span<float> valuePool,
        AttentionMetadata m, KvCacheSpec spec)
    {
        int rowLength = spec.NumKvHeads * spec.HeadDim;
        int slots = spec.NumBlocks * spec.BlockSize;
        for (int t = 0; t < m.NumTokens; t++)
        {
            int slot = m.SlotMapping[t];
            if (slot < 0) continue;
            if (slot >= slots) throw new ArgumentOutOfRangeException(nameof(m), $"AttentionMetadata.SlotMapping[{t}] = {slot} is outside the KV pool of {slots} slots");
            k.Slice(t * rowLength, rowLength).CopyTo(keyPool.Slice(slot * rowLength, rowLength));
            v.Slice(t * rowLength, rowLength).CopyTo(valuePool.Slice(slot * rowLength, rowLength));
        }
    }

    /// <summary>
    /// Step 2: every query row attends causally over its sequence's cached keys. Query row i of a sequence with
    /// queryLen new tokens and context seqLen sits at position seqLen - queryLen + i and sees keys 0..position (only
    /// the last SlidingWindow of them when a window is set). Query head h reads KV head h / (Hq / Hk) (GQA).
    /// </summary>
    private static void Attend(ReadOnlySpan<float> q, ReadOnlySpan<float> keyPool, ReadOnlySpan<float> valuePool,
        AttentionMetadata m, in AttentionParams p, int blockSize, Span<float> output)
    {
        int d = p.HeadDim, kvRow = p.NumKvHeads * d, qRow = p.NumHeads * d, group = p.NumHeads / p.NumKvHeads;
        var scores = new float[Math.Max(1, MaxContext(m))];
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int first = m.QueryStartLoc[s], queryLen = m.QueryStartLoc[s + 1] - first, seqLen = m.SeqLens[s];
            var blocks = m.BlockTables.AsSpan(s * m.MaxBlocksPerSeq, m.MaxBlocksPerSeq);
            for (int i = 0; i < queryLen; i++)
            {
                int t = first + i;
                int position = seqLen - queryLen + i;
                int oldest = p.SlidingWindow > 0 ? Math.Max(0, position - p.SlidingWindow + 1) : 0;
                int count = position - oldest + 1;
                for (int h = 0; h < p.NumHeads; h++)
                {
                    var query = q.Slice(t * qRow + h * d, d);
                    int kvHead = h / group;

                    // Scores q.k * scale for every visible key, then a numerically stable softmax.
                    float max = float.NegativeInfinity;
                    for (int j = 0; j < count; j++)
                    {
                        int slot = SlotOf(blocks, oldest + j, blockSize);
                        var key = keyPool.Slice(slot * kvRow + kvHead * d, d);
                        float dot = 0;
                        for (int c = 0; c < d; c++) dot += query[c] * key[c];
                        scores[j] = dot * p.Scale;
                        max = MathF.Max(max, scores[j]);
                    }
                    float sum = 0;
                    for (int j = 0; j < count; j++) sum += scores[j] = MathF.Exp(scores[j] - max);

                    // Output = sum_j softmax_j * v_j.
                    var o = output.Slice(t * qRow + h * d, d);
                    o.Clear();
                    for (int j = 0; j < count; j++)
                    {
                        int slot = SlotOf(blocks, oldest + j, blockSize);
                        var value = valuePool.Slice(slot * kvRow + kvHead * d, d);
                        float weight = scores[j] / sum;
                        for (int c = 0; c < d; c++) o[c] += weight * value[c];
                    }
                }
            }
        }
    }

    /// <summary>The cache slot of sequence position <paramref name="position"/>, through the block table.</summary>
    private static int SlotOf(ReadOnlySpan<int> blocks, int position, int blockSize)
    {
        int block = blocks[position / blockSize];
        if (block < 0) throw new InvalidOperationException($"block table has no block for position {position} (entry {position / blockSize} is {block})");
        return block * blockSize + position % blockSize;
    }

    private static int MaxContext(AttentionMetadata m)
    {
        int max = m.MaxSeqLen;
        foreach (var len in m.SeqLens) max = Math.Max(max, len);
        return max;
    }
}
