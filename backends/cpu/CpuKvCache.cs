using Modular.Abstractions;

namespace Modular.Backends.Cpu;

/// <summary>
/// Host KV pools: per layer, K and V arrays of [NumBlocks * BlockSize, KvHeads * HeadDim] elements of the spec's
/// dtype, F32 (four bytes) or F8E4M3 (one byte, scale 1.0).
/// </summary>
internal sealed unsafe class CpuKvCache : KvCache
{
    private readonly CpuTensor[] _k, _v;

    public CpuKvCache(CpuBackend backend, KvCacheSpec spec) : base(spec)
    {
        _k = new CpuTensor[spec.NumLayers];
        _v = new CpuTensor[spec.NumLayers];
        for (int l = 0; l < spec.NumLayers; l++)
        {
            _k[l] = (CpuTensor)backend.Allocate(spec.DType, spec.NumBlocks * spec.BlockSize, spec.NumKvHeads * spec.HeadDim);
            _v[l] = (CpuTensor)backend.Allocate(spec.DType, spec.NumBlocks * spec.BlockSize, spec.NumKvHeads * spec.HeadDim);
        }
    }

    /// <summary>True when the pools hold e4m3 codes.</summary>
    public bool IsFp8 => Spec.DType == DType.F8E4M3;

    /// <summary>The layer's K pool (F32 caches).</summary>
    public float* K(int layer) => _k[layer].F32;
    /// <summary>The layer's V pool (F32 caches).</summary>
    public float* V(int layer) => _v[layer].F32;
    /// <summary>The layer's K pool as e4m3 codes (F8E4M3 caches).</summary>
    public byte* KBytes(int layer) => IsFp8 ? _k[layer].Pointer : throw new InvalidOperationException($"the KV cache holds {Spec.DType}, not F8E4M3");
    /// <summary>The layer's V pool as e4m3 codes (F8E4M3 caches).</summary>
    public byte* VBytes(int layer) => IsFp8 ? _v[layer].Pointer : throw new InvalidOperationException($"the KV cache holds {Spec.DType}, not F8E4M3");

    public override void CopyBlock(int src, int dst)
    {
        int bs = Spec.BlockSize;
        for (int l = 0; l < Spec.NumLayers; l++)
        {
            _k[l].Backend.Copy(_k[l].Slice(src * bs, bs), _k[l].Slice(dst * bs, bs));
            _v[l].Backend.Copy(_v[l].Slice(src * bs, bs), _v[l].Slice(dst * bs, bs));
        }
    }

    public override void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
