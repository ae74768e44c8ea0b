using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Modular.Abstractions;
using Tensor = Modular.Abstractions.Tensor;

namespace Modular.Backends.Cpu;

/// <summary>
/// Paged attention on the host. K and V pools per layer are [slots, kvHeads, headDim] with
/// slot = block * blockSize + offset, so a block table maps a sequence position straight to a row.
/// Each (query token, head) pair is one work item. Pools are F32, or F8E4M3 (one byte an element, scale 1.0):
/// an FP8 pool is encoded on store and each K/V row it reads is decoded into the work item's scratch row, so the
/// math after the decode is the F32 path's.
/// </summary>
internal sealed unsafe class CpuAttention(CpuBackend backend) : IAttentionBackend
{
    public KvCache CreateCache(KvCacheSpec spec)
    {
        if (spec.DType is not (DType.F32 or DType.F8E4M3))
            throw new NotSupportedException($"the cpu backend keeps its KV cache in F32 or F8E4M3, not {spec.DType}");
        return new CpuKvCache(backend, spec);
    }

    public void Prepare(AttentionMetadata metadata) => Validate(metadata);

    public void Forward(int layer, Tensor q, Tensor k, Tensor v, KvCache cache, AttentionMetadata m, in AttentionParams p, Tensor output)
    {
        var kv = cache as CpuKvCache ?? throw new ArgumentException("KV cache was not created by the cpu backend");
        if (kv.IsFp8)
        {
            ForwardFp8(layer, q, k, v, kv, m, p, output);
            return;
        }
        var qs = CpuBackend.Own(q); var ks = CpuBackend.Own(k); var vs = CpuBackend.Own(v); var o = CpuBackend.Own(output);
        int d = p.HeadDim, hk = p.NumKvHeads, hq = p.NumHeads, bs = kv.Spec.BlockSize, rowLen = hk * d;
        float* kPool = kv.K(layer), vPool = kv.V(layer);
        long slots = (long)kv.Spec.NumBlocks * bs;

        // 1. Store the step's new K/V at their slots.
        for (int t = 0; t < m.NumTokens; t++)
        {
            int slot = StoreSlot(m, t, slots);
            if (slot < 0) continue; // padding token
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

    /// <summary>Decoded value of every e4m3 code: one load per element instead of bit arithmetic.</summary>
    private static readonly float[] Fp8Table = BuildFp8Table();

    private static float[] BuildFp8Table()
    {
        var t = new float[256];
        for (int b = 0; b < 256; b++) t[b] = Fp8E4M3.Decode((byte)b);
        return t;
    }

    /// <summary>Per-thread buffers of the FP8 path: softmax scores of a query-head group and one decoded K or V head row.</summary>
    private sealed class Fp8Scratch(int scores, int headDim)
    {
        public float[] Scores = ArrayPool<float>.Shared.Rent(scores);
        public readonly float[] Row = new float[headDim];
    }

    /// <summary>The F32 path's math over byte pools: encode on store, decode each row read.</summary>
    private void ForwardFp8(int layer, Tensor q, Tensor k, Tensor v, CpuKvCache kv, AttentionMetadata m, in AttentionParams p, Tensor output)
    {
        var qs = CpuBackend.Own(q); var ks = CpuBackend.Own(k); var vs = CpuBackend.Own(v); var o = CpuBackend.Own(output);
        int d = p.HeadDim, hk = p.NumKvHeads, hq = p.NumHeads, bs = kv.Spec.BlockSize, rowLen = hk * d;
        byte* kPool = kv.KBytes(layer), vPool = kv.VBytes(layer);
        long slots = (long)kv.Spec.NumBlocks * bs;

        for (int t = 0; t < m.NumTokens; t++)
        {
            int slot = StoreSlot(m, t, slots);
            if (slot < 0) continue; // padding token
            Encode(new ReadOnlySpan<float>(ks.F32 + (long)t * rowLen, rowLen), new Span<byte>(kPool + (long)slot * rowLen, rowLen));
            Encode(new ReadOnlySpan<float>(vs.F32 + (long)t * rowLen, rowLen), new Span<byte>(vPool + (long)slot * rowLen, rowLen));
        }

        // One work item per (query token, KV head): each K/V row is decoded once and serves the whole query-head group.
        int group = hq / hk;
        float scale = p.Scale;
        int window = p.SlidingWindow;
        var meta = m;
        Parallel.For(0, m.NumTokens * hk, backend.Parallel, () => new Fp8Scratch(group * Math.Max(16, meta.MaxSeqLen), d), (item, _, scratch) =>
        {
            int t = item / hk, kvh = item % hk;
            int s = SequenceOf(meta, t);
            int qStart = meta.QueryStartLoc[s], qLen = meta.QueryStartLoc[s + 1] - qStart, seqLen = meta.SeqLens[s];
            int pos = seqLen - qLen + (t - qStart);
            int first = window > 0 ? Math.Max(0, pos - window + 1) : 0;
            int n = pos - first + 1;
            if (scratch.Scores.Length < group * n) { ArrayPool<float>.Shared.Return(scratch.Scores); scratch.Scores = ArrayPool<float>.Shared.Rent(group * n); }
            var scores = scratch.Scores.AsSpan(0, group * n);
            var row = scratch.Row.AsSpan();
            float* qRow = qs.F32 + (long)t * hq * d + kvh * group * d;
            int tableRow = s * meta.MaxBlocksPerSeq;
            for (int j = 0; j < n; j++)
            {
                int key = first + j;
                long slot = (long)meta.BlockTables[tableRow + key / bs] * bs + key % bs;
                Decode(kPool + slot * rowLen + kvh * d, row);
                for (int g = 0; g < group; g++)
                    scores[g * n + j] = TensorPrimitives.Dot(new ReadOnlySpan<float>(qRow + g * d, d), row) * scale;
            }
            for (int g = 0; g < group; g++)
            {
                var sc = scores.Slice(g * n, n);
                TensorPrimitives.SoftMax(sc, sc);
            }
            float* oRow = o.F32 + (long)t * hq * d + kvh * group * d;
            new Span<float>(oRow, group * d).Clear();
            for (int j = 0; j < n; j++)
            {
                int key = first + j;
                long slot = (long)meta.BlockTables[tableRow + key / bs] * bs + key % bs;
                Decode(vPool + slot * rowLen + kvh * d, row);
                for (int g = 0; g < group; g++)
                {
                    var outRow = new Span<float>(oRow + g * d, d);
                    TensorPrimitives.MultiplyAdd(row, scores[g * n + j], outRow, outRow);
                }
            }
            return scratch;
        }, scratch => ArrayPool<float>.Shared.Return(scratch.Scores));
    }

    private static void Encode(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int i = 0; i < src.Length; i++) dst[i] = Fp8E4M3.Encode(src[i]);
    }

    /// <summary>
    /// Decodes one head row. Every query token of a prefill re-reads its sequence's keys, so this runs O(context)
    /// times per row: with AVX2, 8 codes at a time by bit arithmetic (normals: rebias the exponent by 120 and shift
    /// into place; subnormals: man * 2^-9; 0x7F/0xFF: NaN), else through the table.
    /// </summary>
    private static void Decode(byte* src, Span<float> dst)
    {
        int i = 0;
        if (Avx2.IsSupported)
        {
            fixed (float* d = dst)
            {
                var low7 = Vector256.Create(0x7F);
                var nan = Vector256.Create(0x7FC00000);
                var subScale = Vector256.Create(1f / 512);
                for (; i + 8 <= dst.Length; i += 8)
                {
                    var b = Avx2.ConvertToVector256Int32(src + i);
                    var sign = (b & Vector256.Create(0x80)) << 24;
                    var mag = b & low7;
                    var normal = ((mag >> 3) + Vector256.Create(120)) << 23 | (mag & Vector256.Create(7)) << 20;
                    var sub = Vector256.ConvertToSingle(mag).AsInt32();
                    sub = (sub.AsSingle() * subScale).AsInt32();
                    var bits = Vector256.ConditionalSelect(Vector256.LessThan(mag, Vector256.Create(8)), sub, normal);
                    bits = Vector256.ConditionalSelect(Vector256.Equals(mag, low7), nan, bits);
                    (bits | sign).AsSingle().Store(d + i);
                }
            }
        }
        var table = Fp8Table;
        for (; i < dst.Length; i++) dst[i] = table[src[i]];
    }

    /// <summary>The cache slot row <paramref name="t"/> stores into (negative for padding), checked against the pool.</summary>
    private static int StoreSlot(AttentionMetadata m, int t, long slots)
    {
        int slot = m.SlotMapping[t];
        if (slot >= slots) throw new ArgumentOutOfRangeException(nameof(m), $"slot {slot} outside the KV pool ({slots} slots)");
        return slot;
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
