using Modular.Abstractions;
using Modular.Backends.Cuda.Native;

namespace Modular.Backends.Cuda;

/// <summary>
/// Paged attention on the GPU. <see cref="Prepare"/> packs the step's metadata (token-to-sequence map, query
/// starts, sequence lengths, block tables, slot mapping) into one pinned buffer and uploads it with one copy;
/// <see cref="Forward"/> stores the new K/V at their slots, then runs one kernel for every query row of the mixed
/// batch: the tensor-core decode kernel (decode_attention.cu: one block per row and KV head, the query-head group as
/// the MMA's rows) for head dims 64/128, else the GQA-shared CUDA-core kernel where compiled for the head dim and group
/// size, else the grouped kernel (head dims 64/128/256), else the simple one-warp-per-key kernel. Prefill-shaped steps
/// with head dim 128 run the tensor-core prefill kernel (flash_attention.cu) on their long queries and the decode
/// kernel on the rest (a row map names those rows). <see cref="PrepareForGraph"/>
/// packs into buffers at fixed addresses for replayed CUDA graphs. When the batch has too few (row, head) pairs to
/// fill the device and contexts are long (decode), the key range is split across blocks and the partial softmaxes are
/// merged by a second kernel (split-K). An FP8 (e4m3) cache is written by reshape_and_cache_fp8 and read by the
/// tensor-core kernels only (flash prefill for head dim 128, tensor-core decode for 64/128), which widen each tile to
/// bf16 in shared memory; other shapes are refused when the cache is created or the step runs.
/// </summary>
internal sealed unsafe class CudaAttention(CudaBackend backend) : IAttentionBackend, IGraphAttention, IFusedQkvStore
{
    private const int MaxHeadDim = 256;
    private const int MaxSplits = 64;
    private const int MinKeysPerSplit = 128;
    private const int SmallBatchKeysPerSplit = 32;

    private PinnedHostBuffer? _hostMeta;
    private DeviceBuffer? _deviceMeta;
    private CudaEvent? _uploaded;
    private PinnedHostBuffer? _graphHost;
    private DeviceBuffer? _graphDevice;
    private CudaEvent? _graphUploaded;
    private (int Tokens, int Seqs, int TableEntries) _graphCapacity;

    /// <summary>Query rows per tile of the tensor-core prefill kernel.</summary>
    private const int FlashTileRows = 64;

    /// <summary>Queries shorter than this run on the decode kernels (a step with none longer runs on them alone).</summary>
    private const int FlashMinQuery = 16;

    /// <summary>
    /// MODULAR_CUDA_FLASH_SPLIT=0 runs a mixed step's short-query rows in 64-row tiles of the prefill kernel with the
    /// long ones (as before the split; for A/B runs).
    /// </summary>
    private static readonly bool FlashSplit = Environment.GetEnvironmentVariable("MODULAR_CUDA_FLASH_SPLIT") != "0";

    /// <summary>MODULAR_CUDA_FLASH=0 turns the tensor-core prefill kernel off.</summary>
    private static readonly bool FlashEnabled = Environment.GetEnvironmentVariable("MODULAR_CUDA_FLASH") != "0";

    public KvCache CreateCache(KvCacheSpec spec) => new CudaKvCache(backend, spec);

