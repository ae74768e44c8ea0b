using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Models;
using Modular.Testing;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>
/// Optional capabilities a backend may offer besides the required contracts: device argmax
/// (<see cref="IDeviceArgMax"/>), the fused q|k|v split with rope (<see cref="IFusedQkvKernels"/>), the gate|up
/// product with its activation (<see cref="IFusedGateUpKernels"/>) and replayed decode graphs
/// (<see cref="IGraphCapture"/>), each checked against the plain path it replaces. A backend without the capability
/// skips the test.
/// </summary>
public abstract class CapabilitySuite(BackendFixture fixture) : SuiteBase(fixture)
{
    [Theory, Trait("tier", "optional")]
    [InlineData(5, 128256)]
    [InlineData(3, 1001)]
    public void ArgMaxMatchesHost(int rows, int vocab)
    {
        var b = Target;
        Assert.SkipUnless(b.Kernels is IDeviceArgMax, $"{b.Name} has no device argmax");
        var x = Data.Uniform((long)rows * vocab, 10f);
        // Ties: the smallest index must win, as on the host.
        x[1 * vocab + 7] = 50f; x[1 * vocab + 3] = 50f; x[1 * vocab + vocab - 1] = 50f;
        for (int i = 0; i < vocab; i++) x[2 * vocab + i] = -1f;
        using var t = Put(b, x, DType.F32, rows, vocab);
        using var ids = b.Allocate(DType.I32, rows);
        ((IDeviceArgMax)b.Kernels).ArgMax(t, ids);
        var got = new int[rows];
        b.DownloadI32(ids, got);
        var want = new int[rows];
        for (int r = 0; r < rows; r++) want[r] = System.Numerics.Tensors.TensorPrimitives.IndexOfMax(x.AsSpan(r * vocab, vocab));
        Checks.Exact<int>(b.Name, "ArgMax", Checks.Dims(rows, vocab), got, want);
    }

    [Theory, Trait("tier", "optional")]
    [InlineData(9, 4, 2, 64, 64)]
    [InlineData(5, 8, 2, 128, 128)]
    [InlineData(3, 6, 2, 64, 32)]
    public void SplitQkvRopeMatchesRope(int tokens, int hq, int hk, int headDim, int rot)
    {
        var b = Target;
        Assert.SkipUnless(b.Kernels is IFusedQkvKernels, $"{b.Name} has no fused q|k|v split");
        int width = (hq + 2 * hk) * headDim, maxPos = 64;
        var qkv = Round(Data.Uniform((long)tokens * width), Act);
        var positions = Data.Ints(tokens, maxPos);
        var table = KernelSuite.CosSinTable(maxPos, rot, 10000);
        float[] Part(int offset, int heads)
        {
            var r = new float[tokens * heads * headDim];
            for (int t = 0; t < tokens; t++) Array.Copy(qkv, t * width + offset * headDim, r, t * heads * headDim, heads * headDim);
            return r;
        }
        using var cs = Put(b, table, DType.F32, maxPos, rot);
        using var pos = PutInts(b, positions, tokens);
        using var src = Put(b, qkv, Act, tokens, width);
        using var q = b.Allocate(Act, tokens, hq * headDim);
        using var k = b.Allocate(Act, tokens, hk * headDim);
        using var v = b.Allocate(Act, tokens, hk * headDim);
        ((IFusedQkvKernels)b.Kernels).SplitQkvRope(src, pos, cs, headDim, q, k, v);
        using var qRef = Put(b, Part(0, hq), Act, tokens, hq * headDim);
        using var kRef = Put(b, Part(hq, hk), Act, tokens, hk * headDim);
        b.Kernels.Rope(qRef, kRef, pos, cs, headDim);
        string shape = $"T {tokens} Hq {hq} Hk {hk} D {headDim} rot {rot}";
        double tol = Tolerance.For(Act);
        Checks.Close(b.Name, "SplitQkvRope.q vs Rope", shape, Get(q), Get(qRef), tol);
        Checks.Close(b.Name, "SplitQkvRope.k vs Rope", shape, Get(k), Get(kRef), tol);
        Checks.Exact<float>(b.Name, "SplitQkvRope.v", shape, Get(v), Part(hq + hk, hk));
    }

