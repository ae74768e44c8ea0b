namespace Modular.Abstractions;

/// <summary>Shape of a paged KV cache: per layer, K and V pools of NumBlocks blocks of BlockSize token slots.</summary>
/// <param name="NumLayers">Transformer layers.</param>
/// <param name="NumBlocks">Blocks in the pool (shared by all layers' block tables).</param>
/// <param name="BlockSize">Token slots per block.</param>
/// <param name="NumKvHeads">KV heads.</param>
/// <param name="HeadDim">Dimension of each head.</param>
/// <param name="DType">Element type of cached K/V.</param>
public sealed record KvCacheSpec(int NumLayers, int NumBlocks, int BlockSize, int NumKvHeads, int HeadDim, DType DType)
{
    /// <summary>Bytes one block takes across all layers, K and V.</summary>
    public long BytesPerBlock => 2L * NumLayers * BlockSize * NumKvHeads * HeadDim * DTypes.SizeOf(DType);
}

/// <summary>Device-resident K/V pools created by an <see cref="IAttentionBackend"/>.</summary>
public abstract class KvCache : IDisposable
{
    /// <summary>Creates the cache description.</summary>
    protected KvCache(KvCacheSpec spec) => Spec = spec;

    /// <summary>The shape of the pools.</summary>
    public KvCacheSpec Spec { get; }

    /// <summary>Copies every layer's K/V of block <paramref name="src"/> into block <paramref name="dst"/> (copy-on-write).</summary>
    public abstract void CopyBlock(int src, int dst);

    /// <summary>Frees the pools.</summary>
    public abstract void Dispose();
}

/// <summary>
/// Describes one flattened step: S sequences, each contributing a contiguous run of query tokens (a prefill chunk
/// or a single decode token), laid out back to back in T rows. Host arrays are the source of truth; backends
/// upload what they need once per step in <see cref="IAttentionBackend.Prepare"/>.
/// </summary>
public sealed class AttentionMetadata
{
    /// <summary>Number of query tokens in the step (T).</summary>
    public required int NumTokens { get; init; }

    /// <summary>Number of sequences (S).</summary>
    public required int NumSeqs { get; init; }

    /// <summary>[S+1] start row of each sequence's query tokens; QueryStartLoc[S] == T.</summary>
    public required int[] QueryStartLoc { get; init; }

    /// <summary>[S] total context length of each sequence after this step (cached tokens + new tokens).</summary>
    public required int[] SeqLens { get; init; }

    /// <summary>[S * MaxBlocksPerSeq] block ids, row-major; unused entries are -1.</summary>
    public required int[] BlockTables { get; init; }

    /// <summary>Row stride of <see cref="BlockTables"/>.</summary>
    public required int MaxBlocksPerSeq { get; init; }

    /// <summary>[T] cache slot (block * BlockSize + offset) each new token's K/V is written to.</summary>
    public required int[] SlotMapping { get; init; }

    /// <summary>Longest SeqLens entry (for launch sizing).</summary>
    public int MaxSeqLen { get; init; }

    /// <summary>Longest query run (for launch sizing).</summary>
    public int MaxQueryLen { get; init; }

    /// <summary>Backend-private per-step state (device copies of the arrays above), set by Prepare.</summary>
    public object? DeviceState { get; set; }
}

/// <summary>Per-layer attention parameters.</summary>
/// <param name="NumHeads">Query heads.</param>
/// <param name="NumKvHeads">KV heads (GQA when fewer than query heads).</param>
/// <param name="HeadDim">Head dimension.</param>
/// <param name="Scale">Softmax scale (usually 1/sqrt(HeadDim)).</param>
/// <param name="SlidingWindow">Keys older than this many positions are masked; 0 for none.</param>
public readonly record struct AttentionParams(int NumHeads, int NumKvHeads, int HeadDim, float Scale, int SlidingWindow)
{
    /// <summary>
    /// This step's k/v rows are already in the layer's cache (stored by <see cref="IFusedQkvStore"/>): Forward must
    /// not store k and v again (they may hold stale data). Only a backend that implements
    /// <see cref="IFusedQkvStore"/> and returned true for this layer and step ever sees it set.
    /// </summary>
    public bool KvStored { get; init; }
}

/// <summary>
/// Paged attention: writes the step's new K/V into cache slots, then attends every query token causally over its
/// sequence's cached context through the block table. Handles prefill, chunked prefill, decode and any mix.
/// </summary>
public interface IAttentionBackend
{
    /// <summary>Allocates the KV pools.</summary>
    KvCache CreateCache(KvCacheSpec spec);

    /// <summary>Uploads the step's metadata; called once per step before any layer's <see cref="Forward"/>.</summary>
    void Prepare(AttentionMetadata metadata);

    /// <summary>
    /// Stores k/v [T, Hk*D] at the step's slots for <paramref name="layer"/>, then computes
    /// out [T, Hq*D] = softmax(q K^T * scale + causal/window mask) V for every query row.
    /// </summary>
    void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata metadata,
        in AttentionParams p, Tensor output);
}
