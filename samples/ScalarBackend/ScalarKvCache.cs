using Modular.Abstractions;

namespace ScalarBackend;

/// <summary>
/// The KV pools: per layer one K and one V array of [NumBlocks * BlockSize slots, NumKvHeads * HeadDim] floats.
/// </summary>
internal sealed class ScalarKvCache : KvCache
{
    private readonly float[][] _keys, _values;

    /// <summary>Allocates zeroed pools for <paramref name="spec"/>.</summary>
    public ScalarKvCache(KvCacheSpec spec) : base(spec)
    {
        long perLayer = (long)spec.NumBlocks * spec.BlockSize * spec.NumKvHeads * spec.HeadDim;
        if (perLayer > Array.MaxLength)
            throw new NotSupportedException($"{ScalarPlugin.PluginName}: one layer's K pool would hold {perLayer} floats, above a managed array's {Array.MaxLength}; use fewer blocks");
        _keys = new float[spec.NumLayers][];
        _values = new float[spec.NumLayers][];
        for (int l = 0; l < spec.NumLayers; l++)
        {
            _keys[l] = new float[perLayer];
            _values[l] = new float[perLayer];
        }
    }

    /// <summary>Layer <paramref name="layer"/>'s K pool.</summary>
    public Span<float> Keys(int layer) => _keys[layer];

    /// <summary>Layer <paramref name="layer"/>'s V pool.</summary>
    public Span<float> Values(int layer) => _values[layer];

    /// <summary>Copy-on-write of a shared block: every layer's K and V slots of <paramref name="src"/> into <paramref name="dst"/>.</summary>
    public override void CopyBlock(int src, int dst)
    {
        if ((uint)src >= (uint)Spec.NumBlocks || (uint)dst >= (uint)Spec.NumBlocks)
            throw new ArgumentOutOfRangeException(nameof(src), $"CopyBlock({src}, {dst}): blocks must be within 0..{Spec.NumBlocks - 1}");
        int blockLength = Spec.BlockSize * Spec.NumKvHeads * Spec.HeadDim;
        for (int l = 0; l < Spec.NumLayers; l++)
        {
            Array.Copy(_keys[l], src * blockLength, _keys[l], dst * blockLength, blockLength);
            Array.Copy(_values[l], src * blockLength, _values[l], dst * blockLength, blockLength);
        }
    }

    /// <summary>Managed arrays are garbage collected.</summary>
    public override void Dispose() { }
}
