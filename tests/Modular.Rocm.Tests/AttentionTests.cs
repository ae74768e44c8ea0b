using Modular.Abstractions;
using Modular.Backends.Rocm;
using static Modular.Rocm.Tests.HostTensors;

namespace Modular.Rocm.Tests;

/// <summary>
/// Paged attention against the CPU backend over the same block layout: a prefill step, then a mixed step with a
/// fresh prefill, a decode token and a chunked-prefill continuation, with GQA, a sliding window, blocks scattered
/// through the pool, and copy-on-write of a block.
/// </summary>
public class AttentionTests(RocmFixture fx)
{
    private const int BlockSize = 4, NumBlocks = 24, Hq = 4, Hk = 2, D = 32;

    public static TheoryData<string, int, bool> Cases => new()
    {
        { "opencl", 0, true }, { "opencl", 6, true }, { "opencl", 6, false }, { "cpu", 5, true },
    };

    /// <summary>Block tables of three sequences, blocks handed out in a shuffled order.</summary>
    private static int[][] Tables()
    {
        var ids = Enumerable.Range(0, NumBlocks).ToArray();
        new Random(11).Shuffle(ids);
        return [ids[0..6], ids[6..12], ids[12..18]];
    }

    /// <summary>One step of the default layout (blocks of <see cref="BlockSize"/>, tables padded to 6 blocks).</summary>
    private static AttentionMetadata Step(int[][] tables, params (int Seq, int Cached, int New)[] runs) => Step(tables, BlockSize, 6, runs);

    /// <summary>One step: sequences (table, cached tokens, new tokens) laid back to back, tables padded with -1.</summary>
    private static AttentionMetadata Step(int[][] tables, int blockSize, int maxBlocks, params (int Seq, int Cached, int New)[] runs)
    {
        var qsl = new List<int> { 0 };
        var lens = new List<int>();
        var slots = new List<int>();
        var bt = new List<int>();
        foreach (var (seq, cached, fresh) in runs)
        {
            qsl.Add(qsl[^1] + fresh);
            lens.Add(cached + fresh);
            for (int p = cached; p < cached + fresh; p++) slots.Add(tables[seq][p / blockSize] * blockSize + p % blockSize);
            for (int i = 0; i < maxBlocks; i++) bt.Add(i < tables[seq].Length ? tables[seq][i] : -1);
        }
        return new AttentionMetadata
        {
            NumTokens = qsl[^1], NumSeqs = runs.Length, QueryStartLoc = qsl.ToArray(), SeqLens = lens.ToArray(),
            BlockTables = bt.ToArray(), MaxBlocksPerSeq = maxBlocks, SlotMapping = slots.ToArray(),
            MaxSeqLen = lens.Max(), MaxQueryLen = runs.Max(r => r.New),
        };
    }

    /// <summary>Runs both steps (2 layers each, layer 1 with other data) and returns every output.</summary>
    private static List<float[]> Run(IBackend b, int window, bool copyBlock)
    {
        var rng = new Random(12);
        var tables = Tables();
        var steps = new[]
        {
            Step(tables, (1, 0, 19), (2, 0, 13)),
            Step(tables, (0, 0, 7), (1, 19, 1), (2, 13, 5)),
        };
        var outs = new List<float[]>();
        using var cache = b.Attention.CreateCache(new KvCacheSpec(2, NumBlocks, BlockSize, Hk, D, b.ActivationDType));
        var p = new AttentionParams(Hq, Hk, D, 1f / MathF.Sqrt(D), window);
        foreach (var m in steps)
        {
            int t = m.NumTokens;
            b.Attention.Prepare(m);
            for (int layer = 0; layer < 2; layer++)
            {
                using var q = Act(b, Uniform(rng, t * Hq * D), t, Hq * D);
                using var k = Act(b, Uniform(rng, t * Hk * D), t, Hk * D);
                using var v = Act(b, Uniform(rng, t * Hk * D), t, Hk * D);
                using var o = b.Allocate(b.ActivationDType, t, Hq * D);
                b.Attention.Forward(layer, q, k, v, cache, m, p, o);
                outs.Add(Get(o));
            }
            if (copyBlock)
            {
                // Copy-on-write: sequence 1's first block moves to a spare block; attention must not notice.
                int spare = Enumerable.Range(0, NumBlocks).First(i => !tables.Any(tb => tb.Contains(i)));
                cache.CopyBlock(tables[1][0], spare);
                tables[1][0] = spare;
                steps[1] = Step(tables, (0, 0, 7), (1, 19, 1), (2, 13, 5));
                copyBlock = false;
            }
        }
        return outs;
    }