    /// <summary>
    /// The split that stores k/v into the cache itself (<see cref="IFusedQkvStore"/>) against the split into k/v
    /// tensors followed by Forward's own store: a sequence of <paramref name="tokens"/> tokens after a cached prefix,
    /// written to layer 1 of two caches, then attended with <see cref="AttentionParams.KvStored"/> set on the fused
    /// one. q and the attention outputs must be identical (same rope, same rows in the cache), bf16 and FP8 caches.
    /// Decode-sized steps spread a token's heads over several blocks on the cuda backend; 70 tokens do not.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(1, 8, 2, 128, 128, false)]
    [InlineData(5, 6, 2, 64, 32, false)]
    [InlineData(70, 8, 2, 128, 128, false)]
    [InlineData(1, 8, 2, 128, 128, true)]
    [InlineData(37, 4, 2, 64, 64, true)]
    public void SplitQkvRopeStoreMatchesUnfused(int tokens, int hq, int hk, int headDim, int rot, bool fp8)
    {
        var b = Target;
        Assert.SkipUnless(b.Attention is IFusedQkvStore && b.Kernels is IFusedQkvKernels, $"{b.Name} has no fused q|k|v split with KV store");
        var kvType = fp8 ? DType.F8E4M3 : Act;
        const int blockSize = 16, prefix = 40, layer = 1;
        int len = prefix + tokens, blocks = (len + blockSize - 1) / blockSize, width = (hq + 2 * hk) * headDim, maxPos = 128;
        KvCache NewCache() => b.Attention.CreateCache(new KvCacheSpec(2, blocks, blockSize, hk, headDim, kvType));
        try
        {
            NewCache().Dispose();
        }
        catch (NotSupportedException e)
        {
            Assert.Skip($"{b.Name} has no {kvType} KV cache for head dim {headDim}: {e.Message}");
        }
        var table = KernelSuite.CosSinTable(maxPos, rot, 10000);
        using var cs = Put(b, table, DType.F32, maxPos, rot);
        using var fusedCache = NewCache();
        using var plainCache = NewCache();
        var attention = new AttentionParams(hq, hk, headDim, 1f / MathF.Sqrt(headDim), 0);
        // Step 1 fills the prefix through the plain path in both caches; step 2 (the tokens under test) differs.
        float[] Step(int start, int count, KvCache cache, bool fused, out float[] q)
        {
            var meta = new AttentionMetadata
            {
                NumTokens = count, NumSeqs = 1, QueryStartLoc = [0, count], SeqLens = [start + count],
                BlockTables = Enumerable.Range(0, blocks).ToArray(), MaxBlocksPerSeq = blocks,
                SlotMapping = Enumerable.Range(start, count).ToArray(), MaxSeqLen = start + count, MaxQueryLen = count,
            };
            var data = new HostData($"qkv-store-{tokens}-{start}");
            using var src = Put(b, Round(data.Uniform((long)count * width), Act), Act, count, width);
            using var pos = PutInts(b, Enumerable.Range(start, count).ToArray(), count);
            using var qt = b.Allocate(Act, count, hq * headDim);
            using var kt = b.Allocate(Act, count, hk * headDim);
            using var vt = b.Allocate(Act, count, hk * headDim);
            using var o = b.Allocate(Act, count, hq * headDim);
            b.Attention.Prepare(meta);
            bool stored = fused && ((IFusedQkvStore)b.Attention).TrySplitQkvRopeStore(layer, src, pos, cs, headDim, qt, cache, meta);
            if (fused) Assert.True(stored, $"{b.Name} declined the fused split + store");
            if (!stored) ((IFusedQkvKernels)b.Kernels).SplitQkvRope(src, pos, cs, headDim, qt, kt, vt);
            b.Attention.Forward(layer, qt, kt, vt, cache, meta, attention with { KvStored = stored }, o);
            q = Get(qt);
            return Get(o);
        }
        Step(0, prefix, fusedCache, false, out _);
        Step(0, prefix, plainCache, false, out _);
        var got = Step(prefix, tokens, fusedCache, true, out var qFused);
        var want = Step(prefix, tokens, plainCache, false, out var qPlain);
        string shape = $"T {tokens} after {prefix} Hq {hq} Hk {hk} D {headDim} rot {rot} {kvType}";
        Checks.Exact<float>(b.Name, "SplitQkvRopeStore.q", shape, qFused, qPlain);
        Checks.Exact<float>(b.Name, "SplitQkvRopeStore attention", shape, got, want);
    }

