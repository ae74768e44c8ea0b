using Modular.Abstractions;
using Modular.Backends.Rocm;

namespace Modular.Rocm.Tests;

/// <summary>The plugin contract: probe ranking, provider settings, device facts, dtype policy.</summary>
public class PluginTests(RocmFixture fx)
{
    [Fact]
    public void ProbeRanksByDeviceKind()
    {
        var plugin = new RocmPlugin();
        double score = plugin.Probe();
        Assert.Equal("rocm", plugin.Name);
        Assert.Equal(ContractVersion.Major, plugin.ContractVersion);
        // The ILGPU CPU simulator always exists, so the probe is never 0 here; a GPU ranks above cpu's 1, pocl below.
        Assert.True(score is 0.5 or 2, $"probe {score}: {plugin.ProbeDetail}");
        if (plugin.ProbeDetail.Contains("CPU device")) Assert.Equal(0.5, score);
        if (plugin.ProbeDetail.StartsWith("opencl GPU")) Assert.Equal(2, score);
    }

    [Fact]
    public void ChosenDeviceIsNamedInInfo()
    {
        var b = fx.OpenCL;
        Assert.Equal("rocm", b.Name);
        Assert.StartsWith(RocmFixture.MainAccelerator + ": ", b.Info.Name);
        Assert.True(b.Info.TotalMemory > 0);
    }

    [Fact]
    public void UnknownAcceleratorSettingIsRejectedByName()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new RocmBackendProvider().Create(new BackendOptions(Settings: new Dictionary<string, string> { ["accelerator"] = "tpu" })));
        Assert.Contains("accelerator", e.Message);
        Assert.Contains("tpu", e.Message);
    }

    [Fact]
    public void SixteenBitWeightsStayHalfWidthAndRoundTrip()
    {
        var b = fx.OpenCL;
        Assert.Equal(DType.BF16, b.WeightDType(DType.BF16));
        Assert.Equal(DType.F16, b.WeightDType(DType.F16));
        Assert.Equal(DType.F16, b.WeightDType(DType.F8E4M3));
        float[] x = [1f, -2.5f, 3.140625f, 65504f, 1e-7f];
        foreach (var dt in new[] { DType.F16, DType.BF16 })
        {
            using var t = HostTensors.Weight(b, x, dt, x.Length);
            Assert.Equal(dt, t.DType);
            var back = HostTensors.Get(t);
            for (int i = 0; i < x.Length; i++) Assert.Equal(HostTensors.Round(x[i], dt), back[i]);
        }
        // float32 uploaded into a BF16 tensor rounds to nearest even.
        using var r = b.Allocate(DType.BF16, 1);
        b.Upload(BitConverter.GetBytes(BitConverter.UInt32BitsToSingle(0x3F808000u)), DType.F32, r);
        Assert.Equal(BitConverter.UInt32BitsToSingle(0x3F800000u), HostTensors.Get(r)[0]);
    }

    [Fact]
    public void ForeignTensorsAreRefusedByBackendName()
    {
        var b = fx.OpenCL;
        using var cpuTensor = fx.Cpu.Allocate(DType.F32, 4);
        using var o = b.Allocate(DType.F32, 4);
        var e = Assert.Throws<ArgumentException>(() => b.Kernels.Add(cpuTensor, o, o));
        Assert.Contains("cpu", e.Message);
    }
}
