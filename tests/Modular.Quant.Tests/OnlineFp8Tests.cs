using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Models.Loading;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary>Online FP8: bf16 linears of bard-2m quantized at load, fused gate|up, against the bf16 layer.</summary>
public class OnlineFp8Tests
{
    [Fact]
    public void QuantizesBf16GateUpAtLoadWithinFp8Error()
    {
        using var ck = Checkpoint.Open(Fixtures.BundledModel);
        using var backend = new CpuBackend(threads: 2);
        string[] prefixes = ["model.layers.2.mlp.gate_proj", "model.layers.2.mlp.up_proj"];
        var quantizer = new Fp8OnlineQuantizer();
        Assert.Null(quantizer.Check(Fp8OnlineQuantizer.Config));
        using var layer = quantizer.Load(ck, prefixes, Fp8OnlineQuantizer.Config, backend, null);
        var q = Assert.IsType<QuantizedLinear>(layer);
        Assert.Equal(QuantizedFormat.Fp8E4M3, q.Weight.Format);
        Assert.Equal(ScaleGranularity.PerChannel, q.Weight.Granularity);
        Assert.Equal((1024, 192), (layer.OutFeatures, layer.InFeatures));

        var w = new List<float>();
        foreach (var p in prefixes) w.AddRange(NaiveDequant.Floats(ck, p + ".weight"));
        const int tokens = 4, n = 1024, k = 192;
        var x = TestSupport.Random(tokens * k, 7);
        using var xt = backend.Allocate(DType.F32, tokens, k);
        backend.Upload(MemoryMarshal.AsBytes(x.AsSpan()), DType.F32, xt);
        using var yt = backend.Allocate(DType.F32, tokens, n);
        layer.Forward(xt, yt);
        var y = new float[tokens * n];
        backend.DownloadF32(yt, y);
        var exact = NaiveDequant.MatMul(x, [.. w], null, tokens, n, k);
        double err = 0, scale = 0;
        for (int i = 0; i < y.Length; i++) { err = Math.Max(err, Math.Abs(y[i] - exact[i])); scale = Math.Max(scale, Math.Abs(exact[i])); }
        // e4m3 keeps 3 mantissa bits (relative error <= 1/16 per weight); over 192 random-sign terms the output
        // error stays a few percent of the largest output. A wrong scale or decode would be off by far more.
        Assert.True(err <= 0.05 * scale, $"online FP8 output error {err:E2} vs outputs up to {scale:E2}");
        Assert.True(err > 0, "online FP8 should not be bit-exact with bf16");
    }

    [Fact]
    public void KeepsLmHeadDense()
    {
        using var ck = Checkpoint.Open(Fixtures.BundledModel);
        using var backend = new CpuBackend(threads: 1);
        using var head = new Fp8OnlineQuantizer().Load(ck, ["lm_head"], Fp8OnlineQuantizer.Config, backend, null);
        Assert.IsType<DenseLayer>(head);
    }
}
