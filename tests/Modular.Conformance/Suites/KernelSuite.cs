using Modular.Abstractions;
using Modular.Conformance.Reference;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>Required tier: every IKernels op on fresh random inputs over several shapes.</summary>
public abstract class KernelSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    [Theory, Trait("tier", "required")]
    [InlineData(257, 96, 5, 1f)]
    [InlineData(4096, 1024, 33, 32f)]
    [InlineData(50, 64, 1, 0.5f)]
    public void Embedding(int vocab, int hidden, int tokens, float scale)
    {
        var table = Round(Data.Uniform((long)vocab * hidden), Weight);
        var ids = Data.Ints(tokens, vocab);
        Verify("Embedding", $"table {Checks.Dims(vocab, hidden)} ids [{tokens}] scale {scale}", b =>
        {
            using var tt = Put(b, table, b.WeightDType(DType.BF16), vocab, hidden);
            using var it = PutInts(b, ids, tokens);
            using var o = b.Allocate(b.ActivationDType, tokens, hidden);
            b.Kernels.Embedding(tt, it, scale, o);
            return Get(o);
        }, ReferenceOps.Embedding(table, hidden, ids, scale));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(1, 64, 0f)]
    [InlineData(17, 1000, 0f)]
    [InlineData(64, 4096, 1f)]
    [InlineData(3, 5120, 0f)]
    public void RmsNorm(int tokens, int hidden, float offset)
    {
        var x = Round(Data.Uniform((long)tokens * hidden, 3f), Act);
        var w = Round(Data.Uniform(hidden), Weight);
        Verify("RmsNorm", $"x {Checks.Dims(tokens, hidden)} offset {offset}", b =>
        {
            using var xt = Put(b, x, b.ActivationDType, tokens, hidden);
            using var wt = Put(b, w, b.WeightDType(DType.BF16), hidden);
            using var o = b.Allocate(b.ActivationDType, tokens, hidden);
            b.Kernels.RmsNorm(xt, wt, 1e-6f, offset, o);
            return Get(o);
        }, ReferenceOps.RmsNorm(x, w, 1e-6, offset));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(1, 64, 0f)]
    [InlineData(31, 2048, 1f)]
    [InlineData(128, 4096, 0f)]
    public void AddRmsNorm(int tokens, int hidden, float offset)
    {
        var x = Round(Data.Uniform((long)tokens * hidden), Act);
        var r = Round(Data.Uniform((long)tokens * hidden, 2f), Act);
        var w = Round(Data.Uniform(hidden), Weight);
        var sum = new float[x.Length];
        var sumD = new double[x.Length];
        for (int i = 0; i < x.Length; i++) { sumD[i] = (double)x[i] + r[i]; sum[i] = (float)sumD[i]; }
        string shape = $"x {Checks.Dims(tokens, hidden)} offset {offset}";
        Verify("AddRmsNorm.residual", shape, b => RunAddRmsNorm(b, x, r, w, tokens, hidden, offset).Residual, sumD);
        Verify("AddRmsNorm.output", shape, b => RunAddRmsNorm(b, x, r, w, tokens, hidden, offset).Output,
            ReferenceOps.RmsNorm(Round(sum, Act), w, 1e-5, offset));
    }

    private static (float[] Output, float[] Residual) RunAddRmsNorm(IBackend b, float[] x, float[] r, float[] w, int tokens, int hidden, float offset)
    {
        using var xt = Put(b, x, b.ActivationDType, tokens, hidden);
        using var rt = Put(b, r, b.ActivationDType, tokens, hidden);
        using var wt = Put(b, w, b.WeightDType(DType.BF16), hidden);
        using var o = b.Allocate(b.ActivationDType, tokens, hidden);
        b.Kernels.AddRmsNorm(xt, rt, wt, 1e-5f, offset, o);
        return (Get(o), Get(rt));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(1, 64, 48, false)]
    [InlineData(7, 256, 1000, true)]
    [InlineData(130, 1024, 768, false)]
    [InlineData(64, 2048, 2048, true)]
    [InlineData(1, 4096, 1024, false)]
    [InlineData(2, 1000, 1003, true)]
    [InlineData(4, 14336, 333, false)]
    [InlineData(3, 520, 77, false)]
    public void Linear(int tokens, int k, int n, bool withBias)
    {
        var x = Round(Data.Uniform((long)tokens * k), Act);
        var w = Round(Data.Uniform((long)n * k, 1f / MathF.Sqrt(k)), Weight);
        var bias = withBias ? Round(Data.Uniform(n), Weight) : null;
        Verify("Linear", $"x {Checks.Dims(tokens, k)} W {Checks.Dims(n, k)} bias {withBias}", b =>
        {
            using var xt = Put(b, x, b.ActivationDType, tokens, k);
            using var wt = Put(b, w, b.WeightDType(DType.BF16), n, k);
            using var bt = bias is null ? null : Put(b, bias, b.WeightDType(DType.BF16), n);
            using var o = b.Allocate(b.ActivationDType, tokens, n);
            b.Kernels.Linear(xt, wt, bt, o);
            return Get(o);
        }, ReferenceOps.Linear(x, w, bias, k, n));
    }

    /// <summary>The model runner's vocabulary projection writes float32 logits from activation-dtype inputs.</summary>
    [Theory, Trait("tier", "required")]
    [InlineData(3, 256, 2048, false)]
    [InlineData(17, 512, 1000, true)]
    public void LinearF32Output(int tokens, int k, int n, bool withBias)
    {
        var x = Round(Data.Uniform((long)tokens * k), Act);
        var w = Round(Data.Uniform((long)n * k, 1f / MathF.Sqrt(k)), Weight);
        var bias = withBias ? Round(Data.Uniform(n), Weight) : null;
        var oracle = ReferenceOps.Linear(x, w, bias, k, n);
        var target = Target;
        float[] Run(IBackend b)
        {
            using var xt = Put(b, x, b.ActivationDType, tokens, k);
            using var wt = Put(b, w, b.WeightDType(DType.BF16), n, k);
            using var bt = bias is null ? null : Put(b, bias, b.WeightDType(DType.BF16), n);
            using var o = b.Allocate(DType.F32, tokens, n);
            b.Kernels.Linear(xt, wt, bt, o);
            return Get(o);
        }
        // Float32 output: only the accumulation order differs from the oracle, so the F32 tolerance applies.
        string shape = $"x {Checks.Dims(tokens, k)} W {Checks.Dims(n, k)} bias {withBias} -> F32";
        var got = Run(target);
        Checks.Close(target.Name, "Linear.F32out", shape, got, oracle, Tolerance.For(DType.F32));
        if (Fixture.Cpu is { } cpu) Checks.Close(target.Name, "Linear.F32out vs cpu", shape, got, Run(cpu), Tolerance.For(DType.F32));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(9, 4, 2, 64, 64)]
    [InlineData(33, 8, 8, 128, 128)]
    [InlineData(5, 6, 2, 64, 32)]
    [InlineData(1, 32, 8, 128, 128)]
    public void Rope(int tokens, int hq, int hk, int headDim, int rot)
    {
        const int maxPos = 4096;
        var q = Round(Data.Uniform((long)tokens * hq * headDim), Act);
        var k = Round(Data.Uniform((long)tokens * hk * headDim), Act);
        var pos = Data.Ints(tokens, maxPos);
        var table = CosSinTable(maxPos, rot, 10000);
        var (rq, rk) = ReferenceOps.Rope(q, k, pos, table, rot, headDim);
        string shape = $"q {Checks.Dims(tokens, hq * headDim)} k {Checks.Dims(tokens, hk * headDim)} D {headDim} rot {rot}";
        Verify("Rope.q", shape, b => RunRope(b, q, k, pos, table, tokens, hq, hk, headDim, rot).Q, rq);
        Verify("Rope.k", shape, b => RunRope(b, q, k, pos, table, tokens, hq, hk, headDim, rot).K, rk);
    }

    /// <summary>cos in [0, rot/2), sin in [rot/2, rot) of each position, frequencies theta^(-2i/rot).</summary>
    public static float[] CosSinTable(int maxPos, int rot, double theta)
    {
        var t = new float[maxPos * rot];
        for (int p = 0; p < maxPos; p++)
            for (int i = 0; i < rot / 2; i++)
            {
                double angle = p * Math.Pow(theta, -2.0 * i / rot);
                t[p * rot + i] = (float)Math.Cos(angle);
                t[p * rot + rot / 2 + i] = (float)Math.Sin(angle);
            }
        return t;
    }

    private static (float[] Q, float[] K) RunRope(IBackend b, float[] q, float[] k, int[] pos, float[] table, int tokens, int hq, int hk, int d, int rot)
    {
        using var qt = Put(b, q, b.ActivationDType, tokens, hq * d);
        using var kt = Put(b, k, b.ActivationDType, tokens, hk * d);
        using var pt = PutInts(b, pos, tokens);
        using var ct = Put(b, table, DType.F32, table.Length / rot, rot);
        b.Kernels.Rope(qt, kt, pt, ct, d);
        return (Get(qt), Get(kt));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(5, 11, Activation.Silu)]
    [InlineData(64, 1408, Activation.Silu)]
    [InlineData(7, 256, Activation.GeluTanh)]
    [InlineData(7, 256, Activation.Gelu)]
    public void ActAndMul(int tokens, int inter, Activation activation)
    {
        var gu = Round(Data.Uniform((long)tokens * 2 * inter, 4f), Act);
        Verify($"ActAndMul.{activation}", $"gateUp {Checks.Dims(tokens, 2 * inter)}", b =>
        {
            using var g = Put(b, gu, b.ActivationDType, tokens, 2 * inter);
            using var o = b.Allocate(b.ActivationDType, tokens, inter);
            b.Kernels.ActAndMul(g, activation, o);
            return Get(o);
        }, ReferenceOps.ActAndMul(gu, inter, activation));
    }

    [Theory, Trait("tier", "required")]
    [InlineData(1, 64, false)]
    [InlineData(37, 1000, false)]
    [InlineData(16, 4096, true)]
    public void Add(int tokens, int hidden, bool aliasOutput)
    {
        var a = Round(Data.Uniform((long)tokens * hidden), Act);
        var c = Round(Data.Uniform((long)tokens * hidden), Act);
        var expected = new double[a.Length];
        for (int i = 0; i < a.Length; i++) expected[i] = (double)a[i] + c[i];
        Verify("Add", $"{Checks.Dims(tokens, hidden)} out aliases a: {aliasOutput}", b =>
        {
            using var at = Put(b, a, b.ActivationDType, tokens, hidden);
            using var ct = Put(b, c, b.ActivationDType, tokens, hidden);
            using var ot = aliasOutput ? null : b.Allocate(b.ActivationDType, tokens, hidden);
            b.Kernels.Add(at, ct, ot ?? at);
            return Get(ot ?? at);
        }, expected);
    }

    [Theory, Trait("tier", "required")]
    [InlineData(20, 33, 7)]
    [InlineData(300, 2048, 64)]
    [InlineData(5, 1, 9)]
    public void GatherRows(int rows, int hidden, int count)
    {
        var x = Round(Data.Uniform((long)rows * hidden), Act);
        var idx = Data.Ints(count, rows);
        var expected = new double[count * hidden];
        for (int i = 0; i < count; i++)
            for (int h = 0; h < hidden; h++) expected[i * hidden + h] = x[idx[i] * hidden + h];
        Verify("GatherRows", $"x {Checks.Dims(rows, hidden)} rows [{count}]", b =>
        {
            using var xt = Put(b, x, b.ActivationDType, rows, hidden);
            using var it = PutInts(b, idx, count);
            using var o = b.Allocate(b.ActivationDType, count, hidden);
            b.Kernels.GatherRows(xt, it, o);
            return Get(o);
        }, expected);
    }

    [Theory, Trait("tier", "required")]
    [InlineData(6, 4, 2, 64, 96, true, Activation.Silu)]
    [InlineData(33, 8, 2, 128, 256, true, Activation.Silu)]
    [InlineData(5, 8, 3, 64, 64, false, Activation.GeluTanh)]
    [InlineData(1, 16, 4, 256, 128, true, Activation.Silu)]
    public void Moe(int tokens, int experts, int topK, int hidden, int inter, bool renormalize, Activation activation)
    {
        var x = Round(Data.Uniform((long)tokens * hidden), Act);
        var logits = Round(Data.Uniform((long)tokens * experts, 3f), Act);
        var gu = Round(Data.Uniform((long)experts * 2 * inter * hidden, 1f / MathF.Sqrt(hidden)), Weight);
        var down = Round(Data.Uniform((long)experts * hidden * inter, 1f / MathF.Sqrt(inter)), Weight);
        Verify("Moe", $"x {Checks.Dims(tokens, hidden)} E {experts} top {topK} I {inter} renorm {renormalize} {activation}", b =>
        {
            var wd = b.WeightDType(DType.BF16);
            using var xt = Put(b, x, b.ActivationDType, tokens, hidden);
            using var lt = Put(b, logits, b.ActivationDType, tokens, experts);
            using var gt = Put(b, gu, wd, experts, 2 * inter, hidden);
            using var dt = Put(b, down, wd, experts, hidden, inter);
            using var o = b.Allocate(b.ActivationDType, tokens, hidden);
            b.Kernels.Moe(xt, lt, gt, dt, topK, renormalize, activation, o);
            return Get(o);
        }, ReferenceOps.Moe(x, logits, gu, down, experts, hidden, inter, topK, renormalize, activation));
    }
}
