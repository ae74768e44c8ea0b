namespace Modular.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IAttentionBackend"/>: <see cref="IFusedQkvKernels.SplitQkvRope"/> with this
/// step's k/v rows written straight into the layer's cache slots, so the store that
/// <see cref="IAttentionBackend.Forward"/> would do (a launch per layer on a GPU) disappears. The model runner asks
/// first, and on success calls Forward with <see cref="AttentionParams.KvStored"/> set.
/// </summary>
public interface IFusedQkvStore
{
    /// <summary>
    /// q [T, Hq*D] = RoPE(q part of <paramref name="qkv"/>); the k part (with RoPE) and the v part of each token go to
    /// <paramref name="layer"/>'s cache at <paramref name="metadata"/>'s slot for it (a negative slot is padding:
    /// nothing stored). <paramref name="metadata"/> must have been prepared (<see cref="IAttentionBackend.Prepare"/>).
    /// Returns false, having done nothing, when this backend does not fuse this call (its cache layout or settings).
    /// </summary>
    bool TrySplitQkvRopeStore(int layer, Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, KvCache cache,
        AttentionMetadata metadata);
}