    public void Prepare(AttentionMetadata metadata)
    {
        int t = metadata.NumTokens, s = metadata.NumSeqs;
        Validate(metadata);
        backend.Bind();
        var plan = PlanFlash(metadata);
        var layout = Layout.Of(t, s, metadata.BlockTables.Length, plan.AllTiles, plan.ShortRows);
        long bytes = layout.Ints * 4L;
        // The previous step's upload reads the pinned buffer until it has run.
        if (_uploaded is not null) CudaCheck.Driver(CudaDriver.cuEventSynchronize(_uploaded.DangerousGetHandle()), "cuEventSynchronize");
        if (_hostMeta is null || _hostMeta.Bytes < bytes)
        {
            _hostMeta?.Dispose();
            _hostMeta = new PinnedHostBuffer(backend.Context, Math.Max(bytes * 2, 1 << 16));
        }
        if (_deviceMeta is null || _deviceMeta.Bytes < bytes)
        {
            _deviceMeta?.Dispose();
            _deviceMeta = new DeviceBuffer(backend.Context, backend.Stream, Math.Max(bytes * 2, 1 << 16));
        }
        Pack(metadata, new Span<int>(_hostMeta.Pointer, (int)layout.Ints), layout, plan);
        CudaCheck.Driver(CudaDriver.cuMemcpyHtoDAsync(_deviceMeta.Pointer, _hostMeta.Pointer, (nuint)bytes, backend.Stream.Raw),
            "cuMemcpyHtoDAsync(attention metadata)");
        _uploaded ??= new CudaEvent(backend.Context);
        _uploaded.Record(backend.Stream);
        metadata.DeviceState = State(metadata, _deviceMeta.Pointer, layout, plan);
    }

    /// <summary>
    /// <see cref="IGraphAttention.PrepareForGraph"/>: the same packing into a buffer whose regions sit at offsets
    /// fixed by its capacity, not by this step's sizes, so every captured step finds its metadata where it looked
    /// during capture. Grows (and bumps the backend's memory epoch) only when a step exceeds the capacity.
    /// </summary>
    public void PrepareForGraph(AttentionMetadata metadata)
    {
        int t = metadata.NumTokens, s = metadata.NumSeqs;
        Validate(metadata);
        backend.Bind();
        if (_graphUploaded is not null) CudaCheck.Driver(CudaDriver.cuEventSynchronize(_graphUploaded.DangerousGetHandle()), "cuEventSynchronize");
        var cap = _graphCapacity;
        if (_graphDevice is null || t > cap.Tokens || s > cap.Seqs || metadata.BlockTables.Length > cap.TableEntries)
        {
            cap = (Math.Max(Math.Max(t, 512), cap.Tokens), Math.Max(Math.Max(s, 512), cap.Seqs),
                Math.Max(Math.Max(metadata.BlockTables.Length, 512 * 64), cap.TableEntries));
            var grown = Layout.Of(cap.Tokens, cap.Seqs, cap.TableEntries, 0, 0);
            _graphHost?.Dispose();
            _graphDevice?.Dispose();
            _graphHost = new PinnedHostBuffer(backend.Context, grown.Ints * 4L);
            _graphDevice = new DeviceBuffer(backend.Context, backend.Stream, grown.Ints * 4L);
            _graphCapacity = cap;
            backend.BumpMemoryEpoch();
        }
        var layout = Layout.Of(cap.Tokens, cap.Seqs, cap.TableEntries, 0, 0);
        var host = new Span<int>(_graphHost!.Pointer, (int)layout.Ints);
        Pack(metadata, host, layout, default);
        // Only the used part of each region travels; regions stay at their fixed offsets.
        CopyRegion(layout.TokenSeq, t);
        CopyRegion(layout.QueryStart, s + 1);
        CopyRegion(layout.SeqLens, s);
        CopyRegion(layout.Tables, metadata.BlockTables.Length);
        CopyRegion(layout.Slots, t);
        _graphUploaded ??= new CudaEvent(backend.Context);
        _graphUploaded.Record(backend.Stream);
        metadata.DeviceState = State(metadata, _graphDevice!.Pointer, layout, default);

        void CopyRegion(long offset, long count)
        {
            if (count <= 0) return;
            CudaCheck.Driver(CudaDriver.cuMemcpyHtoDAsync(_graphDevice!.Pointer + (ulong)(offset * 4), _graphHost!.Pointer + offset * 4,
                (nuint)(count * 4), backend.Stream.Raw), "cuMemcpyHtoDAsync(graph attention metadata)");
        }
    }

