using Modular.Abstractions;
using Modular.Backends.Rocm;
using static Modular.Rocm.Tests.HostTensors;

namespace Modular.Rocm.Tests;

/// <summary>
/// Every IKernels op on random inputs against the CPU backend. Both backends get the same stored weight bits
/// (F16/BF16 uploads are widened exactly by the CPU backend), so any dtype is held to float32 tolerance:
/// a decoding or accumulation bug in the 16-bit paths shows up, not just a rounding difference.
/// </summary>
public class KernelTests(RocmFixture fx)
{
    private const double F32Tolerance = 2e-5;

    public static TheoryData<string, DType> TiersAndWeights => new()
    {
        { "opencl", DType.F32 }, { "opencl", DType.F16 }, { "opencl", DType.BF16 },
        { "cpu", DType.BF16 },
    };

    public static TheoryData<string> Tiers => new() { "opencl", "cpu" };

    private void Check(string tier, string what, Func<IBackend, float[]> run, double tolerance = F32Tolerance)
    {
        var target = fx.Tier(tier);
        var expected = run(fx.Cpu);
        var actual = run(target);
        double err = RelError(actual, expected);
        Assert.True(err <= tolerance, $"{what} on {target.Info.Name}: relative error {err:E2} above {tolerance:E0}");
    }

    [Theory, MemberData(nameof(TiersAndWeights))]
    public void Embedding(string tier, DType wt)
    {
        var rng = new Random(1);
        var table = Uniform(rng, 300 * 96, wt);
        int[] ids = [0, 299, 17, 17, 150, 3, 42];
        Check(tier, "Embedding", b =>
        {
            using var tt = Weight(b, table, wt, 300, 96);
            using var it = Ints(b, ids);
            using var o = b.Allocate(b.ActivationDType, ids.Length, 96);
            b.Kernels.Embedding(tt, it, 0.5f, o);
            return Get(o);
        });
    }

    [Theory, MemberData(nameof(TiersAndWeights))]
    public void RmsNorm(string tier, DType wt)
    {
        var rng = new Random(2);
        var x = Uniform(rng, 5 * 1000, scale: 3f);
        var w = Uniform(rng, 1000, wt);
        foreach (var offset in new[] { 0f, 1f })
            Check(tier, $"RmsNorm offset {offset}", b =>
            {
                using var xt = Act(b, x, 5, 1000);
                using var wt2 = Weight(b, w, wt, 1000);
                using var o = b.Allocate(b.ActivationDType, 5, 1000);
                b.Kernels.RmsNorm(xt, wt2, 1e-6f, offset, o);
                return Get(o);
            });
    }

    [Theory, MemberData(nameof(TiersAndWeights))]
    public void AddRmsNormUpdatesResidualAndNormalizesIt(string tier, DType wt)
    {
        var rng = new Random(3);
        var x = Uniform(rng, 3 * 300);
        var r = Uniform(rng, 3 * 300, scale: 2f);
        var w = Uniform(rng, 300, wt);
        (float[] Out, float[] Res) Run(IBackend b)
        {
            using var xt = Act(b, x, 3, 300);
            using var rt = Act(b, r, 3, 300);
            using var wt2 = Weight(b, w, wt, 300);
            using var o = b.Allocate(b.ActivationDType, 3, 300);
            b.Kernels.AddRmsNorm(xt, rt, wt2, 1e-5f, 0f, o);
            return (Get(o), Get(rt));
        }
        Check(tier, "AddRmsNorm output", b => Run(b).Out);
        Check(tier, "AddRmsNorm residual", b => Run(b).Res);
    }

    [Theory, MemberData(nameof(TiersAndWeights))]
    public void LinearWithAndWithoutBias(string tier, DType wt)
    {
        // Both GEMM kernels: the tiled one, and the split-K one that GPUs use for decode-sized batches.
        var target = (RocmBackend)fx.Tier(tier);
        bool saved = target.FewRowsGemm;
        int savedTile = target.GemmTile;
        try
        {
            target.FewRowsGemm = false;
            CheckLinear(tier, wt);
            target.FewRowsGemm = true;
            CheckLinear(tier, wt);
            // The GPU configuration (16 x 16 threads, 128 x 128 blocks) wherever the device runs 256-thread groups.
            if (tier == "opencl" && savedTile < GemmKernels16)
            {
                target.GemmTile = GemmKernels16;
                CheckLinear(tier, wt);
            }
        }
        finally
        {
            target.FewRowsGemm = saved;
            target.GemmTile = savedTile;
        }
    }

    private const int GemmKernels16 = 16;

    private void CheckLinear(string tier, DType wt)
    {
        var rng = new Random(4);
        foreach (var (rows, n, k, bias) in new[] { (1, 50, 70, false), (7, 33, 129, true), (8, 300, 40, false), (3, 70, 258, true), (20, 100, 64, true), (150, 270, 100, true) })
        {
            var x = Uniform(rng, rows * k);
            var w = Uniform(rng, n * k, wt);
            var bv = Uniform(rng, n, wt);
            Check(tier, $"Linear [{rows},{k}]x[{n},{k}]^T bias={bias}", b =>
            {
                using var xt = Act(b, x, rows, k);
                using var wt2 = Weight(b, w, wt, n, k);
                using var bt = bias ? Weight(b, bv, wt, n) : null;
                using var o = b.Allocate(DType.F32, rows, n);
                b.Kernels.Linear(xt, wt2, bt, o);
                return Get(o);
            });
        }
    }

