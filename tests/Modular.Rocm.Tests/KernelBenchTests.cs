using System.Diagnostics;
using Modular.Abstractions;
using Modular.Backends.Rocm;
using static Modular.Rocm.Tests.HostTensors;

namespace Modular.Rocm.Tests;

/// <summary>
/// Timings of the kernels prefill and decode spend their time in (Linear at prefill and decode shapes, prefill
/// attention), on the main tier's device. Opt-in with MODULAR_ROCM_BENCH=1 (seconds to minutes on pocl); the
/// figures are printed, and the only assertion is that the results are finite.
/// </summary>
public class KernelBenchTests(RocmFixture fx, ITestOutputHelper output)
{
    private static bool Enabled => Environment.GetEnvironmentVariable("MODULAR_ROCM_BENCH") == "1";

    private const string Why = "kernel timings run only with MODULAR_ROCM_BENCH=1";

    /// <summary>Median seconds of <paramref name="reps"/> synchronized runs after one warm-up run.</summary>
    private static double Time(IBackend b, int reps, Action run)
    {
        run();
        b.Synchronize();
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            run();
            b.Synchronize();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[reps / 2];
    }

    [Fact]
    public void LinearRates()
    {
        Assert.SkipUnless(Enabled, Why);
        var b = fx.OpenCL;
        var rng = new Random(7);
        // qwen2.5-0.5b's MLP and attention projections at a 128-token prefill, and at decode batch 1 and 8.
        foreach (var (rows, n, k) in new[] { (128, 4864, 896), (128, 896, 4864), (128, 1152, 896), (1, 4864, 896), (8, 4864, 896), (1, 896, 4864) })
        {
            using var x = Act(b, Uniform(rng, rows * k), rows, k);
            using var w = Weight(b, Uniform(rng, (long)n * k, DType.BF16), DType.BF16, n, k);
            using var o = b.Allocate(DType.F32, rows, n);
            var rb = (RocmBackend)b;
            var (saved, savedGemv) = (rb.FewRowsGemm, rb.Gemv);
            // Decode shapes through the tiled GEMM and both GEMVs (group: GPU default, warp: CPU-device default).
            foreach (var (fewRows, gemv) in rows <= 8
                         ? new[] { (false, savedGemv), (true, GemvVariant.Group), (true, GemvVariant.Warp) }
                         : [(saved, savedGemv)])
            {
                (rb.FewRowsGemm, rb.Gemv) = (fewRows, gemv);
                double s = Time(b, rows == 128 ? 3 : 7, () => b.Kernels.Linear(x, w, null, o));
                double gflops = 2.0 * rows * n * k / s / 1e9;
                double gbps = (2.0 * n * k + 4.0 * rows * (n + k)) / s / 1e9;
                string path = rows > 8 ? "" : fewRows ? $" gemv={gemv}" : " tiled";
                output.WriteLine($"Linear [{rows},{k}]x[{n},{k}]^T bf16{path} on {b.Info.Name}: {s * 1e3:F2} ms, {gflops:F1} GFLOP/s, {gbps:F2} GB/s");
                Assert.All(Get(o), v => Assert.True(float.IsFinite(v)));
            }
            rb.Gemv = savedGemv;
            rb.FewRowsGemm = saved;
        }
    }

    [Fact]
    public void PrefillAttentionRate()
    {
        Assert.SkipUnless(Enabled, Why);
        var b = fx.OpenCL;
        var rng = new Random(8);
        // qwen2.5-0.5b's attention (14 query heads, 2 KV heads, dim 64), two 128-token prompts, blocks of 16.
        const int hq = 14, hk = 2, d = 64, len = 128, seqs = 2, bs = 16, blocksPerSeq = len / bs;
        int t = len * seqs;
        var slots = new int[t];
        var tables = new int[seqs * blocksPerSeq];
        for (int s = 0; s < seqs; s++)
        {
            for (int i = 0; i < blocksPerSeq; i++) tables[s * blocksPerSeq + i] = s * blocksPerSeq + i;
            for (int p = 0; p < len; p++) slots[s * len + p] = s * len + p;
        }
        var m = new AttentionMetadata
        {
            NumTokens = t, NumSeqs = seqs, QueryStartLoc = [0, len, 2 * len], SeqLens = [len, len], BlockTables = tables,
            MaxBlocksPerSeq = blocksPerSeq, SlotMapping = slots, MaxSeqLen = len, MaxQueryLen = len,
        };
        using var cache = b.Attention.CreateCache(new KvCacheSpec(1, seqs * blocksPerSeq, bs, hk, d, b.ActivationDType));
        using var q = Act(b, Uniform(rng, t * hq * d), t, hq * d);
        using var kt = Act(b, Uniform(rng, t * hk * d), t, hk * d);
        using var v = Act(b, Uniform(rng, t * hk * d), t, hk * d);
        using var o = b.Allocate(b.ActivationDType, t, hq * d);
        var p2 = new AttentionParams(hq, hk, d, 1f / MathF.Sqrt(d), 0);
        b.Attention.Prepare(m);
        double sec = Time(b, 3, () => b.Attention.Forward(0, q, kt, v, cache, m, p2, o));
        double flops = 4.0 * seqs * hq * d * (len * (len + 1) / 2.0);
        output.WriteLine($"prefill attention {seqs}x{len} tokens, {hq}/{hk} heads of {d} on {b.Info.Name}: {sec * 1e3:F2} ms, {flops / sec / 1e9:F2} GFLOP/s");
        Assert.All(Get(o), x => Assert.True(float.IsFinite(x)));
    }
}