    /// <summary>Int offsets of the metadata regions in one packed buffer.</summary>
    private readonly record struct Layout(long TokenSeq, long QueryStart, long SeqLens, long Tables, long Slots, long Tiles, long ShortRows, long Ints)
    {
        /// <summary>The regions laid end to end: each starts where the previous one's entries end.</summary>
        public static Layout Of(int tokens, int seqs, int tableEntries, int tiles, int shortRows)
        {
            long queryStart = tokens, seqLens = queryStart + seqs + 1, tables = seqLens + seqs, slots = tables + tableEntries;
            long tileList = slots + tokens, shortList = tileList + 2L * tiles;  // a tile is a (seq, first row) pair
            return new Layout(0, queryStart, seqLens, tables, slots, tileList, shortList, shortList + shortRows);
        }
    }

    /// <summary>
    /// How a prefill-shaped step splits between the kernels: the 64-row tiles of the long-query sequences (at least
    /// <see cref="FlashMinQuery"/> rows) come first in the tile list, then those of the short ones; the rows of the
    /// short-query sequences (decode rows, mostly) are listed apart so the decode kernel can serve them alone.
    /// </summary>
    private readonly record struct FlashPlan(int LongTiles, int AllTiles, int LongRows, int ShortRows);

    /// <summary>The step's <see cref="FlashPlan"/>, or the empty plan (decode kernels only) when no query is long.</summary>
    private static FlashPlan PlanFlash(AttentionMetadata m)
    {
        if (!FlashEnabled || Mode != AttentionMode.Auto) return default;
        int longTiles = 0, shortTiles = 0, longRows = 0, shortRows = 0;
        for (int seq = 0; seq < m.NumSeqs; seq++)
        {
            int q = m.QueryStartLoc[seq + 1] - m.QueryStartLoc[seq];
            int tiles = (q + FlashTileRows - 1) / FlashTileRows;
            if (q >= FlashMinQuery) { longTiles += tiles; longRows += q; }
            else { shortTiles += tiles; shortRows += q; }
        }
        return longTiles == 0 ? default : new FlashPlan(longTiles, longTiles + shortTiles, longRows, shortRows);
    }

    private static void Pack(AttentionMetadata metadata, Span<int> host, Layout layout, FlashPlan plan)
    {
        int t = metadata.NumTokens, s = metadata.NumSeqs;
        for (int seq = 0; seq < s; seq++)
            for (int row = metadata.QueryStartLoc[seq]; row < metadata.QueryStartLoc[seq + 1]; row++)
                host[(int)layout.TokenSeq + row] = seq;
        metadata.QueryStartLoc.AsSpan(0, s + 1).CopyTo(host[(int)layout.QueryStart..]);
        metadata.SeqLens.AsSpan(0, s).CopyTo(host[(int)layout.SeqLens..]);
        metadata.BlockTables.CopyTo(host[(int)layout.Tables..]);
        metadata.SlotMapping.AsSpan(0, t).CopyTo(host[(int)layout.Slots..]);
        if (plan.AllTiles == 0) return;
        int at = (int)layout.Tiles, shortAt = (int)layout.ShortRows;
        foreach (bool longPass in (ReadOnlySpan<bool>)[true, false])
            for (int seq = 0; seq < s; seq++)
            {
                int q0 = metadata.QueryStartLoc[seq], q1 = metadata.QueryStartLoc[seq + 1];
                if (q1 - q0 >= FlashMinQuery != longPass) continue;
                for (int row = q0; row < q1; row += FlashTileRows)
                {
                    host[at++] = seq;
                    host[at++] = row;
                }
                if (!longPass)
                    for (int row = q0; row < q1; row++) host[shortAt++] = row;
            }
    }

    private static StepState State(AttentionMetadata metadata, ulong b, Layout layout, FlashPlan plan)
    {
        int s = metadata.NumSeqs;
        int maxSeqLen = metadata.MaxSeqLen, maxQuery = metadata.MaxQueryLen;
        if (maxSeqLen <= 0) foreach (var len in metadata.SeqLens.AsSpan(0, s)) maxSeqLen = Math.Max(maxSeqLen, len);
        if (maxQuery <= 0)
            for (int seq = 0; seq < s; seq++) maxQuery = Math.Max(maxQuery, metadata.QueryStartLoc[seq + 1] - metadata.QueryStartLoc[seq]);
        return new StepState(
            TokenSeq: b + (ulong)layout.TokenSeq * 4, QueryStart: b + (ulong)layout.QueryStart * 4, SeqLens: b + (ulong)layout.SeqLens * 4,
            BlockTables: b + (ulong)layout.Tables * 4, Slots: b + (ulong)layout.Slots * 4, MaxSeqLen: maxSeqLen, MaxQueryLen: maxQuery,
            Tiles: b + (ulong)layout.Tiles * 4, ShortRows: b + (ulong)layout.ShortRows * 4, Plan: plan);
    }

