using Modular.Abstractions;
using Modular.Conformance.Reference;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>
/// A multi-step paged-attention workload: each sequence lists how many query tokens it brings to each step
/// (0 = not scheduled yet; a first entry above 1 is a prefill, later ones chunked prefill or decode), so one
/// scenario mixes prefill and decode rows in the same step. Blocks are handed out in a random permutation so
/// block tables are never the identity. Runs on any backend and against the float64 oracle.
/// </summary>
public sealed class AttentionScenario
{
    private readonly int[][] _chunks;
    private readonly float[][] _q, _k, _v;
    private readonly int[][] _blocks;
    private readonly int _numBlocks, _maxBlocksPerSeq, _spareBlock;

    /// <summary>Creates the scenario and draws its data.</summary>
    public AttentionScenario(HostData data, DType act, int hq, int hk, int headDim, int blockSize, int window, params int[][] chunks)
    {
        Hq = hq; Hk = hk; HeadDim = headDim; BlockSize = blockSize; Window = window;
        _chunks = chunks;
        int seqs = chunks.Length;
        _q = new float[seqs][]; _k = new float[seqs][]; _v = new float[seqs][];
        _blocks = new int[seqs][];
        int total = 0;
        for (int s = 0; s < seqs; s++)
        {
            int len = chunks[s].Sum();
            _q[s] = Round(data.Uniform((long)len * hq * headDim, 2f), act);
            _k[s] = Round(data.Uniform((long)len * hk * headDim, 2f), act);
            _v[s] = Round(data.Uniform((long)len * hk * headDim), act);
            _blocks[s] = new int[(len + blockSize - 1) / blockSize];
            total += _blocks[s].Length;
        }
        _numBlocks = total + 3;
        var perm = data.Permutation(_numBlocks);
        int at = 0;
        for (int s = 0; s < seqs; s++)
            for (int i = 0; i < _blocks[s].Length; i++) _blocks[s][i] = perm[at++];
        _spareBlock = perm[at];
        _maxBlocksPerSeq = _blocks.Max(b => b.Length);
        Steps = chunks.Max(c => c.Length);
    }

    public int Hq { get; }
    public int Hk { get; }
    public int HeadDim { get; }
    public int BlockSize { get; }
    public int Window { get; }
    public int Steps { get; }

    /// <summary>When set, the first block of sequence 0 is moved (CopyBlock) to a spare block before the last step.</summary>
    public bool CopyBlockBeforeLastStep { get; init; }

    /// <summary>The KV cache's dtype; null = the backend's activation dtype. With <see cref="DType.F8E4M3"/> the
    /// oracle sees K and V rounded to e4m3 (nearest even, saturating), as the backend stores them.</summary>
    public DType? KvDType { get; init; }

    /// <summary>A power of two V is multiplied by (exact in every dtype); small values reach FP8's subnormals.</summary>
    public float VScale { get; init; } = 1f;

    private float[] V(int s) => VScale == 1f ? _v[s] : _v[s].Select(x => x * VScale).ToArray();

    private float[] StoredK(int s) => KvDType == DType.F8E4M3 ? Fp8Rounded(_k[s]) : _k[s];

    private float[] StoredV(int s) => KvDType == DType.F8E4M3 ? Fp8Rounded(V(s)) : V(s);

    private static float[] Fp8Rounded(float[] x) => x.Select(e => Fp8E4M3.Decode(Fp8E4M3.Encode(e))).ToArray();

    /// <summary>Short description for messages.</summary>
    public string Describe() =>
        $"Hq {Hq} Hk {Hk} D {HeadDim} block {BlockSize} window {Window}{(KvDType is { } kd ? $" kv {kd}" : "")}{(VScale != 1f ? $" vscale {VScale}" : "")} seqs [{string.Join(" ", _chunks.Select(c => "(" + string.Join(",", c) + ")"))}]";

