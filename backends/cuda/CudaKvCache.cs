using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// K and V pools in device memory, one allocation each, laid out [layer][slot][kvHead][headDim] with
/// slot = block * BlockSize + offset, so one token's heads are contiguous and a block is one contiguous range.
/// Elements are bf16, or FP8 e4m3fn (<see cref="DType.F8E4M3"/>, scale 1, saturating) for half the bytes per token:
/// twice the blocks in the same memory and half the reads of a decode step, for head dims 64 and 128.
/// </summary>
internal sealed unsafe class CudaKvCache : KvCache
{
    private readonly CudaBackend _backend;
    private readonly DeviceBuffer _k, _v;

    internal CudaKvCache(CudaBackend backend, KvCacheSpec spec) : base(spec)
    {
        if (spec.DType is not (DType.BF16 or DType.F8E4M3))
            throw new NotSupportedException($"cuda: KvCacheSpec.DType {spec.DType} is not supported; the cuda backend caches BF16 or F8E4M3 (--kv-cache-dtype fp8)");
        if (spec.NumLayers <= 0 || spec.NumBlocks <= 0 || spec.BlockSize <= 0 || spec.NumKvHeads <= 0 || spec.HeadDim <= 0)
            throw new ArgumentException($"cuda: every KvCacheSpec dimension must be positive, got {spec}");
        if (spec.DType == DType.F8E4M3 && !Runtime.KernelLibrary.DecodeTcHeadDims.Contains(spec.HeadDim))
            throw new NotSupportedException(
                $"cuda: an FP8 KV cache needs head dim {string.Join(" or ", Runtime.KernelLibrary.DecodeTcHeadDims)} (its tensor-core kernels), this model has {spec.HeadDim}; use --kv-cache-dtype auto");
        _backend = backend;
        backend.Bind();
        ElementBytes = DTypes.SizeOf(spec.DType);
        LayerElements = (long)spec.NumBlocks * spec.BlockSize * spec.NumKvHeads * spec.HeadDim;
        long bytes = LayerElements * spec.NumLayers * ElementBytes;
        _k = new DeviceBuffer(backend.Context, backend.Stream, bytes);
        _v = new DeviceBuffer(backend.Context, backend.Stream, bytes);
        // Zero the pools so a read of a never-written slot gives 0, not NaN from stale memory.
        CudaCheck.Driver(CudaDriver.cuMemsetD8Async(_k.Pointer, 0, (nuint)bytes, backend.Stream.Raw), "cuMemsetD8Async(K cache)");
        CudaCheck.Driver(CudaDriver.cuMemsetD8Async(_v.Pointer, 0, (nuint)bytes, backend.Stream.Raw), "cuMemsetD8Async(V cache)");
    }

    /// <summary>Elements of one layer's K (or V) pool.</summary>
    internal long LayerElements { get; }

    /// <summary>Bytes per element: 2 (bf16) or 1 (FP8).</summary>
    internal int ElementBytes { get; }

    /// <summary>True when the pools hold FP8 e4m3 codes.</summary>
    internal bool IsFp8 => Spec.DType == DType.F8E4M3;

    /// <summary>Address of layer <paramref name="layer"/>'s K pool.</summary>
    internal ulong KeyPointer(int layer) => _k.Pointer + (ulong)(layer * LayerElements * ElementBytes);

    /// <summary>Address of layer <paramref name="layer"/>'s V pool.</summary>
    internal ulong ValuePointer(int layer) => _v.Pointer + (ulong)(layer * LayerElements * ElementBytes);

    /// <inheritdoc />
    public override void CopyBlock(int src, int dst)
    {
        if ((uint)src >= (uint)Spec.NumBlocks || (uint)dst >= (uint)Spec.NumBlocks)
            throw new ArgumentOutOfRangeException(nameof(src), $"cuda: CopyBlock({src}, {dst}) outside the pool's {Spec.NumBlocks} blocks");
        _backend.Bind();
        long blockBytes = (long)Spec.BlockSize * Spec.NumKvHeads * Spec.HeadDim * ElementBytes;
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