    [Theory, MemberData(nameof(Cases))]
    public void MixedPrefillDecodeChunkedMatchesCpu(string tier, int window, bool tiled)
    {
        var target = (RocmBackend)fx.Tier(tier);
        var expected = Run(fx.Cpu, window, copyBlock: false);
        bool saved = target.TiledAttention;
        List<float[]> actual;
        try
        {
            target.TiledAttention = tiled;
            actual = Run(target, window, copyBlock: true);
        }
        finally
        {
            target.TiledAttention = saved;
        }
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            double err = RelError(actual[i], expected[i]);
            Assert.True(err <= 2e-5, $"step {i / 2} layer {i % 2} window {window} tiled {tiled} on {target.Info.Name}: relative error {err:E2}");
        }
    }

    /// <summary>
    /// Prompts longer than one query tile and one key tile of the tiled kernel (32 each at head dim 64): a prefill
    /// of 75 and 40 tokens, then a chunk of 30 more for the first next to a decode token of the second.
    /// </summary>
    [Theory]
    [InlineData("opencl", 0)]
    [InlineData("opencl", 37)]
    [InlineData("cpu", 0)]
    public void LongPromptsAcrossTilesMatchCpu(string tier, int window)
    {
        const int hq = 4, hk = 1, d = 64, bs = 8, perSeq = 16;
        int[][] tables = [Enumerable.Range(0, perSeq).Select(i => 2 * i).ToArray(), Enumerable.Range(0, perSeq).Select(i => 2 * i + 1).ToArray()];
        List<float[]> Go(IBackend b)
        {
            var rng = new Random(21);
            var outs = new List<float[]>();
            using var cache = b.Attention.CreateCache(new KvCacheSpec(1, 2 * perSeq, bs, hk, d, b.ActivationDType));
            var p = new AttentionParams(hq, hk, d, 1f / MathF.Sqrt(d), window);
            foreach (var m in new[] { Step(tables, bs, perSeq, (0, 0, 75), (1, 0, 40)), Step(tables, bs, perSeq, (0, 75, 30), (1, 40, 1)) })
            {
                int t = m.NumTokens;
                b.Attention.Prepare(m);
                using var q = Act(b, Uniform(rng, t * hq * d, scale: 2f), t, hq * d);
                using var k = Act(b, Uniform(rng, t * hk * d, scale: 2f), t, hk * d);
                using var v = Act(b, Uniform(rng, t * hk * d), t, hk * d);
                using var o = b.Allocate(b.ActivationDType, t, hq * d);
                b.Attention.Forward(0, q, k, v, cache, m, p, o);
                outs.Add(Get(o));
            }
            return outs;
        }
        var target = fx.Tier(tier);
        var expected = Go(fx.Cpu);
        var actual = Go(target);
        for (int i = 0; i < expected.Count; i++)
        {
            double err = RelError(actual[i], expected[i]);
            Assert.True(err <= 2e-5, $"step {i} window {window} on {target.Info.Name}: relative error {err:E2}");
        }
    }

    [Fact]
    public void ForwardWithoutPrepareSaysSo()
    {
        var b = fx.OpenCL;
        using var cache = b.Attention.CreateCache(new KvCacheSpec(1, 4, BlockSize, Hk, D, DType.F32));
        var m = Step(Tables(), (0, 0, 2));
        using var q = b.Allocate(DType.F32, 2, Hq * D);
        using var kv = b.Allocate(DType.F32, 2, Hk * D);
        var e = Assert.Throws<InvalidOperationException>(() =>
            b.Attention.Forward(0, q, kv, kv, cache, m, new AttentionParams(Hq, Hk, D, 1f, 0), q));
        Assert.Contains("Prepare", e.Message);
    }

    [Fact]
    public void Fp8CacheIsRefusedNamingTheBackendsThatHaveIt()
    {
        var b = fx.Simulator;
        var e = Assert.Throws<NotSupportedException>(() => b.Attention.CreateCache(new KvCacheSpec(1, 4, BlockSize, Hk, D, DType.F8E4M3)));
        Assert.Contains("F8E4M3", e.Message);
        Assert.Contains("cpu and cuda", e.Message);
    }
}
