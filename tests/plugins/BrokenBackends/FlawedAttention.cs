using Modular.Abstractions;

namespace Modular.TestPlugins.BrokenBackends;

/// <summary>The inner backend's attention; with <see cref="Flaw.BlockTable"/> it reads through an identity block table.</summary>
internal sealed class FlawedAttention(IAttentionBackend inner, Flaw flaw) : IAttentionBackend
{
    public KvCache CreateCache(KvCacheSpec spec) => inner.CreateCache(spec);

    public void Prepare(AttentionMetadata metadata) => inner.Prepare(metadata);

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata metadata,
        in AttentionParams p, Tensor output) =>
        inner.Forward(layer, q, k, v, cache, flaw == Flaw.BlockTable ? ContiguousBlocks(metadata) : metadata, p, output);

    /// <summary>
    /// The same step with every sequence's block table replaced by 0, 1, 2, ...: new K/V still go to the right slots
    /// (SlotMapping is untouched) but are read back from the wrong blocks, the bug of a kernel that indexes the
    /// cache by position instead of through the table.
    /// </summary>
    private static AttentionMetadata ContiguousBlocks(AttentionMetadata m)
    {
        var tables = new int[m.BlockTables.Length];
        for (int i = 0; i < tables.Length; i++) tables[i] = i % m.MaxBlocksPerSeq;
        return new AttentionMetadata
        {
            NumTokens = m.NumTokens, NumSeqs = m.NumSeqs, QueryStartLoc = m.QueryStartLoc, SeqLens = m.SeqLens,
            BlockTables = tables, MaxBlocksPerSeq = m.MaxBlocksPerSeq, SlotMapping = m.SlotMapping,
            MaxSeqLen = m.MaxSeqLen, MaxQueryLen = m.MaxQueryLen, DeviceState = m.DeviceState,
        };
    }
}