    [Theory, MemberData(nameof(Tiers))]
    public void DeviceArgMaxTakesTheFirstLargestAndSkipsNaN(string tier)
    {
        var b = fx.Tier(tier);
        const int vocab = 1000;
        var rng = new Random(9);
        var x = Uniform(rng, 5 * vocab, scale: 4f);
        x[0 * vocab + 700] = 9f; x[0 * vocab + 300] = 9f; x[0 * vocab + 999] = 9f;     // tie: 300 wins
        x[1 * vocab + 0] = float.NaN; x[1 * vocab + 5] = 8f; x[1 * vocab + 6] = float.NaN; // NaN never wins
        for (int j = 0; j < vocab; j++) x[2 * vocab + j] = float.NegativeInfinity;     // all -inf: index 0
        x[2 * vocab + 0] = float.NaN;
        x[3 * vocab + vocab - 1] = 100f;                                                // last column
        int[] expected = new int[5];
        for (int r = 0; r < 5; r++)
        {
            int best = -1;
            for (int j = 0; j < vocab; j++)
            {
                float v = x[r * vocab + j];
                if (!float.IsNaN(v) && (best < 0 || v > x[r * vocab + best])) best = j;
            }
            expected[r] = Math.Max(0, best);
        }
        Assert.Equal([300, 5, 1, vocab - 1], expected[..4]);
        using var logits = Act(b, x, 5, vocab);
        using var ids = Ints(b, new int[5]);
        ((IDeviceArgMax)b.Kernels).ArgMax(logits, ids);
        var got = new int[5];
        b.DownloadI32(ids, got);
        Assert.Equal(expected, got);
    }

    [Theory, MemberData(nameof(Tiers))]
    public void RopeFullAndPartialRotation(string tier)
    {
        var rng = new Random(5);
        int tokens = 5, hq = 4, hk = 2, d = 32, maxPos = 64;
        var q = Uniform(rng, tokens * hq * d);
        var k = Uniform(rng, tokens * hk * d);
        int[] pos = [0, 1, 63, 7, 30];
        foreach (var rot in new[] { 32, 16 })
        {
            var table = Uniform(rng, maxPos * rot);
            (float[] Q, float[] K) Run(IBackend b)
            {
                using var qt = Act(b, q, tokens, hq * d);
                using var kt = Act(b, k, tokens, hk * d);
                using var pt = Ints(b, pos);
                using var ct = Act(b, table, maxPos, rot);
                b.Kernels.Rope(qt, kt, pt, ct, d);
                return (Get(qt), Get(kt));
            }
            Check(tier, $"Rope q rot {rot}", b => Run(b).Q);
            Check(tier, $"Rope k rot {rot}", b => Run(b).K);
        }
    }

    [Theory, MemberData(nameof(Tiers))]
    public void ActAndMulEveryActivation(string tier)
    {
        var rng = new Random(6);
        var gu = Uniform(rng, 6 * 2 * 70, scale: 4f);
        foreach (var act in new[] { Activation.Silu, Activation.GeluTanh, Activation.Gelu })
            Check(tier, $"ActAndMul {act}", b =>
            {
                using var g = Act(b, gu, 6, 140);
                using var o = b.Allocate(b.ActivationDType, 6, 70);
                b.Kernels.ActAndMul(g, act, o);
                return Get(o);
            }, 1e-5);
    }

    [Theory, MemberData(nameof(Tiers))]
    public void AddInPlaceAndGatherRows(string tier)
    {
        var rng = new Random(7);
        var a = Uniform(rng, 9 * 40);
        var c = Uniform(rng, 9 * 40);
        int[] rows = [8, 0, 3, 3];
        Check(tier, "Add aliasing its output", b =>
        {
            using var at = Act(b, a, 9, 40);
            using var ct = Act(b, c, 9, 40);
            b.Kernels.Add(at, ct, at);
            return Get(at);
        });
        Check(tier, "GatherRows", b =>
        {
            using var at = Act(b, a, 9, 40);
            using var it = Ints(b, rows);
            using var o = b.Allocate(b.ActivationDType, rows.Length, 40);
            b.Kernels.GatherRows(at, it, o);
            return Get(o);
        });
    }

    [Theory, MemberData(nameof(TiersAndWeights))]
    public void MoeTopKWithAndWithoutRenormalize(string tier, DType wt)
    {
        var rng = new Random(8);
        int tokens = 5, experts = 4, h = 32, inter = 24, topK = 2;
        var x = Uniform(rng, tokens * h);
        var logits = Uniform(rng, tokens * experts, scale: 2f);
        var gu = Uniform(rng, experts * 2 * inter * h, wt, 0.3f);
        var dn = Uniform(rng, experts * h * inter, wt, 0.3f);
        foreach (var renorm in new[] { true, false })
            Check(tier, $"Moe renormalize={renorm}", b =>
            {
                using var xt = Act(b, x, tokens, h);
                using var lt = Act(b, logits, tokens, experts);
                using var gt = Weight(b, gu, wt, experts * 2 * inter, h);
                using var dt = Weight(b, dn, wt, experts * h, inter);
                using var o = b.Allocate(b.ActivationDType, tokens, h);
                b.Kernels.Moe(xt, lt, gt.View(experts, 2 * inter, h), dt.View(experts, h, inter), topK, renorm, Activation.Silu, o);
                return Get(o);
            });
    }
}
