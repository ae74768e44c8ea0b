namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IBackend"/>: record the work a step enqueues once and replay it later with
/// one launch (CUDA graphs). A replay reads and writes the same device addresses as the capture, so a caller keeps
/// the step's inputs in fixed tensors, refreshes them with <see cref="UploadAsync"/> (and
/// <see cref="IGraphAttention.PrepareForGraph"/> for attention metadata) before each replay, and drops its graphs
/// when <see cref="MemoryEpoch"/> changes. Backends without it simply do not implement the interface.
/// </summary>
public interface IGraphCapture
{
    /// <summary>
    /// Changes whenever internal device memory that captured work may point at (scratch buffers, graph metadata
    /// buffers) is reallocated. Graphs captured under another epoch must not be replayed.
    /// </summary>
    long MemoryEpoch { get; }

    /// <summary>
    /// Records everything <paramref name="body"/> enqueues without running it. The body must not synchronize,
    /// upload, download or allocate; run it once uncaptured first so lazily grown buffers have their size.
    /// </summary>
    IStepGraph Capture(Action body);

    /// <summary>
    /// Enqueues a copy of <paramref name="src"/> (raw bytes of <paramref name="dst"/>'s dtype, same length) into
    /// <paramref name="dst"/> through page-locked staging without waiting for it; <paramref name="src"/> may be
    /// reused as soon as the call returns. Ordered with all other work of the backend.
    /// </summary>
    void UploadAsync(ReadOnlySpan<byte> src, Tensor dst);
}

/// <summary>A captured step (see <see cref="IGraphCapture.Capture"/>).</summary>
public interface IStepGraph : IDisposable
{
    /// <summary>Enqueues one replay of every recorded launch and copy.</summary>
    void Replay();
}

/// <summary>
/// Optional capability of an <see cref="IAttentionBackend"/> whose backend implements <see cref="IGraphCapture"/>:
/// a <see cref="IAttentionBackend.Prepare"/> that puts the step's metadata at fixed device addresses, so attention
/// launches captured for one step read the next step's metadata when replayed.
/// </summary>
public interface IGraphAttention
{
    /// <summary>
    /// Uploads <paramref name="metadata"/> into the graph metadata buffers (asynchronously, one copy). Launch
    /// shapes derive from <see cref="AttentionMetadata.NumTokens"/>, <see cref="AttentionMetadata.MaxBlocksPerSeq"/>
    /// and <see cref="AttentionMetadata.MaxSeqLen"/> only, so a replayed graph stays correct for any step with the
    /// same three values whose real context lengths are at most MaxSeqLen. Growing the buffers changes
    /// <see cref="IGraphCapture.MemoryEpoch"/>.
    /// </summary>
    void PrepareForGraph(AttentionMetadata metadata);
}
