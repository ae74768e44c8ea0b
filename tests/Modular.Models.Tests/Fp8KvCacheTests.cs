using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Models;

namespace Modular.Models.Tests;

/// <summary>
/// The CPU backend's FP8 (e4m3, scale 1.0) KV cache: attention over it must equal attention over an F32 cache fed
/// K/V that were rounded through <see cref="Fp8E4M3"/> first, and CopyBlock must carry the codes.
/// </summary>
public sealed class Fp8KvCacheTests : IDisposable
{
    // GQA: 4 query heads share 2 KV heads; blocks of 4 slots so every sequence spans 2+ blocks.
    private const int Hq = 4, Hk = 2, D = 16, BlockSize = 4, NumBlocks = 8, MaxBlocksPerSeq = 3;
    private static readonly AttentionParams Params = new(Hq, Hk, D, 1f / MathF.Sqrt(D), 0);

    private readonly CpuBackend _backend = new();

    public void Dispose() => _backend.Dispose();

    /// <summary>One step of the schedule below: query/key/value rows and the metadata to run them.</summary>
    private sealed record Step(float[] Q, float[] K, float[] V, AttentionMetadata Meta);

    /// <summary>
    /// Two steps. Step 1: sequence A prefills 3 tokens (blocks 5, 2), sequence B prefills 6 (blocks 1, 6).
    /// Step 2 (the mixed batch): A prefills a chunk of 4 more tokens over its 3 cached ones, B decodes one token.
    /// K/V are spread over a few binades so e4m3 rounding (3 mantissa bits) visibly moves the result.
    /// </summary>
    private static Step[] Schedule(int seed)
    {
        var rng = new Random(seed);
        int[] tables = [5, 2, -1, 1, 6, -1];
        Step Make(int[] queryLens, int[] seqLens)
        {
            int t = queryLens.Sum();
            var loc = new int[queryLens.Length + 1];
            var slots = new List<int>();
            for (int s = 0; s < queryLens.Length; s++)
            {
                loc[s + 1] = loc[s] + queryLens[s];
                for (int pos = seqLens[s] - queryLens[s]; pos < seqLens[s]; pos++)
                    slots.Add(tables[s * MaxBlocksPerSeq + pos / BlockSize] * BlockSize + pos % BlockSize);
            }
            var meta = new AttentionMetadata
            {
                NumTokens = t, NumSeqs = queryLens.Length, QueryStartLoc = loc, SeqLens = seqLens, BlockTables = tables,
                MaxBlocksPerSeq = MaxBlocksPerSeq, SlotMapping = [.. slots], MaxSeqLen = seqLens.Max(), MaxQueryLen = queryLens.Max(),
            };
            return new Step(Random(rng, t * Hq * D), Random(rng, t * Hk * D), Random(rng, t * Hk * D), meta);
        }
        return [Make([3, 6], [3, 6]), Make([4, 1], [7, 7])];
    }

