using Modular.Abstractions;
using Modular.Backends.Cuda;
using static Modular.Conformance.HostData;

namespace Modular.Conformance.Suites;

/// <summary>Optional tier for the cuda backend only: CUDA graph capture/replay and the kernel cache.</summary>
public abstract class CudaSpecificSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private CudaBackend Cuda()
    {
        Assert.SkipUnless(Fixture.Name == "cuda", "cuda-specific tests run only with MODULAR_BACKEND=cuda");
        return (CudaBackend)Target;
    }

    /// <summary>The decode shapes (1..4 rows, K a multiple of 8) must take the fused gate|up GEMV, not decline it.</summary>
    [Fact, Trait("tier", "optional")]
    public void FusedGateUpTakesDecodeRows()
    {
        var b = Cuda();
        var f = (IFusedGateUpKernels)b.Kernels;
        using var w = b.Allocate(DType.BF16, 2 * 64, 256);
        for (int t = 1; t <= 4; t++)
        {
            using var x = b.Allocate(DType.BF16, t, 256);
            using var o = b.Allocate(DType.BF16, t, 64);
            Assert.True(f.TryLinearActAndMul(x, w, Activation.Silu, o), $"T {t} was declined");
        }
        using var x5 = b.Allocate(DType.BF16, 5, 256);
        using var o5 = b.Allocate(DType.BF16, 5, 64);
        Assert.False(f.TryLinearActAndMul(x5, w, Activation.Silu, o5), "T 5 is past the GEMV and must be declined");
    }

    /// <summary>
    /// bf16 products past the GEMV go through cuBLASLt with a timed algorithm choice (Bf16Gemm): a new shape class is
    /// tuned, a second length of the same class reuses its winner, a product first seen inside a graph capture is
    /// recorded without tuning, and every result matches cublasGemmEx's within bf16 rounding.
    /// </summary>
    [Fact, Trait("tier", "optional")]
    public void TunedGemmMatchesGemmEx()
    {
        var b = Cuda();
        var gemm = ((CudaKernels)b.Kernels).Gemm;
        if (!Bf16Gemm.Enabled || !Bf16Gemm.Tune) Assert.Skip("MODULAR_CUDA_GEMM_LT=0 or MODULAR_CUDA_GEMM_TUNE=0 is set");
        const int k = 1024, n = 1536;
        var w = Round(Data.Uniform((long)n * k, 1f / MathF.Sqrt(k)), DType.BF16);
        using var wt = Put(b, w, DType.BF16, n, k);
        int tunedBefore = gemm.TuneStats.Tuned;
        foreach (int t in new[] { 40, 57, 200 })  // 40 and 57 share the class of 64 rows; 200 is a class of its own
        {
            var x = Round(Data.Uniform((long)t * k), DType.BF16);
            using var xt = Put(b, x, DType.BF16, t, k);
            using var o = b.Allocate(DType.BF16, t, n);
            b.Kernels.Linear(xt, wt, null, o);
            Checks.Close(b.Name, "Linear (cuBLASLt, tuned)", $"x {Checks.Dims(t, k)} W {Checks.Dims(n, k)}", Get(o),
                Reference.ReferenceOps.Linear(x, w, null, k, n), Tolerance.For(DType.BF16));
        }
        Assert.Equal(tunedBefore + 2, gemm.TuneStats.Tuned);

        // A class first met while recording: no timing inside the capture, the replay still computes the product.
        const int tg = 700;
        var xg = Round(Data.Uniform((long)tg * k), DType.BF16);
        using var xgt = Put(b, xg, DType.BF16, tg, k);
        using var og = b.Allocate(DType.BF16, tg, n);
        using var graph = b.Capture(() => b.Kernels.Linear(xgt, wt, null, og));
        graph.Replay();
        Checks.Close(b.Name, "Linear (cuBLASLt, first seen in a graph)", $"x {Checks.Dims(tg, k)} W {Checks.Dims(n, k)}", Get(og),
            Reference.ReferenceOps.Linear(xg, w, null, k, n), Tolerance.For(DType.BF16));
        Assert.Equal(tunedBefore + 2, gemm.TuneStats.Tuned);
    }

    [Fact, Trait("tier", "optional")]
    public void GraphReplayMatchesDirectLaunches()
    {
        var b = Cuda();
        const int t = 8, h = 512;
        var x = Round(Data.Uniform(t * h), DType.BF16);
        var r = Round(Data.Uniform(t * h), DType.BF16);
        var w = Round(Data.Uniform(h), DType.BF16);
        using var xt = Put(b, x, DType.BF16, t, h);
        using var wt = Put(b, w, DType.BF16, h);
        using var rDirect = Put(b, r, DType.BF16, t, h);
        using var oDirect = b.Allocate(DType.BF16, t, h);
        b.Kernels.AddRmsNorm(xt, rDirect, wt, 1e-5f, 0, oDirect);
        b.Kernels.Add(oDirect, xt, oDirect);
        var expected = Get(oDirect);

        using var rGraph = Put(b, r, DType.BF16, t, h);
        using var oGraph = b.Allocate(DType.BF16, t, h);
        using var graph = b.Capture(() =>
        {
            b.Kernels.AddRmsNorm(xt, rGraph, wt, 1e-5f, 0, oGraph);
            b.Kernels.Add(oGraph, xt, oGraph);
        });
        // Capture records without running: the output is still zero until the first replay.
        Assert.True(Get(oGraph).AsSpan().IndexOfAnyExcept(0f) < 0, "capture ran the work instead of recording it");
        graph.Replay();
        Checks.Exact(b.Name, "CudaGraph replay", $"AddRmsNorm+Add [{t},{h}]", Get(oGraph).AsSpan(), expected.AsSpan());
    }

    [Fact, Trait("tier", "optional")]
    public void ReportsDevice()
    {
        var b = Cuda();
        Checks.Note($"cuda: {b.DeviceName}, {b.DriverVersion}, {b.MultiprocessorCount} SMs, kernels from cache: {b.KernelsFromCache}");
        Assert.Equal(DType.BF16, b.ActivationDType);
    }
}
