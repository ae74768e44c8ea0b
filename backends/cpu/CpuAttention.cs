using System.Buffers;
using System.Numerics.Tensors;
using Modular.Abstractions;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Cpu;

/// <summary>
/// Paged attention on the host. K and V pools per layer are [slots, kvHeads, headDim] with
/// slot = block * blockSize + offset, so a block table maps a sequence position straight to a row.
/// Each (query token, head) pair is one work item.
/// </summary>
internal sealed unsafe class CpuAttention(CpuBackend backend) : IAttentionBackend
{
    public KvCache CreateCache(KvCacheSpec spec)
    {
        if (spec.DType != DType.F32) throw new NotSupportedException($"the cpu backend keeps its KV cache in F32, not {spec.DType}");
        return new CpuKvCache(backend, spec);
    }

    public void Prepare(AttentionMetadata metadata) => Validate(metadata);

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata m, in AttentionParams p, Tensor output)
    {
        var kv = cache as CpuKvCache ?? throw new ArgumentException("KV cache was not created by the cpu backend");
        var qs = CpuBackend.Own(q); var ks = CpuBackend.Own(k); var vs = CpuBackend.Own(v); var o = CpuBackend.Own(output);
        int d = p.HeadDim, hk = p.NumKvHeads, hq = p.NumHeads, bs = kv.Spec.BlockSize, rowLen = hk * d;
        float* kPool = kv.K(layer), vPool = kv.V(layer);
        long slots = (long)kv.Spec.NumBlocks * bs;

        // 1. Store the step's new K/V at their slots.
        for (int t = 0; t < m.NumTokens; t++)
        {
            int slot = m.SlotMapping[t];
            if (slot < 0) continue; // padding token
            if (slot >= slots) throw new ArgumentOutOfRangeException(nameof(m), $"slot {slot} outside the KV pool ({slots} slots)");
            new Span<float>(ks.F32 + (long)t * rowLen, rowLen).CopyTo(new Span<float>(kPool + (long)slot * rowLen, rowLen));
            new Span<float>(vs.F32 + (long)t * rowLen, rowLen).CopyTo(new Span<float>(vPool + (long)slot * rowLen, rowLen));
        }

        // 2. Attend: query token i of sequence s sits at position seqLen - queryLen + i and sees keys up to it.
        int group = hq / hk;
        float scale = p.Scale;
        int window = p.SlidingWindow;
        var meta = m;
        Parallel.For(0, m.NumTokens * hq, backend.Parallel, () => ArrayPool<float>.Shared.Rent(Math.Max(16, meta.MaxSeqLen)), (item, _, scores) =>
        {
            int t = item / hq, h = item % hq, kvh = h / group;
            int s = SequenceOf(meta, t);
            int qStart = meta.QueryStartLoc[s], qLen = meta.QueryStartLoc[s + 1] - qStart, seqLen = meta.SeqLens[s];
            int pos = seqLen - qLen + (t - qStart);
            int first = window > 0 ? Math.Max(0, pos - window + 1) : 0;
            int n = pos - first + 1;
            if (scores.Length < n) { ArrayPool<float>.Shared.Return(scores); scores = ArrayPool<float>.Shared.Rent(n); }
            var qv = new ReadOnlySpan<float>(qs.F32 + (long)t * hq * d + h * d, d);
            int tableRow = s * meta.MaxBlocksPerSeq;
            for (int j = 0; j < n; j++)
            {
                int key = first + j;
                long slot = (long)meta.BlockTables[tableRow + key / bs] * bs + key % bs;
                scores[j] = TensorPrimitives.Dot(qv, new ReadOnlySpan<float>(kPool + slot * rowLen + kvh * d, d)) * scale;
            }
            var sc = scores.AsSpan(0, n);
            TensorPrimitives.SoftMax(sc, sc);
            var outRow = new Span<float>(o.F32 + (long)t * hq * d + h * d, d);
            outRow.Clear();
            for (int j = 0; j < n; j++)
            {
                int key = first + j;
                long slot = (long)meta.BlockTables[tableRow + key / bs] * bs + key % bs;
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(vPool + slot * rowLen + kvh * d, d), sc[j], outRow, outRow);
            }
            return scores;
        }, scores => ArrayPool<float>.Shared.Return(scores));
    }

    /// <summary>Binary search of the query row in QueryStartLoc.</summary>
    private static int SequenceOf(AttentionMetadata m, int t)
    {
        int lo = 0, hi = m.NumSeqs - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (m.QueryStartLoc[mid] <= t) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    private static void Validate(AttentionMetadata m)
    {
        if (m.QueryStartLoc.Length != m.NumSeqs + 1 || m.QueryStartLoc[m.NumSeqs] != m.NumTokens)
            throw new ArgumentException("QueryStartLoc must have NumSeqs+1 entries ending at NumTokens");
        if (m.SeqLens.Length != m.NumSeqs || m.SlotMapping.Length != m.NumTokens)
            throw new ArgumentException("SeqLens/SlotMapping lengths disagree with NumSeqs/NumTokens");
        for (int s = 0; s < m.NumSeqs; s++)
        {
            int qLen = m.QueryStartLoc[s + 1] - m.QueryStartLoc[s];
            if (qLen < 0 || qLen > m.SeqLens[s]) throw new ArgumentException($"sequence {s}: {qLen} query tokens but context {m.SeqLens[s]}");
            if (m.SeqLens[s] > m.MaxSeqLen) throw new ArgumentException($"sequence {s}: SeqLens above MaxSeqLen");
        }
    }
}

/// <summary>Host KV pools: per layer, K and V arrays of [NumBlocks * BlockSize, KvHeads, HeadDim] floats.</summary>
internal sealed unsafe class CpuKvCache : KvCache
{
    private readonly CpuTensor[] _k, _v;

    public CpuKvCache(CpuBackend backend, KvCacheSpec spec) : base(spec)
    {
        _k = new CpuTensor[spec.NumLayers];
        _v = new CpuTensor[spec.NumLayers];
        for (int l = 0; l < spec.NumLayers; l++)
        {
            _k[l] = (CpuTensor)backend.Allocate(DType.F32, spec.NumBlocks * spec.BlockSize, spec.NumKvHeads * spec.HeadDim);
            _v[l] = (CpuTensor)backend.Allocate(DType.F32, spec.NumBlocks * spec.BlockSize, spec.NumKvHeads * spec.HeadDim);
        }
    }

    public float* K(int layer) => _k[layer].F32;
    public float* V(int layer) => _v[layer].F32;

    public override void CopyBlock(int src, int dst)
    {
        int bs = Spec.BlockSize;
        for (int l = 0; l < Spec.NumLayers; l++)
        {
            _k[l].Slice(src * bs, bs).Backend.Copy(_k[l].Slice(src * bs, bs), _k[l].Slice(dst * bs, bs));
            _v[l].Backend.Copy(_v[l].Slice(src * bs, bs), _v[l].Slice(dst * bs, bs));
        }
    }

    public override void Dispose()
    {
        foreach (var t in _k) t.Dispose();
        foreach (var t in _v) t.Dispose();
    }
}
