using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Verification;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary><c>--quantization fp8</c>: a bf16 checkpoint's linears are quantized at load, the LM head stays dense.</summary>
public class OnlineFp8LoadTests(ITestOutputHelper output)
{
    [Fact]
    public void Bard2mQuantizedAtLoadStaysCloseToReference()
    {
        using var backend = new CpuBackend();
        using var model = TransformerModel.Load(Fixtures.BundledModel, backend,
            m => m == "fp8-online" ? new Fp8OnlineQuantizer() : null, quantization: "fp8");
        Assert.IsNotType<DenseLinear>(model.Layers[0].Q);
        Assert.IsType<DenseLinear>(model.LmHead);
        foreach (var r in GoldenVerifier.Run(model, Fixtures.BundledModel))
        {
            output.WriteLine(r.ToString());
            // FP8 weights with float32 activations: the fixtures README puts FP8 around 1e-1.
            Assert.True(r.MaxAbsError < 0.25, r.ToString());
        }
    }

    [Fact]
    public void UnknownOnlineMethodIsRefused()
    {
        using var backend = new CpuBackend();
        var e = Assert.Throws<Modular.Models.Loading.ModelFileException>(() =>
            TransformerModel.Load(Fixtures.BundledModel, backend, _ => null, quantization: "int3"));
        Assert.Contains("--quantization int3", e.Message);
    }
}
