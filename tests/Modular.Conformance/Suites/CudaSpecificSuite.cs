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