    /// <summary>
    /// The fused gate|up product against act(x Wg^T) * (x Wu^T) in double precision. A backend may decline a shape
    /// (the test then says so and skips); one that takes it must match within the activation dtype's tolerance.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(1, 4096, 1408, Activation.Silu)]
    [InlineData(3, 512, 300, Activation.GeluTanh)]
    [InlineData(4, 1000, 77, Activation.Silu)]
    [InlineData(2, 264, 64, Activation.Gelu)]
    public void LinearActAndMulMatchesUnfused(int tokens, int k, int inter, Activation activation)
    {
        var b = Target;
        Assert.SkipUnless(b.Kernels is IFusedGateUpKernels, $"{b.Name} has no fused gate|up activation");
        var x = Round(Data.Uniform((long)tokens * k), Act);
        var w = Round(Data.Uniform((long)2 * inter * k, 2f / MathF.Sqrt(k)), Weight);
        using var xt = Put(b, x, b.ActivationDType, tokens, k);
        using var wt = Put(b, w, b.WeightDType(DType.BF16), 2 * inter, k);
        using var o = b.Allocate(b.ActivationDType, tokens, inter);
        bool taken = ((IFusedGateUpKernels)b.Kernels).TryLinearActAndMul(xt, wt, activation, o);
        Assert.SkipUnless(taken, $"{b.Name} declines the fused gate|up for T {tokens} K {k} I {inter}");
        var gateUp = Reference.ReferenceOps.Linear(x, w, null, k, 2 * inter);
        var want = new double[tokens * inter];
        for (int t = 0; t < tokens; t++)
            for (int j = 0; j < inter; j++)
                want[t * inter + j] = Reference.ReferenceOps.Act(gateUp[t * 2 * inter + j], activation) * gateUp[t * 2 * inter + inter + j];
        Checks.Close(b.Name, $"LinearActAndMul.{activation}", $"x {Checks.Dims(tokens, k)} gateUp {Checks.Dims(2 * inter, k)}",
            Get(o), want, Tolerance.For(Act));
    }

    /// <summary>
    /// A batch of three sequences (prefill, then 12 decode steps with fixed next tokens) through two runners on the
    /// same weights: decode graphs off, then on (three steps padded to four rows and replayed). The logits of every
    /// step must agree within the activation dtype's tolerance.
    /// </summary>
    [Fact, Trait("tier", "optional")]
    public void DecodeGraphsMatchDirectSteps()
    {
        var b = Target;
        Assert.SkipUnless(b is IGraphCapture && b.Attention is IGraphAttention, $"{b.Name} cannot capture decode graphs");
        using var model = TransformerModel.Load(Fixtures.BundledModel, b);
        int vocab = model.Config.VocabSize;
        int[] prompt = [7, 19, 4];
        var tokens = new int[3][];
        for (int s = 0; s < 3; s++) tokens[s] = Data.Ints(prompt[s] + 12, vocab);
        float[][] RunAll(bool graphs)
        {
            var old = Environment.GetEnvironmentVariable("MODULAR_GRAPHS");
            Environment.SetEnvironmentVariable("MODULAR_GRAPHS", graphs ? "1" : "0");
            try
            {
                using var runner = ModelRunner.Create(model, 3 * 4, 16);
                Assert.Equal(graphs, runner.UsesGraphs);
                var steps = new List<float[]>();
                int[] done = [0, 0, 0];
                // Step 0: all three prompts in one mixed prefill step.
                steps.Add(Step(runner, tokens, done, prompt));
                for (int d = 0; d < 12; d++) steps.Add(Step(runner, tokens, done, [1, 1, 1]));
                if (graphs) Assert.True(runner.GraphReplays > 0, "no decode step was replayed from a graph");
                return steps.ToArray();
            }
            finally { Environment.SetEnvironmentVariable("MODULAR_GRAPHS", old); }
        }
        var direct = RunAll(false);
        var replayed = RunAll(true);
        double tol = Tolerance.For(Act);
        for (int i = 0; i < direct.Length; i++)
            Checks.Close(b.Name, "DecodeGraph logits", $"bard-2m, 3 sequences, step {i}", replayed[i], direct[i], tol);
    }

    private static float[] Step(ModelRunner runner, int[][] tokens, int[] done, int[] counts)
    {
        int seqs = counts.Length, total = 0;
        foreach (var c in counts) total += c;
        var ids = new int[total]; var pos = new int[total]; var slots = new int[total];
        var qsl = new int[seqs + 1]; var lens = new int[seqs]; var rows = new int[seqs];
        const int perSeq = 4, bs = 16;
        var tables = new int[seqs * perSeq];
        for (int i = 0; i < tables.Length; i++) tables[i] = i;
        int at = 0;
        for (int s = 0; s < seqs; s++)
        {
            for (int j = 0; j < counts[s]; j++, at++)
            {
                int p = done[s] + j;
                ids[at] = tokens[s][p]; pos[at] = p; slots[at] = tables[s * perSeq + p / bs] * bs + p % bs;
            }
            done[s] += counts[s];
            qsl[s + 1] = at; lens[s] = done[s]; rows[s] = at - 1;
        }
        var meta = new AttentionMetadata
        {
            NumTokens = total, NumSeqs = seqs, QueryStartLoc = qsl, SeqLens = lens, BlockTables = tables,
            MaxBlocksPerSeq = perSeq, SlotMapping = slots,
        };
        var logits = new float[seqs * runner.VocabSize];
        runner.Execute(new ForwardBatch { TokenIds = ids, Positions = pos, Attention = meta, LogitRows = rows }, logits);
        return logits;
    }
}
