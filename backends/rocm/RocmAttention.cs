using ILGPU;
using ILGPU.Runtime;
using Modular.Abstractions;
using Modular.Backends.Rocm.Kernels;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Rocm;

/// <summary>
/// Paged attention on ILGPU. <see cref="Prepare"/> validates the step and uploads the slot mapping, block tables
/// and, per query token, its sequence index and position (resolved on the host, so the kernel needs no search).
/// </summary>
internal sealed class RocmAttention : IAttentionBackend, IDisposable
{
    private readonly RocmBackend _b;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, long>> _store;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, AttentionShape>> _attend;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, FlashShape>> _flash;
    private StepState? _state;

    /// <summary>Device copies of one step's metadata, grown by doubling and reused across steps.</summary>
    private sealed class StepState : IDisposable
    {
        public RocmTensor? Slots, TokenSeq, TokenPos, Tables, TileFirst, TileCount;
        /// <summary>Query tokens per tile the tile lists were built for (0: not built this step).</summary>
        public int TileRows;
        public int Tiles;
        /// <summary>This step's query start offsets (host copy).</summary>
        public int[] QueryStarts = [];
        public void Dispose() { Slots?.Dispose(); TokenSeq?.Dispose(); TokenPos?.Dispose(); Tables?.Dispose(); TileFirst?.Dispose(); TileCount?.Dispose(); }
    }

    /// <summary>Which metadata object the device copies belong to, so Forward can refuse a stale one.</summary>
    private sealed record Prepared(int Tokens, int Seqs, int MaxBlocksPerSeq);

    public RocmAttention(RocmBackend backend)
    {
        _b = backend;
        _store = new(() => backend.Loader.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, long>>(typeof(AttentionKernels), nameof(AttentionKernels.StoreKv)));
        _attend = new(() => backend.Loader.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, AttentionShape>>(typeof(AttentionKernels), nameof(AttentionKernels.PagedAttention)));
        _flash = new(() => backend.Loader.Load<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, FlashShape>>(typeof(FlashAttentionKernels), nameof(FlashAttentionKernels.Prefill)));
    }

    public KvCache CreateCache(KvCacheSpec spec)
    {
        if (spec.DType == DType.F8E4M3)
            throw new NotSupportedException("the rocm backend has no F8E4M3 (fp8) KV cache; --kv-cache-dtype fp8 runs on the cpu and cuda backends (use --kv-cache-dtype auto on rocm)");
        if (spec.DType != DType.F32) throw new NotSupportedException($"the rocm backend keeps its KV cache in F32 (its activation dtype), not {spec.DType}");
        if (spec.HeadDim > AttentionKernels.MaxHeadDim) throw new NotSupportedException($"head dim {spec.HeadDim} above the kernel's {AttentionKernels.MaxHeadDim}");
        return new RocmKvCache(_b, spec);
    }

