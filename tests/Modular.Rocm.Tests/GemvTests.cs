using Modular.Abstractions;
using Modular.Backends.Rocm;
using static Modular.Rocm.Tests.HostTensors;

namespace Modular.Rocm.Tests;

/// <summary>
/// Both decode GEMVs (<see cref="GemvVariant"/>), each forced on every tier, against the CPU backend: whichever one
/// a device picks by default, the other must stay correct for the setting that asks for it. Plus how the variant
/// is chosen and reported.
/// </summary>
public class GemvTests(RocmFixture fx)
{
    private const double Tolerance = 2e-5;

    public static TheoryData<string, GemvVariant, DType> Cases()
    {
        var data = new TheoryData<string, GemvVariant, DType>();
        foreach (var tier in new[] { "opencl", "cpu" })
            foreach (var v in new[] { GemvVariant.Group, GemvVariant.Warp })
                foreach (var dt in new[] { DType.F32, DType.F16, DType.BF16 })
                    data.Add(tier, v, dt);
        return data;
    }

    [Theory, MemberData(nameof(Cases))]
    public void MatchesCpuReference(string tier, GemvVariant variant, DType wt)
    {
        var target = (RocmBackend)fx.Tier(tier);
        var (savedGemv, savedFew) = (target.Gemv, target.FewRowsGemm);
        try
        {
            target.Gemv = variant;
            target.FewRowsGemm = true;
            var rng = new Random(11);
            // Odd K and N (no 32-bit weight pairs, partial lane strides), even K (warp's pair path), 1..8 rows,
            // a single column, and more columns than a launch has groups (4096: the kernels loop over the rest).
            foreach (var (rows, n, k, bias) in new[]
                     {
                         (1, 51, 71, false), (2, 33, 129, true), (3, 70, 258, true), (5, 257, 95, false),
                         (8, 300, 41, true), (7, 1, 1, true), (4, 4099, 6, true),
                     })
            {
                var x = Uniform(rng, rows * k);
                var w = Uniform(rng, n * k, wt);
                var bv = Uniform(rng, n, wt);
                float[] Run(IBackend b)
                {
                    using var xt = Act(b, x, rows, k);
                    using var wt2 = Weight(b, w, wt, n, k);
                    using var bt = bias ? Weight(b, bv, wt, n) : null;
                    using var o = b.Allocate(DType.F32, rows, n);
                    b.Kernels.Linear(xt, wt2, bt, o);
                    return Get(o);
                }
                double err = RelError(Run(target), Run(fx.Cpu));
                Assert.True(err <= Tolerance,
                    $"gemv {variant} [{rows},{k}]x[{n},{k}]^T {wt} bias={bias} on {target.Info.Name}: relative error {err:E2}");
            }
        }
        finally
        {
            target.Gemv = savedGemv;
            target.FewRowsGemm = savedFew;
        }
    }

    [Fact]
    public void AutoPicksGroupOnGpusAndWarpOnCpuDevices()
    {
        Assert.Equal(GemvVariant.Group, GemvSelection.Resolve(null, null, isGpu: true));
        Assert.Equal(GemvVariant.Warp, GemvSelection.Resolve(null, null, isGpu: false));
        Assert.Equal(GemvVariant.Group, GemvSelection.Resolve("auto", " AUTO ", isGpu: true));
    }

    [Fact]
    public void SettingOverridesEnvironmentWhichOverridesAuto()
    {
        Assert.Equal(GemvVariant.Group, GemvSelection.Resolve("group", "warp", isGpu: false));
        Assert.Equal(GemvVariant.Warp, GemvSelection.Resolve("warp", null, isGpu: true));
        Assert.Equal(GemvVariant.Warp, GemvSelection.Resolve("auto", "warp", isGpu: true));
        Assert.Equal(GemvVariant.Group, GemvSelection.Resolve(null, "Group", isGpu: false));
    }

    [Fact]
    public void UnknownValuesAreRejectedNamingTheirSource()
    {
        var e = Assert.Throws<ArgumentException>(() => GemvSelection.Resolve("tiles", null, false));
        Assert.Contains("'gemv'", e.Message);
        Assert.Contains("tiles", e.Message);
        e = Assert.Throws<ArgumentException>(() => GemvSelection.Resolve(null, "wrap", false));
        Assert.Contains(GemvSelection.EnvironmentVariable, e.Message);
    }

    [Fact]
    public void CpuAcceleratorDefaultsToWarpAndNamesIt()
    {
        Assert.SkipWhen(Environment.GetEnvironmentVariable(GemvSelection.EnvironmentVariable) is { Length: > 0 },
            $"{GemvSelection.EnvironmentVariable} is set, so the default is not auto");
        var b = (RocmBackend)fx.Simulator;
        Assert.Equal(GemvVariant.Warp, b.Gemv);
        Assert.EndsWith("(gemv: warp)", b.Info.Name);
    }

    [Fact]
    public void SettingReachesTheBackendAndItsDeviceName()
    {
        var settings = new Dictionary<string, string> { [RocmBackendProvider.AcceleratorSetting] = "cpu", [RocmBackendProvider.GemvSetting] = "group" };
        using var b = (RocmBackend)new RocmBackendProvider().Create(new BackendOptions(Settings: settings));
        Assert.Equal(GemvVariant.Group, b.Gemv);
        Assert.EndsWith("(gemv: group)", b.Info.Name);
        b.Gemv = GemvVariant.Warp;
        Assert.EndsWith("(gemv: warp)", b.Info.Name);
    }
}