    /// <summary>
    /// Whether the fused q|k|v split stores k/v into the cache itself (default on; MODULAR_CUDA_QKV_STORE=0 keeps
    /// reshape_and_cache for A/B runs).
    /// </summary>
    internal bool FusedQkvStore { get; set; } = Environment.GetEnvironmentVariable("MODULAR_CUDA_QKV_STORE") != "0";

    /// <summary>This backend's cache and the step's prepared device state, with <paramref name="layer"/> inside the cache.</summary>
    private static (CudaKvCache Cache, StepState State) Resolve(KvCache cache, AttentionMetadata metadata, int layer, string op)
    {
        if (cache is not CudaKvCache kv) throw new ArgumentException($"cuda attention: cache is a {cache.GetType().Name}, not this backend's", nameof(cache));
        if (metadata.DeviceState is not StepState st)
            throw new InvalidOperationException($"cuda attention: {op} before Prepare for this step's AttentionMetadata");
        if ((uint)layer >= (uint)kv.Spec.NumLayers)
            throw new ArgumentOutOfRangeException(nameof(layer), $"cuda attention: layer {layer} of a {kv.Spec.NumLayers}-layer cache");
        return (kv, st);
    }

    public bool TrySplitQkvRopeStore(int layer, Tensor qkv, Tensor positions, Tensor cosSin, int headDim, Tensor q, KvCache cache,
        AttentionMetadata metadata)
    {
        if (!FusedQkvStore) return false;
        var (kv, st) = Resolve(cache, metadata, layer, nameof(TrySplitQkvRopeStore));
        var spec = kv.Spec;
        if (headDim != spec.HeadDim) throw new ArgumentException($"cuda attention: head dim {headDim} differs from the cache's {spec.HeadDim}");
        if (positions.Length != metadata.NumTokens) throw new ArgumentException($"cuda attention: {positions.Length} positions for {metadata.NumTokens} tokens");
        ((CudaKernels)backend.Kernels).SplitQkvRopeStore(qkv, positions, cosSin, headDim, q, spec.NumKvHeads, st.Slots,
            kv.KeyPointer(layer), kv.ValuePointer(layer), kv.IsFp8);
        return true;
    }

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata metadata,
        in AttentionParams p, Tensor output)
    {
        var (kv, st) = Resolve(cache, metadata, layer, nameof(Forward));
        var qv = Bf16(q, nameof(q));
        var kt = Bf16(k, nameof(k));
        var vt = Bf16(v, nameof(v));
        var o = Bf16(output, nameof(output));
        int t = metadata.NumTokens, d = p.HeadDim;
        var spec = kv.Spec;
        if (d > MaxHeadDim || d <= 0) throw new NotSupportedException($"cuda attention: HeadDim {d} is outside 1..{MaxHeadDim}");
        if (p.NumKvHeads != spec.NumKvHeads || d != spec.HeadDim)
            throw new ArgumentException($"cuda attention: params (kv heads {p.NumKvHeads}, head dim {d}) differ from the cache ({spec.NumKvHeads}, {spec.HeadDim})");
        if (p.NumHeads % p.NumKvHeads != 0) throw new ArgumentException($"cuda attention: NumHeads {p.NumHeads} is not a multiple of NumKvHeads {p.NumKvHeads}");
        if (qv.Length != (long)t * p.NumHeads * d || o.Length != qv.Length)
            throw new ArgumentException($"cuda attention: q {qv} and output {o} must be [{t},{p.NumHeads * d}]");
        if (kt.Length != (long)t * p.NumKvHeads * d || vt.Length != kt.Length)
            throw new ArgumentException($"cuda attention: k {kt} and v {vt} must be [{t},{p.NumKvHeads * d}]");
        if (t == 0) return;
        backend.Bind();
        var lib = backend.Library;
        int rowElems = p.NumKvHeads * d;
        ulong kc = kv.KeyPointer(layer), vc = kv.ValuePointer(layer);
        bool fp8 = kv.IsFp8;
        int group = p.NumHeads / p.NumKvHeads;
        // An FP8 cache is read only by the tensor-core kernels (the CUDA-core ones read bf16 rows).
        if (fp8 && !UseTensorCoreDecode(group))
            throw new NotSupportedException(
                $"cuda attention: an FP8 KV cache needs the tensor-core kernels (query-head group <= 16, MODULAR_CUDA_ATTENTION and MODULAR_CUDA_DECODE unset); this step has group {group}");
        if (!p.KvStored)
            backend.Launch(fp8 ? lib.ReshapeAndCacheFp8 : lib.ReshapeAndCache, (uint)t, 1, 1, 128, 0,
                backend.Args().Ptr(kt.Pointer).Ptr(vt.Pointer).Ptr(st.Slots).Ptr(kc).Ptr(vc).Int(rowElems),
                fp8 ? "reshape_and_cache_fp8" : "reshape_and_cache_bf16");

        var plan = st.Plan;
        var ap = p;  // the local function below cannot capture an in parameter
        nint tc = UseTensorCoreDecode(group) ? lib.PagedDecodeTc(d, fp8) : 0;
        if (plan.AllTiles > 0 && d == 128)
        {
            // Prefill-shaped step: the tensor-core prefill kernel, one block per (64-row tile, query head). The rows of
            // short queries (the decode rows of a mixed step) go to the decode kernel, which reads their K/V once per KV
            // head instead of once per query head into a 64-row tile with one live row (W2's mixed steps spent two
            // thirds of their prefill-kernel time there). Without a tensor-core decode kernel every tile runs here,
            // unless the step is mostly decode rows.
            bool split = FlashSplit && tc != 0 && plan.ShortRows <= MaxGridY;
            if (split || 2L * plan.LongRows >= t)
            {
                int tiles = split ? plan.LongTiles : plan.AllTiles;
                backend.Launch(fp8 ? lib.FlashPrefill128Fp8 : lib.FlashPrefill128, (uint)tiles, (uint)p.NumHeads, 1, 128, 0,
                    backend.Args().Ptr(qv.Pointer).Ptr(kc).Ptr(vc).Ptr(o.Pointer).Ptr(st.Tiles).Ptr(st.QueryStart).Ptr(st.SeqLens)
                        .Ptr(st.BlockTables).Int(metadata.MaxBlocksPerSeq).Int(spec.BlockSize).Int(p.NumHeads).Int(p.NumKvHeads)
                        .Float(p.Scale).Int(p.SlidingWindow), fp8 ? "flash_prefill_fp8_128" : "flash_prefill_128");
                if (split && plan.ShortRows > 0) Decode(tc, plan.ShortRows, st.ShortRows);
                return;
            }
        }
        if (tc != 0 && t > MaxGridY) tc = 0;  // rows are its grid's y
        if (fp8 && tc == 0)
            throw new NotSupportedException($"cuda attention: an FP8 KV cache with head dim {d} and {t} rows has no tensor-core decode kernel (head dims 64/128, at most {MaxGridY} rows)");
        Decode(tc, t, 0);
        return;

        // Decode-shaped attention for `rows` query rows: the step's rows in order, or those listed at rowMap (tensor-core
        // kernel only). Tensor-core decode (the query-head group as MMA rows), else the GQA-shared CUDA-core kernel:
        // both run one block per (row, KV head) and read each K/V row once for the whole query-head group.
        void Decode(nint tcKernel, int rows, ulong rowMap)
        {
            int visible = ap.SlidingWindow > 0 ? Math.Min(st.MaxSeqLen, ap.SlidingWindow) : st.MaxSeqLen;
            nint gqa = tcKernel != 0 ? tcKernel : Mode == AttentionMode.Auto ? lib.PagedAttentionGqa(d, group) : 0;
            int blockHeads = gqa != 0 ? ap.NumKvHeads : ap.NumHeads;
            int splits = ChooseSplits((long)rows * blockHeads, visible, tcKernel != 0 ? Runtime.KernelLibrary.DecodeTcKeysPerTile : 0);
            int chunk = (visible + splits - 1) / splits;
            ulong partM = 0, partL = 0, partAcc = 0;
            if (splits > 1)
            {
                // Partials are indexed by the step's row, so a mapped launch still needs room for all t rows.
                long partRows = (long)t * ap.NumHeads * splits;
                long mBytes = Runtime.ScratchArena.Align(partRows * 4);
                partM = backend.Scratch.Acquire(2 * mBytes + partRows * d * 4);
                partL = partM + (ulong)mBytes;
                partAcc = partL + (ulong)mBytes;
            }
            var args = backend.Args().Ptr(qv.Pointer).Ptr(kc).Ptr(vc).Ptr(o.Pointer).Ptr(st.TokenSeq).Ptr(st.QueryStart).Ptr(st.SeqLens)
                .Ptr(st.BlockTables).Int(metadata.MaxBlocksPerSeq).Int(spec.BlockSize).Int(ap.NumHeads).Int(ap.NumKvHeads).Int(d)
                .Float(ap.Scale).Int(ap.SlidingWindow).Int(splits).Int(chunk).Ptr(partM).Ptr(partL).Ptr(partAcc);
            if (tcKernel != 0)
            {
                // KV heads vary fastest in this kernel's grid (see decode_attention.cu).
                backend.Launch(tcKernel, (uint)blockHeads, (uint)rows, (uint)splits, 128, (uint)Runtime.KernelLibrary.DecodeTcSharedBytes(d, fp8),
                    args.Ptr(rowMap), fp8 ? "paged_decode_tc_fp8" : "paged_decode_tc");
            }
            else
                backend.Launch(gqa != 0 ? gqa : PickKernel(d), (uint)rows, (uint)blockHeads, (uint)splits, 128, 0, args,
                    gqa != 0 ? "paged_attention_gqa" : "paged_attention");
            if (splits > 1)
                backend.Launch(lib.PagedAttentionCombine, (uint)rows, (uint)ap.NumHeads, 1, 128, 0,
                    backend.Args().Ptr(partM).Ptr(partL).Ptr(partAcc).Ptr(o.Pointer).Int(ap.NumHeads).Int(d).Int(splits).Ptr(rowMap),
                    "paged_attention_combine_bf16");
        }
    }

    /// <summary>
    /// The per-query-head kernel: grouped (eight lanes per key, 16-byte loads) for head dims 64/128/256 unless
    /// MODULAR_CUDA_ATTENTION=simple; the one-warp-per-key kernel for any other head dim up to 256.
    /// </summary>
    private nint PickKernel(int headDim)
    {
        var lib = backend.Library;
        if (Mode == AttentionMode.Simple) return lib.PagedAttention;
        return headDim switch
        {
            64 => lib.PagedAttentionGrouped64,
            128 => lib.PagedAttentionGrouped128,
            256 => lib.PagedAttentionGrouped256,
            _ => lib.PagedAttention,
        };
    }

    /// <summary>Resident attention blocks per SM the split heuristic aims for (MODULAR_CUDA_SPLIT_BLOCKS_PER_SM overrides).</summary>
    private static readonly int BlocksPerSm =
        int.TryParse(Environment.GetEnvironmentVariable("MODULAR_CUDA_SPLIT_BLOCKS_PER_SM"), out var v) && v > 0 ? v : 8;

    /// <summary>Largest y dimension of a CUDA grid.</summary>
    private const int MaxGridY = 65535;

    /// <summary>MODULAR_CUDA_DECODE=cores keeps decode on the CUDA-core kernels (for comparison); default: tensor cores.</summary>
    private static readonly bool TensorCoreDecode = Environment.GetEnvironmentVariable("MODULAR_CUDA_DECODE") != "cores";

    /// <summary>
    /// Whether decode-shaped attention runs on the tensor-core kernel (query-head groups up to 16, the MMA's rows).
    /// It won at both ends on the H200: W2 (batch 512) and W1 (batch 1) against the GQA CUDA-core kernel.
    /// </summary>
    private static bool UseTensorCoreDecode(int group) => Mode == AttentionMode.Auto && TensorCoreDecode && group <= 16;

    /// <summary>Which attention kernels may run: MODULAR_CUDA_ATTENTION = simple | grouped | auto (default).</summary>
    private enum AttentionMode { Auto, Grouped, Simple }

    private static readonly AttentionMode Mode = Environment.GetEnvironmentVariable("MODULAR_CUDA_ATTENTION") switch
    {
        "simple" => AttentionMode.Simple,
        "grouped" => AttentionMode.Grouped,
        _ => AttentionMode.Auto,
    };

    /// <summary>
    /// Splits the key range when (row, head) blocks alone would leave the device short of resident blocks: each
    /// block walks its keys serially, so a decode step is bound by the longest walk, not by bandwidth, until about
    /// <see cref="BlocksPerSm"/> blocks per SM are in flight. Each split keeps at least <see cref="MinKeysPerSplit"/> keys.
    /// </summary>
    internal int ChooseSplits(long rowHeads, int visibleKeys, int keysPerTile = 0)
    {
        long target = (long)BlocksPerSm * backend.MultiprocessorCount;
        // A handful of (row, head) blocks (single-stream decode): each split's key walk is a chain of dependent
        // loads, so shorter walks pay more than the extra partials cost to merge. A tiled kernel never gets less
        // than one whole tile per split.
        int minKeys = Math.Max(rowHeads <= 64 ? SmallBatchKeysPerSplit : MinKeysPerSplit, keysPerTile);
        if (rowHeads >= target || visibleKeys < 2 * minKeys) return 1;
        long byOccupancy = (target + rowHeads - 1) / rowHeads;
        long byLength = visibleKeys / minKeys;
        return (int)Math.Clamp(Math.Min(byOccupancy, byLength), 1, MaxSplits);
    }

    private static void Validate(AttentionMetadata m)
    {
        if (m.QueryStartLoc.Length < m.NumSeqs + 1 || m.QueryStartLoc[m.NumSeqs] != m.NumTokens)
            throw new ArgumentException($"cuda attention: QueryStartLoc must have NumSeqs+1 = {m.NumSeqs + 1} entries ending at NumTokens {m.NumTokens}");
        if (m.SeqLens.Length < m.NumSeqs) throw new ArgumentException($"cuda attention: SeqLens has {m.SeqLens.Length} entries for {m.NumSeqs} sequences");
        if (m.SlotMapping.Length < m.NumTokens) throw new ArgumentException($"cuda attention: SlotMapping has {m.SlotMapping.Length} entries for {m.NumTokens} tokens");
        if (m.BlockTables.Length < m.NumSeqs * m.MaxBlocksPerSeq)
            throw new ArgumentException($"cuda attention: BlockTables has {m.BlockTables.Length} entries, needs NumSeqs*MaxBlocksPerSeq = {m.NumSeqs * m.MaxBlocksPerSeq}");
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int q = m.QueryStartLoc[s + 1] - m.QueryStartLoc[s];
            if (q < 0 || q > m.SeqLens[s])
                throw new ArgumentException($"cuda attention: sequence {s} has {q} query tokens but SeqLens {m.SeqLens[s]}");
        }
    }

    private CudaTensor Bf16(Tensor t, string name)
    {
        var c = backend.Own(t, name);
        if (c.DType != DType.BF16) throw new NotSupportedException($"cuda attention: {name} is {c}; this backend computes in BF16");
        return c;
    }

    /// <summary>Device addresses of one step's metadata, stored in <see cref="AttentionMetadata.DeviceState"/>.</summary>
    private sealed record StepState(ulong TokenSeq, ulong QueryStart, ulong SeqLens, ulong BlockTables, ulong Slots,
        int MaxSeqLen, int MaxQueryLen, ulong Tiles, ulong ShortRows, FlashPlan Plan);
}