    /// <summary>Runs every step on <paramref name="b"/>; returns all steps' outputs concatenated.</summary>
    public float[] Run(IBackend b)
    {
        var act = b.ActivationDType;
        using var cache = b.Attention.CreateCache(new KvCacheSpec(2, _numBlocks, BlockSize, Hk, HeadDim, KvDType ?? act));
        var vs = Enumerable.Range(0, _chunks.Length).Select(V).ToArray();
        var tables = _blocks.Select(x => (int[])x.Clone()).ToArray();
        var done = new int[_chunks.Length];
        var outputs = new List<float>();
        var p = new AttentionParams(Hq, Hk, HeadDim, 1f / MathF.Sqrt(HeadDim), Window);
        for (int step = 0; step < Steps; step++)
        {
            if (CopyBlockBeforeLastStep && step == Steps - 1)
            {
                cache.CopyBlock(tables[0][0], _spareBlock);
                tables[0][0] = _spareBlock;
            }
            var batch = Batch(step);
            int t = batch.Sum(x => x.Count);
            var meta = Metadata(batch, tables, done);
            var q = new float[t * Hq * HeadDim];
            var k = new float[t * Hk * HeadDim];
            var v = new float[t * Hk * HeadDim];
            int row = 0;
            foreach (var (s, count) in batch)
            {
                Array.Copy(_q[s], (long)done[s] * Hq * HeadDim, q, (long)row * Hq * HeadDim, (long)count * Hq * HeadDim);
                Array.Copy(_k[s], (long)done[s] * Hk * HeadDim, k, (long)row * Hk * HeadDim, (long)count * Hk * HeadDim);
                Array.Copy(vs[s], (long)done[s] * Hk * HeadDim, v, (long)row * Hk * HeadDim, (long)count * Hk * HeadDim);
                row += count;
            }
            using var qt = Put(b, q, act, t, Hq * HeadDim);
            using var kt = Put(b, k, act, t, Hk * HeadDim);
            using var vt = Put(b, v, act, t, Hk * HeadDim);
            using var ot = b.Allocate(act, t, Hq * HeadDim);
            b.Attention.Prepare(meta);
            b.Attention.Forward(1, qt, kt, vt, cache, meta, p, ot);
            outputs.AddRange(Get(ot));
            foreach (var (s, count) in batch) done[s] += count;
        }
        return outputs.ToArray();
    }

    /// <summary>The float64 reference of <see cref="Run"/>.</summary>
    public double[] Reference()
    {
        var done = new int[_chunks.Length];
        var outputs = new List<double>();
        int rowLen = Hq * HeadDim;
        var ks = Enumerable.Range(0, _chunks.Length).Select(StoredK).ToArray();
        var vs = Enumerable.Range(0, _chunks.Length).Select(StoredV).ToArray();
        for (int step = 0; step < Steps; step++)
        {
            var batch = Batch(step);
            var rows = new List<(int Seq, int Pos)>();
            foreach (var (s, count) in batch)
                for (int i = 0; i < count; i++) rows.Add((s, done[s] + i));
            var o = new double[rows.Count * rowLen];
            Parallel.For(0, rows.Count, r =>
            {
                var (s, pos) = rows[r];
                ReferenceAttention.Attend(_q[s].AsSpan(pos * rowLen, rowLen), ks[s], vs[s], pos, Hq, Hk, HeadDim,
                    1.0 / MathF.Sqrt(HeadDim), Window, o.AsSpan(r * rowLen, rowLen));
            });
            outputs.AddRange(o);
            foreach (var (s, count) in batch) done[s] += count;
        }
        return outputs.ToArray();
    }

    private List<(int Seq, int Count)> Batch(int step)
    {
        var batch = new List<(int, int)>();
        for (int s = 0; s < _chunks.Length; s++)
            if (step < _chunks[s].Length && _chunks[s][step] > 0) batch.Add((s, _chunks[s][step]));
        return batch;
    }

    private AttentionMetadata Metadata(List<(int Seq, int Count)> batch, int[][] tables, int[] done)
    {
        int n = batch.Count, t = batch.Sum(x => x.Count);
        var qsl = new int[n + 1];
        var lens = new int[n];
        var bt = new int[n * _maxBlocksPerSeq];
        Array.Fill(bt, -1);
        var slots = new int[t];
        int row = 0, maxQ = 0, maxLen = 0;
        for (int i = 0; i < n; i++)
        {
            var (s, count) = batch[i];
            qsl[i] = row;
            lens[i] = done[s] + count;
            int used = (lens[i] + BlockSize - 1) / BlockSize;
            Array.Copy(tables[s], 0, bt, i * _maxBlocksPerSeq, used);
            for (int j = 0; j < count; j++)
            {
                int pos = done[s] + j;
                slots[row + j] = tables[s][pos / BlockSize] * BlockSize + pos % BlockSize;
            }
            row += count;
            maxQ = Math.Max(maxQ, count);
            maxLen = Math.Max(maxLen, lens[i]);
        }
        qsl[n] = row;
        return new AttentionMetadata
        {
            NumTokens = t, NumSeqs = n, QueryStartLoc = qsl, SeqLens = lens, BlockTables = bt,
            MaxBlocksPerSeq = _maxBlocksPerSeq, SlotMapping = slots, MaxSeqLen = maxLen, MaxQueryLen = maxQ,
        };
    }
}
