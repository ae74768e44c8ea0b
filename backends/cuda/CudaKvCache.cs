using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// K and V pools in device memory, one allocation each, laid out [layer][slot][kvHead][headDim] with
/// slot = block * BlockSize + offset, so one token's heads are contiguous and a block is one contiguous range.
/// </summary>
internal sealed unsafe class CudaKvCache : KvCache
{
    private readonly CudaBackend _backend;
    private readonly DeviceBuffer _k, _v;

    internal CudaKvCache(CudaBackend backend, KvCacheSpec spec) : base(spec)
    {
        if (spec.DType != DType.BF16)
            throw new NotSupportedException($"cuda: KvCacheSpec.DType {spec.DType} is not supported; the cuda backend caches BF16");
        if (spec.NumLayers <= 0 || spec.NumBlocks <= 0 || spec.BlockSize <= 0 || spec.NumKvHeads <= 0 || spec.HeadDim <= 0)
            throw new ArgumentException($"cuda: every KvCacheSpec dimension must be positive, got {spec}");
        _backend = backend;
        backend.Bind();
        LayerElements = (long)spec.NumBlocks * spec.BlockSize * spec.NumKvHeads * spec.HeadDim;
        long bytes = LayerElements * spec.NumLayers * 2;
        _k = new DeviceBuffer(backend.Context, backend.Stream, bytes);
        _v = new DeviceBuffer(backend.Context, backend.Stream, bytes);
        // Zero the pools so a read of a never-written slot gives 0, not NaN from stale memory.
        CudaCheck.Driver(CudaDriver.cuMemsetD8Async(_k.Pointer, 0, (nuint)bytes, backend.Stream.Raw), "cuMemsetD8Async(K cache)");
        CudaCheck.Driver(CudaDriver.cuMemsetD8Async(_v.Pointer, 0, (nuint)bytes, backend.Stream.Raw), "cuMemsetD8Async(V cache)");
    }

    /// <summary>Elements of one layer's K (or V) pool.</summary>
    internal long LayerElements { get; }

    /// <summary>Address of layer <paramref name="layer"/>'s K pool.</summary>
    internal ulong KeyPointer(int layer) => _k.Pointer + (ulong)(layer * LayerElements * 2);

    /// <summary>Address of layer <paramref name="layer"/>'s V pool.</summary>
    internal ulong ValuePointer(int layer) => _v.Pointer + (ulong)(layer * LayerElements * 2);

    /// <inheritdoc />
    public override void CopyBlock(int src, int dst)
    {
        if ((uint)src >= (uint)Spec.NumBlocks || (uint)dst >= (uint)Spec.NumBlocks)
            throw new ArgumentOutOfRangeException(nameof(src), $"cuda: CopyBlock({src}, {dst}) outside the pool's {Spec.NumBlocks} blocks");
        _backend.Bind();
        long blockBytes = (long)Spec.BlockSize * Spec.NumKvHeads * Spec.HeadDim * 2;
        for (int layer = 0; layer < Spec.NumLayers; layer++)
        {
            ulong kBase = KeyPointer(layer), vBase = ValuePointer(layer);
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoDAsync(kBase + (ulong)(dst * blockBytes), kBase + (ulong)(src * blockBytes),
                (nuint)blockBytes, _backend.Stream.Raw), "cuMemcpyDtoDAsync(K block)");
            CudaCheck.Driver(CudaDriver.cuMemcpyDtoDAsync(vBase + (ulong)(dst * blockBytes), vBase + (ulong)(src * blockBytes),
                (nuint)blockBytes, _backend.Stream.Raw), "cuMemcpyDtoDAsync(V block)");
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
    }
}