    public void Prepare(AttentionMetadata m)
    {
        Validate(m);
        int t = m.NumTokens;
        var seqOf = new int[Math.Max(1, t)];
        var posOf = new int[Math.Max(1, t)];
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int start = m.QueryStartLoc[s], end = m.QueryStartLoc[s + 1], qLen = end - start;
            for (int i = start; i < end; i++)
            {
                seqOf[i] = s;
                posOf[i] = m.SeqLens[s] - qLen + (i - start);
            }
        }
        var st = _state ??= new StepState();
        Put(ref st.Slots, m.SlotMapping, t);
        Put(ref st.TokenSeq, seqOf, t);
        Put(ref st.TokenPos, posOf, t);
        Put(ref st.Tables, m.BlockTables, m.BlockTables.Length);
        st.QueryStarts = m.QueryStartLoc[..(m.NumSeqs + 1)];
        st.TileRows = 0;
        m.DeviceState = new Prepared(t, m.NumSeqs, m.MaxBlocksPerSeq);
    }

    private void Put(ref RocmTensor? buffer, int[] host, int count)
    {
        if (buffer is null || buffer.Length < Math.Max(1, count))
        {
            buffer?.Dispose();
            buffer = (RocmTensor)_b.Allocate(DType.I32, Math.Max(16, Math.Max(count, (int)(buffer?.Length ?? 0) * 2)));
        }
        if (count > 0) _b.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(host.AsSpan(0, count)), DType.I32, buffer.Slice(0, count));
    }

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata m, in AttentionParams p, Tensor output)
    {
        var kv = cache as RocmKvCache ?? throw new ArgumentException("KV cache was not created by the rocm backend");
        if (m.DeviceState is not Prepared prep || prep.Tokens != m.NumTokens || _state is null)
            throw new InvalidOperationException("Attention.Forward before Prepare for this step's metadata");
        if ((uint)layer >= (uint)kv.Spec.NumLayers) throw new ArgumentOutOfRangeException(nameof(layer), $"layer {layer} of a {kv.Spec.NumLayers}-layer cache");
        var qs = RocmBackend.Own(q); var ks = RocmBackend.Own(k); var vs = RocmBackend.Own(v); var o = RocmBackend.Own(output);
        int d = p.HeadDim, hk = p.NumKvHeads, hq = p.NumHeads, t = m.NumTokens;
        if (d != kv.Spec.HeadDim || hk != kv.Spec.NumKvHeads || hq % hk != 0)
            throw new ArgumentException($"attention params (heads {hq}/{hk}, dim {d}) disagree with the cache ({kv.Spec.NumKvHeads} kv heads, dim {kv.Spec.HeadDim})");
        if (qs.Length != (long)t * hq * d || ks.Length != (long)t * hk * d || vs.Length != ks.Length || o.Length != qs.Length)
            throw new ArgumentException($"attention shapes: q {q}, k {k}, v {v}, out {output} for {t} tokens");
        if (t == 0) return;
        int rowLen = hk * d;
        long slots = (long)kv.Spec.NumBlocks * kv.Spec.BlockSize;
        var kPool = kv.K(layer); var vPool = kv.V(layer);
        _store.Value(_b.Stream, _b.Stride(ks.Length), ks.F32, vs.F32, _state.Slots!.I32, kPool.F32, vPool.F32, rowLen, slots);
        if (_b.TiledAttention)
        {
            Tiled(qs, kPool, vPool, o, m, p, kv.Spec.BlockSize);
            return;
        }
        var shape = new AttentionShape
        {
            Tokens = t, NumHeads = hq, NumKvHeads = hk, HeadDim = d, BlockSize = kv.Spec.BlockSize,
            MaxBlocksPerSeq = m.MaxBlocksPerSeq, Window = p.SlidingWindow, Scale = p.Scale,
        };
        int groups = (int)Math.Min((long)t * hq, 65535);
        _attend.Value(_b.Stream, new KernelConfig(new Index1D(groups), new Index1D(_b.GroupSize(AttentionKernels.MaxKeyTile))),
            qs.F32, kPool.F32, vPool.F32, _state.TokenSeq!.I32, _state.TokenPos!.I32, _state.Tables!.I32, o.F32, shape);
    }

    /// <summary>
    /// The tiled kernel: rows = tokens x heads of one KV head per tile, at most 32 and within 2048 floats of
    /// queries; the tile list (consecutive query tokens of one sequence) is built on the host once per step.
    /// </summary>
    private void Tiled(RocmTensor q, RocmTensor kPool, RocmTensor vPool, RocmTensor o, AttentionMetadata m, in AttentionParams p, int blockSize)
    {
        var st = _state!;
        int d = p.HeadDim;
        int maxRows = Math.Max(1, Math.Min(FlashAttentionKernels.MaxQueryRows, FlashAttentionKernels.RowFloats / d));
        int keys = Math.Max(1, Math.Min(FlashAttentionKernels.MaxKeyRows, FlashAttentionKernels.KeyFloats / (d + 1)));
        int group = p.NumHeads / p.NumKvHeads, heads = Math.Min(group, maxRows);
        while (group % heads != 0) heads--;
        int tokensPerTile = maxRows / heads;
        if (st.TileRows != tokensPerTile)
        {
            var first = new List<int>();
            var count = new List<int>();
            for (int s = 0; s + 1 < st.QueryStarts.Length; s++)
                for (int i = st.QueryStarts[s]; i < st.QueryStarts[s + 1]; i += tokensPerTile)
                {
                    first.Add(i);
                    count.Add(Math.Min(tokensPerTile, st.QueryStarts[s + 1] - i));
                }
            Put(ref st.TileFirst, first.ToArray(), first.Count);
            Put(ref st.TileCount, count.ToArray(), count.Count);
            st.Tiles = first.Count;
            st.TileRows = tokensPerTile;
        }
        if (st.Tiles == 0) return;
        var shape = new FlashShape
        {
            Tiles = st.Tiles, NumHeads = p.NumHeads, NumKvHeads = p.NumKvHeads, HeadDim = d, BlockSize = blockSize,
            MaxBlocksPerSeq = m.MaxBlocksPerSeq, Window = p.SlidingWindow, Scale = p.Scale, HeadsPerTile = heads,
            QueryRows = tokensPerTile * heads, KeyRows = keys,
        };
        int groups = (int)Math.Min((long)st.Tiles * (p.NumHeads / heads), 65535);
        _flash.Value(_b.Stream, new KernelConfig(new Index1D(groups), new Index1D(_b.GroupSize(FlashAttentionKernels.GroupThreads))),
            q.F32, kPool.F32, vPool.F32, st.TileFirst!.I32, st.TileCount!.I32, st.TokenSeq!.I32, st.TokenPos!.I32, st.Tables!.I32, o.F32, shape);
    }

    private static void Validate(AttentionMetadata m)
    {
        if (m.QueryStartLoc.Length != m.NumSeqs + 1 || m.QueryStartLoc[m.NumSeqs] != m.NumTokens)
            throw new ArgumentException("AttentionMetadata.QueryStartLoc must have NumSeqs+1 entries ending at NumTokens");
        if (m.SeqLens.Length != m.NumSeqs || m.SlotMapping.Length != m.NumTokens)
            throw new ArgumentException("AttentionMetadata.SeqLens/SlotMapping lengths disagree with NumSeqs/NumTokens");
        if (m.BlockTables.Length < m.NumSeqs * m.MaxBlocksPerSeq)
            throw new ArgumentException($"AttentionMetadata.BlockTables has {m.BlockTables.Length} entries, fewer than NumSeqs*MaxBlocksPerSeq");
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int qLen = m.QueryStartLoc[s + 1] - m.QueryStartLoc[s];
            if (qLen < 0 || qLen > m.SeqLens[s]) throw new ArgumentException($"sequence {s}: {qLen} query tokens but context {m.SeqLens[s]}");
        }
    }

    public void Dispose() => _state?.Dispose();
}