    private static float[] Random(Random rng, int n)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-3, 3)));
        return x;
    }

    private static float[] RoundThroughFp8(float[] x) => x.Select(v => Fp8E4M3.Decode(Fp8E4M3.Encode(v))).ToArray();

    private KvCache Cache(DType dtype) =>
        _backend.Attention.CreateCache(new KvCacheSpec(1, NumBlocks, BlockSize, Hk, D, dtype));

    private Tensor Upload(float[] x, int cols)
    {
        var t = _backend.Allocate(DType.F32, x.Length / cols, cols);
        _backend.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, t);
        return t;
    }

    /// <summary>Runs one step's attention on layer 0 and returns the output rows.</summary>
    private float[] Attend(KvCache cache, float[] q, float[] k, float[] v, AttentionMetadata meta)
    {
        using var qt = Upload(q, Hq * D);
        using var kt = Upload(k, Hk * D);
        using var vt = Upload(v, Hk * D);
        using var ot = _backend.Allocate(DType.F32, meta.NumTokens, Hq * D);
        _backend.Attention.Prepare(meta);
        _backend.Attention.Forward(0, qt, kt, vt, cache, meta, Params, ot);
        var o = new float[meta.NumTokens * Hq * D];
        _backend.DownloadF32(ot, o);
        return o;
    }

    /// <summary>Runs the schedule and returns the mixed step's output.</summary>
    private float[] Run(DType dtype, bool preRound)
    {
        using var cache = Cache(dtype);
        float[] last = [];
        foreach (var s in Schedule(seed: 7))
            last = Attend(cache, s.Q, preRound ? RoundThroughFp8(s.K) : s.K, preRound ? RoundThroughFp8(s.V) : s.V, s.Meta);
        return last;
    }

    private static double MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs(a[i] - b[i]));
        return m;
    }

    [Fact]
    public void Fp8_cache_equals_f32_cache_fed_fp8_rounded_kv()
    {
        var fp8 = Run(DType.F8E4M3, preRound: false);
        var reference = Run(DType.F32, preRound: true);
        Assert.All(fp8, x => Assert.True(float.IsFinite(x)));
        Assert.True(MaxAbsDiff(fp8, reference) <= 1e-5, $"max |fp8 - rounded f32| = {MaxAbsDiff(fp8, reference):E2}");
    }

    [Fact]
    public void Fp8_cache_differs_from_unrounded_f32()
    {
        // Guards the test above: a cache that silently kept F32 would match this instead.
        var fp8 = Run(DType.F8E4M3, preRound: false);
        var exact = Run(DType.F32, preRound: false);
        double diff = MaxAbsDiff(fp8, exact);
        Assert.True(diff > 1e-3, $"fp8 and exact f32 attention agree to {diff:E2}: the cache did not round");
        Assert.True(diff < 0.5, $"fp8 attention is {diff:E2} away from f32: more than rounding");
    }

    [Fact]
    public void Every_finite_code_survives_store_and_read()
    {
        // 8 one-token sequences, each attending only its own key: the output is its V row, decoded. Their V rows
        // hold all 256 codes' values in turn (NaN codes as zero), subnormals, -0 and ±448 included.
        var v = new float[8 * Hk * D];
        for (int i = 0; i < v.Length; i++) v[i] = (i & 0x7F) == 0x7F ? 0f : Fp8E4M3.Decode((byte)i);
        using var cache = Cache(DType.F8E4M3);
        var meta = new AttentionMetadata
        {
            NumTokens = 8, NumSeqs = 8, QueryStartLoc = [0, 1, 2, 3, 4, 5, 6, 7, 8], SeqLens = [1, 1, 1, 1, 1, 1, 1, 1],
            BlockTables = [0, 1, 2, 3, 4, 5, 6, 7], MaxBlocksPerSeq = 1, SlotMapping = [0, 4, 8, 12, 16, 20, 24, 28], MaxSeqLen = 1, MaxQueryLen = 1,
        };
        var o = Attend(cache, new float[8 * Hq * D], new float[8 * Hk * D], v, meta);
        for (int t = 0; t < 8; t++)
            for (int h = 0; h < Hq; h++)
                for (int j = 0; j < D; j++)
                {
                    float expected = v[t * Hk * D + h / (Hq / Hk) * D + j], actual = o[t * Hq * D + h * D + j];
                    Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || expected == actual,
                        $"token {t} head {h} dim {j}: stored {expected}, read {actual}");
                }
    }

    [Fact]
    public void Fp8_spec_takes_a_quarter_of_f32_bytes()
    {
        Assert.Equal(4 * Spec(DType.F8E4M3).BytesPerBlock, Spec(DType.F32).BytesPerBlock);
        Assert.Equal(2 * Spec(DType.F8E4M3).BytesPerBlock, Spec(DType.BF16).BytesPerBlock);
        static KvCacheSpec Spec(DType t) => new(2, 1, BlockSize, Hk, D, t);
    }

    [Theory]
    [InlineData(DType.F8E4M3)]
    [InlineData(DType.F32)]
    public void CopyBlock_carries_the_cached_kv(DType dtype)
    {
        using var cache = Cache(dtype);
        var rng = new Random(3);
        // Fill block 3 with 4 tokens of one sequence.
        var fill = new AttentionMetadata
        {
            NumTokens = 4, NumSeqs = 1, QueryStartLoc = [0, 4], SeqLens = [4], BlockTables = [3], MaxBlocksPerSeq = 1,
            SlotMapping = [12, 13, 14, 15], MaxSeqLen = 4, MaxQueryLen = 4,
        };
        Attend(cache, Random(rng, 4 * Hq * D), Random(rng, 4 * Hk * D), Random(rng, 4 * Hk * D), fill);
        cache.CopyBlock(3, 6);

        // A query that stores nothing (slot -1) and reads positions 0..3 through a one-block table.
        var q = Random(rng, Hq * D);
        float[] Read(int block) => Attend(cache, q, new float[Hk * D], new float[Hk * D], new AttentionMetadata
        {
            NumTokens = 1, NumSeqs = 1, QueryStartLoc = [0, 1], SeqLens = [4], BlockTables = [block], MaxBlocksPerSeq = 1,
            SlotMapping = [-1], MaxSeqLen = 4, MaxQueryLen = 1,
        });
        var original = Read(3);
        Assert.Equal(original, Read(6));
        // Block 7 was never written (zeros): reading it gives something else, so the equality above means something.
        Assert.True(MaxAbsDiff(original, Read(7)) > 1e-3);
    }

    [Fact]
    public void Cpu_backend_refuses_other_cache_dtypes_by_name()
    {
        var e = Assert.Throws<NotSupportedException>(() => Cache(DType.BF16));
        Assert.Contains("BF16", e.Message);
    }

    [Theory]
    [InlineData("fp8", DType.F8E4M3)]
    [InlineData("fp8_e4m3", DType.F8E4M3)]
    [InlineData("FP8", DType.F8E4M3)]
    [InlineData("auto", DType.F32)]
    [InlineData(null, DType.F32)]
    public void Kv_cache_dtype_option_resolves(string? option, DType expected) =>
        Assert.Equal(expected, KvCacheDTypes.Resolve(option, _backend));

    [Theory]
    [InlineData("int8")]
    [InlineData("fp8_e5m2")]
    [InlineData("bf16")]
    public void Unknown_kv_cache_dtype_is_refused_by_name(string option)
    {
        var e = Assert.Throws<ArgumentException>(() => KvCacheDTypes.Resolve(option, _backend));
        Assert.Contains($"\"{option}\"", e.Message);
        Assert.Contains("auto, fp8, fp8_e4m3", e.Message);
    }

    [Fact]
    public void Runner_creates_an_fp8_cache_when_asked()
    {
        using var model = TransformerModel.Load(Modular.Testing.Fixtures.BundledModel, _backend);
        using var fp8 = ModelRunner.Create(model, 4, 16, DType.F8E4M3);
        using var auto = ModelRunner.Create(model, 4, 16);
        Assert.Equal(DType.F8E4M3, fp8.Cache.Spec.DType);
        Assert.Equal(DType.F32, auto.Cache.Spec.DType);
    }
}
