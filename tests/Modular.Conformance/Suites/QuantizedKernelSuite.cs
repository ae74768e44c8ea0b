using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Conformance.Reference;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>
/// Optional tier for backends whose kernels implement <see cref="IQuantizedKernels"/>: quantized linear layers in
/// every code format and scale granularity of the canonical <see cref="QuantizedWeight"/> layout (zero points,
/// act-order group index, bias, decode-sized and prefill-sized batches, bf16 and f32 outputs), checked against a
/// float64 oracle that dequantizes by the layout's formula and, for device backends, against the CPU backend.
/// Batches past the decode GEMV may quantize FP8 activations (the tensor-core path), so those cases allow 1e-1, the
/// fixtures' FP8-activation tolerance; every other case allows the activation dtype's tolerance.
/// </summary>
public abstract class QuantizedKernelSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private const double Fp8ActivationTolerance = 1e-1;

    /// <summary>One layer's host data in the canonical layout.</summary>
    private sealed record HostWeight(QuantizedFormat Format, int N, int K, byte[] Data, float[] Scales, int Groups, float[]? Zeros,
        int GroupSize, int ScaleBlockRows, int[]? GroupIndex);

    [Theory, Trait("tier", "optional")]
    // format, N, K, group size (0 = per channel), scale block rows (0 = per tensor), zeros, act-order, bias, T
    [InlineData(QuantizedFormat.Int4, 96, 256, 128, 1, true, false, true, 1)]
    [InlineData(QuantizedFormat.Int4, 96, 256, 128, 1, true, false, true, 37)]
    [InlineData(QuantizedFormat.Int4, 80, 256, 64, 1, true, true, false, 1)]
    [InlineData(QuantizedFormat.Int4, 80, 256, 64, 1, true, true, false, 37)]
    [InlineData(QuantizedFormat.Int4, 64, 192, 0, 1, false, false, true, 5)]
    [InlineData(QuantizedFormat.Int4, 48, 200, 40, 1, true, false, false, 1)]
    [InlineData(QuantizedFormat.Int4, 48, 200, 40, 1, true, false, false, 37)]
    // One row on the cuda backend's tiled Int4 path (quant_gemv_stream.cu): several steps per warp across group
    // boundaries, per-channel scales without zeros, a group of two steps, and K = 8,192 (two tiles per block, odd tiles).
    [InlineData(QuantizedFormat.Int4, 272, 1536, 128, 1, true, false, true, 1)]
    [InlineData(QuantizedFormat.Int4, 160, 1024, 0, 1, false, false, false, 1)]
    [InlineData(QuantizedFormat.Int4, 48, 1024, 256, 1, true, false, false, 1)]
    [InlineData(QuantizedFormat.Int4, 48, 8192, 128, 1, true, false, true, 1)]
    [InlineData(QuantizedFormat.Int8, 64, 128, 0, 1, true, false, true, 1)]
    [InlineData(QuantizedFormat.Int8, 64, 128, 32, 1, false, true, false, 37)]
    [InlineData(QuantizedFormat.Fp8E4M3, 128, 256, 0, 0, false, false, false, 1)]
    [InlineData(QuantizedFormat.Fp8E4M3, 128, 256, 0, 0, false, false, false, 37)]
    [InlineData(QuantizedFormat.Fp8E4M3, 160, 512, 0, 1, false, false, true, 8)]
    [InlineData(QuantizedFormat.Fp8E4M3, 160, 512, 0, 1, false, false, true, 37)]
    [InlineData(QuantizedFormat.Fp8E4M3, 256, 384, 128, 128, false, false, false, 1)]
    [InlineData(QuantizedFormat.Fp8E4M3, 256, 384, 128, 128, false, false, true, 37)]
    [InlineData(QuantizedFormat.Fp8E4M3, 256, 384, 0, 128, false, false, false, 64)]
    public void LinearQuantized(QuantizedFormat format, int n, int k, int groupSize, int scaleBlockRows, bool zeros, bool actOrder, bool bias, int t)
    {
        var kernels = Quantized(format);
        var w = MakeWeight(format, n, k, groupSize, scaleBlockRows, zeros, actOrder);
        var x = Round(Data.Uniform((long)t * k), Act);
        var b = bias ? Round(Data.Uniform(n, 0.5f), Weight) : null;
        double tol = format == QuantizedFormat.Fp8E4M3 && t > 8 ? Math.Max(Fp8ActivationTolerance, Tolerance.For(Act)) : Tolerance.For(Act);
        string shape = $"{format} W [{n},{k}] group {(groupSize == 0 ? "channel" : groupSize)} blockRows {(scaleBlockRows == 0 ? "tensor" : scaleBlockRows)}"
            + $"{(zeros ? " zeros" : "")}{(actOrder ? " act-order" : "")}{(bias ? " bias" : "")} x [{t},{k}]";
        long streamBefore = Target.Kernels is Backends.Cuda.CudaKernels sc ? sc.QuantGemvStreamCalls : 0;
        Compare($"LinearQuantized", shape, be => Run(be, be == Target ? kernels : (IQuantizedKernels)be.Kernels, w, x, b, t, be.ActivationDType),
            Oracle(w, x, b, t), tol);
        // On the cuda backend, one row of an Int4 weight with fp16 scales, whole tiles and steps must have been tiled
        // and taken the stream GEMV.
        if (format == QuantizedFormat.Int4 && t == 1 && !actOrder && n % 16 == 0 && k % 128 == 0 && (groupSize == 0 || groupSize % 128 == 0)
            && Target.Kernels is Backends.Cuda.CudaKernels { QuantGemvStreamEnabled: true } sk)
            Assert.True(sk.QuantGemvStreamCalls > streamBefore, $"{shape}: the cuda stream GEMV did not run (weight left row-major?)");
        // On the cuda backend, FP8 batches with scales constant along K must have taken the tensor-core path.
        if (format == QuantizedFormat.Fp8E4M3 && t > 8 && groupSize == 0 && Target.Kernels is Backends.Cuda.CudaKernels ck)
        {
            var (planned, refused) = ck.Fp8GemmShapes;
            Checks.Note($"cuda FP8 GEMM: {planned} shapes planned, {refused} refused by cuBLASLt; {ck.Fp8GemmUnavailable ?? "cuBLASLt in use"}");
            if (ck.Fp8GemmUnavailable is null) Assert.True(planned > 0, $"cuBLASLt refused every FP8 shape ({refused}); FP8 batches fell back to dequantized bf16");
        }
    }

    /// <summary>
    /// cuda only: the FP8 GEMM with cuBLASLt applying the per-token and per-output-channel scales (outer vectors) and
    /// the bias itself, checked against the oracle and the CPU backend, with the counters proving it ran; then the
    /// same call with the scaled GEMM switched off, proving the accumulator + epilogue fallback still agrees. A device
    /// whose cuBLASLt refuses the scaled GEMM skips with the refusal instead of passing on the fallback.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    // N, K, scale block rows (0 = per tensor, 1 = per channel), bias, T, f32 output
    [InlineData(128, 256, 0, false, 16, false)]
    [InlineData(128, 256, 0, true, 37, false)]
    [InlineData(160, 512, 1, false, 37, false)]
    [InlineData(160, 512, 1, true, 64, false)]
    [InlineData(256, 384, 128, true, 24, false)]
    [InlineData(160, 512, 1, true, 37, true)]
    [InlineData(128, 256, 0, false, 20, true)]
    public void LinearQuantizedFp8ScaledGemm(int n, int k, int scaleBlockRows, bool bias, int t, bool f32Out)
    {
        Assert.SkipUnless(Fixture.Name == "cuda" && Target.Kernels is Backends.Cuda.CudaKernels, "the FP8 scaled GEMM is a cuda backend path (MODULAR_BACKEND=cuda)");
        var kernels = Quantized(QuantizedFormat.Fp8E4M3);
        var ck = (Backends.Cuda.CudaKernels)Target.Kernels;
        Assert.SkipWhen(ck.Fp8GemmUnavailable is not null, $"FP8 scaled GEMM NOT exercised: no FP8 tensor-core GEMM here ({ck.Fp8GemmUnavailable})");
        var w = MakeWeight(QuantizedFormat.Fp8E4M3, n, k, 0, scaleBlockRows, zeros: false, actOrder: false);
        var x = Round(Data.Uniform((long)t * k), Act);
        var b = bias ? Round(Data.Uniform(n, 0.5f), Weight) : null;
        var outType = f32Out ? DType.F32 : Target.ActivationDType;
        // The CPU reference writes its own activation dtype (float32) where the target writes bf16.
        DType OutOf(IBackend be) => f32Out ? DType.F32 : be.ActivationDType;
        double tol = Math.Max(Fp8ActivationTolerance, Tolerance.For(Act));
        string shape = $"Fp8E4M3 W [{n},{k}] {(scaleBlockRows switch { 0 => "per tensor", 1 => "per channel", _ => $"blockRows {scaleBlockRows}" })}"
            + $"{(bias ? " bias" : "")} x [{t},{k}] -> {outType}";
        var oracle = Oracle(w, x, b, t);
        bool wasQuant = ck.Fp8ActivationQuantization, wasScaled = ck.Fp8ScaledGemm;
        try
        {
            ck.Fp8ActivationQuantization = true;
            ck.Fp8ScaledGemm = true;
            var before = ck.Fp8GemmCounts;
            Compare("LinearQuantized.fp8scaled", shape, be => Run(be, be == Target ? kernels : (IQuantizedKernels)be.Kernels, w, x, b, t, OutOf(be)), oracle, tol);
            var after = ck.Fp8GemmCounts;
            Checks.Note($"cuda FP8 GEMM counters: scaled {after.Scaled}, epilogue {after.Epilogue}, scaled refusals {after.ScaledRefused}");
            bool scaledRan = after.Scaled > before.Scaled;
            if (!scaledRan)
                Assert.True(after.Epilogue > before.Epilogue, $"{shape}: neither the scaled nor the epilogue FP8 GEMM ran (fell to the dequantized path)");

            // The A/B switch: off, the same call must take the accumulator + fp8_gemm_epilogue path and still agree.
            ck.Fp8ScaledGemm = false;
            var mid = ck.Fp8GemmCounts;
            Compare("LinearQuantized.fp8epilogue", shape, be => Run(be, be == Target ? kernels : (IQuantizedKernels)be.Kernels, w, x, b, t, OutOf(be)), oracle, tol);
            var end = ck.Fp8GemmCounts;
            Assert.True(end.Scaled == mid.Scaled && end.Epilogue == mid.Epilogue + 1,
                $"{shape}: with the scaled GEMM off, expected one epilogue GEMM, got scaled +{end.Scaled - mid.Scaled}, epilogue +{end.Epilogue - mid.Epilogue}");

            Assert.SkipUnless(scaledRan, $"FP8 scaled GEMM NOT exercised: cuBLASLt refused outer-vector scaling for {shape} "
                + $"({ck.Fp8ScaledGemmRefusal ?? "no reason recorded"}); the epilogue fallback was checked instead");
        }
        finally
        {
            ck.Fp8ActivationQuantization = wasQuant;
            ck.Fp8ScaledGemm = wasScaled;
        }
    }

    /// <summary>An F32 output (the LM head's logits dtype) from the decode GEMV and from the batched path.</summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(3)]
    [InlineData(20)]
    public void LinearQuantizedF32Output(int t)
    {
        var kernels = Quantized(QuantizedFormat.Int4);
        var w = MakeWeight(QuantizedFormat.Int4, 112, 256, 128, 1, zeros: true, actOrder: false);
        var x = Round(Data.Uniform((long)t * 256), Act);
        Compare("LinearQuantized.f32out", $"Int4 W [112,256] g128 x [{t},256]",
            be => Run(be, be == Target ? kernels : (IQuantizedKernels)be.Kernels, w, x, null, t, DType.F32), Oracle(w, x, null, t), Tolerance.For(Act));
    }

    /// <summary>
    /// Int4 with float32 scales that fp16 cannot hold: the cuda backend keeps such a weight row-major (its tiled layout
    /// stores f16 scales), so this covers the row-major GEMV and the row-major dequantize-and-GEMM path.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(1)]
    [InlineData(37)]
    public void LinearQuantizedFloatScales(int t)
    {
        var kernels = Quantized(QuantizedFormat.Int4);
        var w = MakeWeight(QuantizedFormat.Int4, 144, 512, 128, 1, zeros: true, actOrder: false, fp16Scales: false);
        var x = Round(Data.Uniform((long)t * 512), Act);
        Compare("LinearQuantized.floatScales", $"Int4 W [144,512] g128 float32 scales x [{t},512]",
            be => Run(be, be == Target ? kernels : (IQuantizedKernels)be.Kernels, w, x, null, t, be.ActivationDType), Oracle(w, x, null, t), Tolerance.For(Act));
    }

    /// <summary>
    /// A quantized stacked gate|up with the activation fused (<see cref="IFusedQuantizedGateUpKernels"/>), one decode
    /// row, against act(gate) * up of the oracle product. Backends without the capability skip.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    [InlineData(Activation.Silu, 96, 512, true)]
    [InlineData(Activation.GeluTanh, 160, 1024, false)]
    public void LinearQuantizedActAndMul(Activation activation, int n, int k, bool zeros)
    {
        Quantized(QuantizedFormat.Int4);
        Assert.SkipUnless(Target.Kernels is IFusedQuantizedGateUpKernels, $"backend '{Target.Name}' has no fused quantized gate|up");
        var fused = (IFusedQuantizedGateUpKernels)Target.Kernels;
        var w = MakeWeight(QuantizedFormat.Int4, n, k, 128, 1, zeros, actOrder: false);
        var x = Round(Data.Uniform(k), Act);
        var product = Oracle(w, x, null, 1);
        int inter = n / 2;
        var oracle = new double[inter];
        for (int j = 0; j < inter; j++) oracle[j] = ReferenceOps.Act(product[j], activation) * product[inter + j];
        using var qw = Upload(Target, w);
        using var xt = Put(Target, x, Act, 1, k);
        using var o = Target.Allocate(Act, 1, inter);
        // The cuda path can be switched off (MODULAR_CUDA_INT4_GATED=0); the case turns it on for itself.
        bool ran = WithCudaSwitch(ck => ck.Int4GatedGateUp, (ck, on) => ck.Int4GatedGateUp = on,
            () => fused.TryLinearQuantizedActAndMul(xt, qw, activation, o));
        Assert.True(ran, $"Int4 gate|up [{n},{k}] x [1,{k}]: the fused path declined");
        Checks.Close(Target.Name, "LinearQuantizedActAndMul", $"Int4 gate|up [{n},{k}] {activation} x [1,{k}]", Get(o), oracle, Tolerance.For(Act));
    }

    /// <summary>
    /// An FP8 product whose input is act(gate) * up of a stacked gate|up tensor (<see cref="IFusedQuantizedGatedInputKernels"/>),
    /// batches past the GEMV: against the oracle product of the bf16-rounded act(gate) * up (FP8-activation
    /// tolerance), and against <see cref="IKernels.ActAndMul"/> + the plain product on the same backend, which must
    /// agree exactly (the same codes into the same GEMM). Backends without the capability skip; the cuda backend must
    /// not decline these shapes while its FP8 tensor-core path is available.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    // activation, T, N, K, bias
    [InlineData(Activation.Silu, 37, 160, 512, true)]
    [InlineData(Activation.GeluTanh, 64, 256, 384, false)]
    public void LinearQuantizedGatedInput(Activation activation, int t, int n, int k, bool bias)
    {
        var kernels = Quantized(QuantizedFormat.Fp8E4M3);
        Assert.SkipUnless(Target.Kernels is IFusedQuantizedGatedInputKernels, $"backend '{Target.Name}' has no quantized product with a gated input");
        var fused = (IFusedQuantizedGatedInputKernels)Target.Kernels;
        var w = MakeWeight(QuantizedFormat.Fp8E4M3, n, k, 0, 1, zeros: false, actOrder: false);
        var gateUp = Round(Data.Uniform((long)t * 2 * k, 2f), Act);
        var h = Round(Array.ConvertAll(ReferenceOps.ActAndMul(gateUp, k, activation), v => (float)v), Act);
        var b = bias ? Round(Data.Uniform(n, 0.5f), Weight) : null;
        using var qw = Upload(Target, w);
        using var gu = Put(Target, gateUp, Act, t, 2 * k);
        using var bt = b is null ? null : Put(Target, b, Weight, n);
        using var o = Target.Allocate(Act, t, n);
        string shape = $"FP8 W [{n},{k}] per channel{(bias ? " bias" : "")} {activation} gate|up [{t},{2 * k}]";
        // The cuda path can be switched off (MODULAR_CUDA_FP8_GATED_INPUT=0); the case turns it on for itself.
        bool ran = WithCudaSwitch(ck => ck.Fp8GatedInput, (ck, on) => ck.Fp8GatedInput = on,
            () => fused.TryLinearQuantizedGatedInput(gu, activation, qw, bt, o));
        if (Target.Kernels is Backends.Cuda.CudaKernels { Fp8ActivationQuantization: true, Fp8GemmUnavailable: null })
            Assert.True(ran, $"{shape}: the cuda gated-input FP8 product declined");
        Assert.SkipUnless(ran, $"backend '{Target.Name}' declined the gated-input product for {shape}");
        var got = Get(o);
        Checks.Close(Target.Name, "LinearQuantizedGatedInput", shape, got, Oracle(w, h, b, t), Math.Max(Fp8ActivationTolerance, Tolerance.For(Act)));
        using var act = Target.Allocate(Act, t, k);
        using var plain = Target.Allocate(Act, t, n);
        Target.Kernels.ActAndMul(gu, activation, act);
        kernels.LinearQuantized(act, qw, bt, plain);
        Checks.Exact<float>(Target.Name, "LinearQuantizedGatedInput vs ActAndMul + LinearQuantized", shape, got, Get(plain));
    }

    /// <summary>
    /// An FP8 product whose input is the RMSNorm of the residual stream after += add
    /// (<see cref="IFusedQuantizedNormInputKernels"/>), batches past the GEMV, with and without the add and a norm
    /// weight offset: against the oracle product of the bf16-rounded norm (FP8-activation tolerance), and against
    /// <see cref="IKernels.AddRmsNorm"/> (<see cref="IKernels.RmsNorm"/>) + the plain product on the same backend,
    /// output and residual both, which must agree exactly. Backends without the capability skip; the cuda backend must
    /// not decline these shapes while its FP8 tensor-core path is available.
    /// </summary>
    [Theory, Trait("tier", "optional")]
    // add, T, N, K, norm weight offset, bias
    [InlineData(true, 37, 160, 512, 0f, true)]
    [InlineData(false, 64, 256, 384, 0f, false)]
    [InlineData(true, 20, 96, 1024, 1f, false)]
    public void LinearQuantizedNormInput(bool add, int t, int n, int k, float offset, bool bias)
    {
        var kernels = Quantized(QuantizedFormat.Fp8E4M3);
        Assert.SkipUnless(Target.Kernels is IFusedQuantizedNormInputKernels, $"backend '{Target.Name}' has no quantized product with a norm input");
        var fused = (IFusedQuantizedNormInputKernels)Target.Kernels;
        const float eps = 1e-5f;
        var w = MakeWeight(QuantizedFormat.Fp8E4M3, n, k, 0, 1, zeros: false, actOrder: false);
        var residual = Round(Data.Uniform((long)t * k, 2f), Act);
        var x = add ? Round(Data.Uniform((long)t * k, 2f), Act) : null;
        var nw = Round(Data.Uniform(k, 1f), Act);
        var summed = x is null ? residual : Round(residual.Zip(x, (a, c) => a + c).ToArray(), Act);
        var h = Round(Array.ConvertAll(ReferenceOps.RmsNorm(summed, nw, eps, offset), v => (float)v), Act);
        var b = bias ? Round(Data.Uniform(n, 0.5f), Weight) : null;
        using var qw = Upload(Target, w);
        using var rt = Put(Target, residual, Act, t, k);
        using var xt = x is null ? null : Put(Target, x, Act, t, k);
        using var nt = Put(Target, nw, Act, k);
        using var bt = b is null ? null : Put(Target, b, Weight, n);
        using var o = Target.Allocate(Act, t, n);
        string shape = $"FP8 W [{n},{k}] per channel{(bias ? " bias" : "")} {(add ? "add + " : "")}RmsNorm (offset {offset}) [{t},{k}]";
        // The cuda path can be switched off (MODULAR_CUDA_FP8_NORM_INPUT=0); the case turns it on for itself.
        bool ran = WithCudaSwitch(ck => ck.Fp8NormInput, (ck, on) => ck.Fp8NormInput = on,
            () => fused.TryLinearQuantizedNormInput(xt, rt, nt, eps, offset, qw, bt, o));
        if (Target.Kernels is Backends.Cuda.CudaKernels { Fp8ActivationQuantization: true, Fp8GemmUnavailable: null })
            Assert.True(ran, $"{shape}: the cuda norm-input FP8 product declined");
        Assert.SkipUnless(ran, $"backend '{Target.Name}' declined the norm-input product for {shape}");
        var got = Get(o);
        var gotResidual = Get(rt);
        Checks.Close(Target.Name, "LinearQuantizedNormInput", shape, got, Oracle(w, h, b, t), Math.Max(Fp8ActivationTolerance, Tolerance.For(Act)));
        Checks.Exact<float>(Target.Name, "LinearQuantizedNormInput residual", shape, gotResidual, summed);
        using var rt2 = Put(Target, residual, Act, t, k);
        using var normed = Target.Allocate(Act, t, k);
        using var plain = Target.Allocate(Act, t, n);
        if (xt is null) Target.Kernels.RmsNorm(rt2, nt, eps, offset, normed);
        else Target.Kernels.AddRmsNorm(xt, rt2, nt, eps, offset, normed);
        kernels.LinearQuantized(normed, qw, bt, plain);
        Checks.Exact<float>(Target.Name, "LinearQuantizedNormInput vs (Add)RmsNorm + LinearQuantized", shape, got, Get(plain));
        Checks.Exact<float>(Target.Name, "LinearQuantizedNormInput residual vs AddRmsNorm's", shape, gotResidual, Get(rt2));
    }

    /// <summary>The decode GEMV recorded into a CUDA graph replays to the directly launched result.</summary>
    [Fact, Trait("tier", "optional")]
    public void LinearQuantizedGraphReplay()
    {
        var kernels = Quantized(QuantizedFormat.Int4);
        var target = Target;
        Assert.SkipUnless(target is IGraphCapture, $"backend '{target.Name}' does not capture graphs");
        var capture = (IGraphCapture)target;
        var w = MakeWeight(QuantizedFormat.Int4, 96, 256, 128, 1, zeros: true, actOrder: false);
        var x = Round(Data.Uniform(256), Act);
        using var qw = Upload(target, w);
        using var xt = Put(target, x, Act, 1, 256);
        using var direct = target.Allocate(Act, 1, 96);
        kernels.LinearQuantized(xt, qw, null, direct);
        var expected = Get(direct);
        using var replayed = target.Allocate(Act, 1, 96);
        using var graph = capture.Capture(() => kernels.LinearQuantized(xt, qw, null, replayed));
        // Capture records without running: the output is still zero until the replay.
        Assert.True(Get(replayed).AsSpan().IndexOfAnyExcept(0f) < 0, "capture ran the quantized GEMV instead of recording it");
        graph.Replay();
        Checks.Exact(target.Name, "LinearQuantized graph replay", "Int4 W [96,256] x [1,256]", Get(replayed).AsSpan(), expected.AsSpan());
    }

    /// <summary>
    /// Runs <paramref name="body"/> with one of the cuda backend's A/B switches on, restoring it afterwards; on any other
    /// backend just runs it.
    /// </summary>
    private bool WithCudaSwitch(Func<Backends.Cuda.CudaKernels, bool> get, Action<Backends.Cuda.CudaKernels, bool> set, Func<bool> body)
    {
        if (Target.Kernels is not Backends.Cuda.CudaKernels ck) return body();
        bool was = get(ck);
        set(ck, true);
        try
        {
            return body();
        }
        finally
        {
            set(ck, was);
        }
    }

    private IQuantizedKernels Quantized(QuantizedFormat format)
    {
        var kernels = Target.Kernels as IQuantizedKernels;
        Assert.SkipWhen(kernels is null, $"backend '{Target.Name}' has no quantized kernels (IQuantizedKernels)");
        Assert.SkipUnless(kernels!.Supports(format), $"backend '{Target.Name}' does not run {format} weights");
        return kernels;
    }

    /// <summary>Checks the target against the oracle, then (for device targets) against the CPU backend.</summary>
    private void Compare(string op, string shape, Func<IBackend, float[]> run, double[] oracle, double tol)
    {
        var outT = run(Target);
        Checks.Close(Target.Name, op, shape, outT, oracle, tol);
        if (Fixture.Cpu is { } cpu)
            Checks.Close(Target.Name, op + " vs cpu", shape, outT, run(cpu), tol);
    }

    private static float[] Run(IBackend be, IQuantizedKernels kernels, HostWeight w, float[] x, float[]? bias, int t, DType outType)
    {
        using var qw = Upload(be, w);
        using var xt = Put(be, x, be.ActivationDType, t, w.K);
        using var bt = bias is null ? null : Put(be, bias, be.WeightDType(DType.BF16), w.N);
        using var o = be.Allocate(outType, t, w.N);
        kernels.LinearQuantized(xt, qw, bt, o);
        return Get(o);
    }

    private static QuantizedWeight Upload(IBackend be, HostWeight w)
    {
        var data = be.Allocate(DType.U8, w.N, QuantizedWeight.RowBytesOf(w.Format, w.K));
        be.Upload(w.Data, DType.U8, data);
        var scales = be.Allocate(DType.F32, (w.N + w.ScaleBlockRows - 1) / w.ScaleBlockRows, w.Groups);
        be.Upload(MemoryMarshal.AsBytes(w.Scales.AsSpan()), DType.F32, scales);
        Tensor? zeros = null, gidx = null;
        if (w.Zeros is not null)
        {
            zeros = be.Allocate(DType.F32, w.N, w.Groups);
            be.Upload(MemoryMarshal.AsBytes(w.Zeros.AsSpan()), DType.F32, zeros);
        }
        if (w.GroupIndex is not null)
        {
            gidx = be.Allocate(DType.I32, w.K);
            be.Upload(MemoryMarshal.AsBytes(w.GroupIndex.AsSpan()), DType.I32, gidx);
        }
        return new QuantizedWeight(w.Format, w.N, w.K, data, scales, zeros, w.GroupSize, w.ScaleBlockRows, gidx);
    }

    /// <summary>
    /// Random codes and scales. groupSize 0 = one group per row; scaleBlockRows 0 = per tensor. Act-order scatters the
    /// inputs of each group along K with a random permutation, as GPTQ's desc_act does.
    /// </summary>
    private HostWeight MakeWeight(QuantizedFormat format, int n, int k, int groupSize, int scaleBlockRows, bool zeros, bool actOrder,
        bool fp16Scales = true)
    {
        int gs = groupSize == 0 ? k : groupSize;
        int sbr = scaleBlockRows == 0 ? n : scaleBlockRows;
        int groups = (k + gs - 1) / gs;
        int rowBytes = QuantizedWeight.RowBytesOf(format, k);
        var data = new byte[(long)n * rowBytes];
        int levels = format == QuantizedFormat.Int4 ? 16 : 256;
        var codes = Data.Ints(n * k, levels);
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++)
            {
                int q = codes[r * k + c];
                if (format == QuantizedFormat.Fp8E4M3 && (q & 0x7F) == 0x7F) q ^= 1; // no NaN codes
                if (format != QuantizedFormat.Int4) { data[(long)r * rowBytes + c] = (byte)q; continue; }
                long at = (long)r * rowBytes + c / 32 * 16 + c % 16;
                data[at] |= (byte)((c & 16) == 0 ? q : q << 4);
            }
        // Scales chosen so |W| stays near 0.05: integer codes span +-levels/2 around the zero point, FP8 codes +-448.
        float span = format == QuantizedFormat.Fp8E4M3 ? 448f : levels / 2f;
        var scales = Data.Uniform((long)((n + sbr - 1) / sbr) * groups, 0.5f);
        // Integer formats get fp16 scales, as GPTQ and AWQ checkpoints store them (FP8's are float32 in the HF format).
        for (int i = 0; i < scales.Length; i++)
            scales[i] = format == QuantizedFormat.Fp8E4M3 || !fp16Scales ? (1f + scales[i]) * 0.05f / span : (float)(Half)((1f + scales[i]) * 0.05f / span);
        float[]? z = null;
        if (zeros)
        {
            var zi = Data.Ints(n * groups, levels / 2);
            z = new float[zi.Length];
            for (int i = 0; i < z.Length; i++) z[i] = levels / 4 + zi[i];
        }
        int[]? gidx = null;
        if (actOrder)
        {
            var perm = Data.Permutation(k);
            gidx = new int[k];
            for (int i = 0; i < k; i++) gidx[perm[i]] = i / gs;
        }
        return new HostWeight(format, n, k, data, scales, groups, z, gs, sbr, gidx);
    }

    /// <summary>y = x W^T (+ b) in float64 with W dequantized as <see cref="QuantizedWeight"/> defines it.</summary>
    private static double[] Oracle(HostWeight w, float[] x, float[]? bias, int t)
    {
        int n = w.N, k = w.K, rowBytes = QuantizedWeight.RowBytesOf(w.Format, k);
        double mid = w.Format switch { QuantizedFormat.Int4 => 8, QuantizedFormat.Int8 => 128, _ => 0 };
        var wd = new double[(long)n * k];
        for (int r = 0; r < n; r++)
            for (int c = 0; c < k; c++)
            {
                int g = w.GroupIndex?[c] ?? c / w.GroupSize;
                double q;
                if (w.Format == QuantizedFormat.Int4)
                {
                    byte by = w.Data[(long)r * rowBytes + c / 32 * 16 + c % 16];
                    q = (c & 16) == 0 ? by & 15 : by >> 4;
                }
                else if (w.Format == QuantizedFormat.Int8) q = w.Data[(long)r * rowBytes + c];
                else q = DecodeE4M3(w.Data[(long)r * rowBytes + c]);
                double zero = w.Zeros?[(long)r * w.Groups + g] ?? mid;
                wd[(long)r * k + c] = (q - zero) * w.Scales[(long)(r / w.ScaleBlockRows) * w.Groups + g];
            }
        var y = new double[(long)t * n];
        for (int i = 0; i < t; i++)
            for (int r = 0; r < n; r++)
            {
                double s = bias?[r] ?? 0;
                for (int c = 0; c < k; c++) s += (double)x[(long)i * k + c] * wd[(long)r * k + c];
                y[(long)i * n + r] = s;
            }
        return y;
    }

    /// <summary>e4m3fn: sign, 4 exponent bits (bias 7), 3 mantissa bits; exponent 0 is subnormal (m 2^-9).</summary>
    private static double DecodeE4M3(byte u)
    {
        int e = (u >> 3) & 15, m = u & 7;
        double v = e == 0 ? m * Math.Pow(2, -9) : (1 + m / 8.0) * Math.Pow(2, e - 7);
        return (u & 0x80) != 0 ? -v : v;
    }
}
