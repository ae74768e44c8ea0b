using System.Diagnostics;
using Modular.Abstractions;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>
/// Perf tier (runs when MODULAR_PERF=1): median wall time of representative ops at Llama-8B-like sizes, with a
/// synchronize around each repetition, printed to the test output and the conformance log. Not pass/fail.
/// </summary>
public abstract class PerfSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private const int Hidden = 4096, Inter = 14336, Heads = 32, KvHeads = 8, HeadDim = 128;

    private IBackend PerfTarget()
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("MODULAR_PERF") == "1", "perf tier runs only with MODULAR_PERF=1");
        return Target;
    }

    private double Median(IBackend b, Action op, int repeats)
    {
        op(); b.Synchronize();
        var times = new double[repeats];
        for (int i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            op();
            b.Synchronize();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }

    private void Report(string op, string shape, double ms, double bytes, double flops)
    {
        string rate = $"{bytes / ms / 1e6:F1} GB/s, {flops / ms / 1e9:F2} TFLOP/s";
        Checks.Note($"perf {Target.Name}\t{op}\t{shape}\t{ms:F4} ms\t{rate}");
    }

    [Theory, Trait("tier", "perf")]
    [InlineData(1, Hidden, Hidden)]
    [InlineData(1, 2 * Inter, Hidden)]
    [InlineData(128, Hidden, Hidden)]
    [InlineData(2048, 2 * Inter, Hidden)]
    public void Linear(int tokens, int n, int k)
    {
        var b = PerfTarget();
        using var x = Put(b, Data.Uniform((long)tokens * k), b.ActivationDType, tokens, k);
        using var w = Put(b, Data.Uniform((long)n * k, 0.01f), b.WeightDType(DType.BF16), n, k);
        using var o = b.Allocate(b.ActivationDType, tokens, n);
        double ms = Median(b, () => b.Kernels.Linear(x, w, null, o), 20);
        int es = DTypes.SizeOf(b.ActivationDType);
        Report("Linear", $"[{tokens},{k}]x[{n},{k}]^T", ms, ((double)n * k + (double)tokens * (k + n)) * es, 2.0 * tokens * n * k);
    }

    [Theory, Trait("tier", "perf")]
    [InlineData(1)]
    [InlineData(2048)]
    public void AddRmsNorm(int tokens)
    {
        var b = PerfTarget();
        using var x = Put(b, Data.Uniform((long)tokens * Hidden), b.ActivationDType, tokens, Hidden);
        using var r = Put(b, Data.Uniform((long)tokens * Hidden), b.ActivationDType, tokens, Hidden);
        using var w = Put(b, Data.Uniform(Hidden), b.WeightDType(DType.BF16), Hidden);
        using var o = b.Allocate(b.ActivationDType, tokens, Hidden);
        double ms = Median(b, () => b.Kernels.AddRmsNorm(x, r, w, 1e-5f, 0, o), 20);
        Report("AddRmsNorm", $"[{tokens},{Hidden}]", ms, 4.0 * tokens * Hidden * DTypes.SizeOf(b.ActivationDType), 0);
    }

    [Theory, Trait("tier", "perf")]
    [InlineData(1, 1024)]
    [InlineData(32, 1024)]
    [InlineData(128, 512)]
    [InlineData(1, 8192)]
    public void DecodeAttention(int seqs, int context)
    {
        var b = PerfTarget();
        int blockSize = 16, blocksPer = (context + blockSize) / blockSize;
        using var cache = b.Attention.CreateCache(new KvCacheSpec(1, seqs * blocksPer, blockSize, KvHeads, HeadDim, b.ActivationDType));
        var tables = new int[seqs * blocksPer];
        for (int i = 0; i < tables.Length; i++) tables[i] = i;
        var qsl = new int[seqs + 1];
        var lens = new int[seqs];
        var slots = new int[seqs];
        for (int s = 0; s < seqs; s++) { qsl[s + 1] = s + 1; lens[s] = context; slots[s] = s * blocksPer * blockSize + context - 1; }
        var meta = new AttentionMetadata
        {
            NumTokens = seqs, NumSeqs = seqs, QueryStartLoc = qsl, SeqLens = lens, BlockTables = tables,
            MaxBlocksPerSeq = blocksPer, SlotMapping = slots, MaxSeqLen = context, MaxQueryLen = 1,
        };
        using var q = Put(b, Data.Uniform((long)seqs * Heads * HeadDim), b.ActivationDType, seqs, Heads * HeadDim);
        using var k = Put(b, Data.Uniform((long)seqs * KvHeads * HeadDim), b.ActivationDType, seqs, KvHeads * HeadDim);
        using var v = Put(b, Data.Uniform((long)seqs * KvHeads * HeadDim), b.ActivationDType, seqs, KvHeads * HeadDim);
        using var o = b.Allocate(b.ActivationDType, seqs, Heads * HeadDim);
        var p = new AttentionParams(Heads, KvHeads, HeadDim, 1f / MathF.Sqrt(HeadDim), 0);
        b.Attention.Prepare(meta);
        double ms = Median(b, () => b.Attention.Forward(0, q, k, v, cache, meta, p, o), 20);
        double kvBytes = 2.0 * seqs * context * KvHeads * HeadDim * DTypes.SizeOf(b.ActivationDType);
        Report("DecodeAttention", $"{seqs} seqs x {context} ctx, Hq {Heads} Hk {KvHeads} D {HeadDim}", ms, kvBytes,
            4.0 * seqs * context * Heads * HeadDim);
    }

    [Fact, Trait("tier", "perf")]
    public void PrefillAttention()
    {
        var b = PerfTarget();
        int tokens = 2048, blockSize = 16, blocks = tokens / blockSize;
        using var cache = b.Attention.CreateCache(new KvCacheSpec(1, blocks, blockSize, KvHeads, HeadDim, b.ActivationDType));
        var slots = new int[tokens];
        for (int i = 0; i < tokens; i++) slots[i] = i;
        var tables = new int[blocks];
        for (int i = 0; i < blocks; i++) tables[i] = i;
        var meta = new AttentionMetadata
        {
            NumTokens = tokens, NumSeqs = 1, QueryStartLoc = [0, tokens], SeqLens = [tokens], BlockTables = tables,
            MaxBlocksPerSeq = blocks, SlotMapping = slots, MaxSeqLen = tokens, MaxQueryLen = tokens,
        };
        using var q = Put(b, Data.Uniform((long)tokens * Heads * HeadDim), b.ActivationDType, tokens, Heads * HeadDim);
        using var k = Put(b, Data.Uniform((long)tokens * KvHeads * HeadDim), b.ActivationDType, tokens, KvHeads * HeadDim);
        using var v = Put(b, Data.Uniform((long)tokens * KvHeads * HeadDim), b.ActivationDType, tokens, KvHeads * HeadDim);
        using var o = b.Allocate(b.ActivationDType, tokens, Heads * HeadDim);
        var p = new AttentionParams(Heads, KvHeads, HeadDim, 1f / MathF.Sqrt(HeadDim), 0);
        b.Attention.Prepare(meta);
        double ms = Median(b, () => b.Attention.Forward(0, q, k, v, cache, meta, p, o), 5);
        Report("PrefillAttention", $"1 seq x {tokens} tokens causal, Hq {Heads} Hk {KvHeads} D {HeadDim}", ms,
            0, 2.0 * tokens * tokens * Heads * HeadDim);
    }
}