/// <summary>Device KV pools: per layer, K and V tensors of [NumBlocks * BlockSize, KvHeads * HeadDim] floats.</summary>
internal sealed class RocmKvCache : KvCache
{
    private readonly RocmBackend _backend;
    private readonly RocmTensor[] _k, _v;

    public RocmKvCache(RocmBackend backend, KvCacheSpec spec) : base(spec)
    {
        _backend = backend;
        _k = new RocmTensor[spec.NumLayers];
        _v = new RocmTensor[spec.NumLayers];
        int slots = checked(spec.NumBlocks * spec.BlockSize), row = spec.NumKvHeads * spec.HeadDim;
        try
        {
            for (int l = 0; l < spec.NumLayers; l++)
            {
                _k[l] = (RocmTensor)backend.Allocate(DType.F32, slots, row);
                _v[l] = (RocmTensor)backend.Allocate(DType.F32, slots, row);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public RocmTensor K(int layer) => _k[layer];
    public RocmTensor V(int layer) => _v[layer];

    public override void CopyBlock(int src, int dst)
    {
        int bs = Spec.BlockSize;
        if ((uint)src >= (uint)Spec.NumBlocks || (uint)dst >= (uint)Spec.NumBlocks)
            throw new ArgumentOutOfRangeException(nameof(src), $"blocks {src} -> {dst} outside a pool of {Spec.NumBlocks}");
        for (int l = 0; l < Spec.NumLayers; l++)
        {
            _backend.Copy(_k[l].Slice(src * bs, bs), _k[l].Slice(dst * bs, bs));
            _backend.Copy(_v[l].Slice(src * bs, bs), _v[l].Slice(dst * bs, bs));
        }
    }

    public override void Dispose()
    {
        foreach (var t in _k) t?.Dispose();
        foreach (var t in _v) t?.Dispose();
    }
}
