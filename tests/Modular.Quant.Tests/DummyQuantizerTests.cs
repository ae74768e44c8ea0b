using System.Text.Json;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Benchmarks;
using Modular.Models.Loading;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary><c>--load-format dummy --quantization gptq|awq|fp8</c>: random weights made directly in the quantized layout.</summary>
public class DummyQuantizerTests
{
    [Theory]
    [InlineData("gptq", QuantizedFormat.Int4)]
    [InlineData("awq", QuantizedFormat.Int4)]
    [InlineData("fp8", QuantizedFormat.Fp8E4M3)]
    public void GeneratedWeightsAreFiniteAndSmall(string method, QuantizedFormat format)
    {
        var q = new DummyQuantizer(method);
        Assert.Equal(method + "-dummy", q.Method);
        var w = q.Generate(48, 200, salt: 5);
        Assert.Equal(format, w.Format);
        if (format == QuantizedFormat.Int4)
        {
            Assert.Equal(DummyQuantizer.GroupSize, w.GroupSize);
            Assert.NotNull(w.Zeros);
        }
        else Assert.Equal(1, w.Groups);
        var values = w.Dequantize();
        double sum = 0;
        foreach (var v in values)
        {
            Assert.True(float.IsFinite(v), $"{method}: non-finite weight {v}");
            // Int4: |q - z| <= 9 times a scale of at most 1.5 x 0.02 / 8; FP8: |code| <= 448 times 1.5 x 0.02 / 448.
            Assert.True(Math.Abs(v) <= 0.035f, $"{method}: weight {v} outside the dummy range");
            sum += v;
        }
        Assert.True(Math.Abs(sum / values.Length) < 5e-3, $"{method}: mean {sum / values.Length} is not near zero");
    }

    [Fact]
    public void UnknownMethodIsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new DummyQuantizer("int3"));
        Assert.Contains("gptq, awq, fp8", e.Message);
    }

    [Theory]
    [InlineData("gptq")]
    [InlineData("fp8")]
    public void DummyModelLoadsQuantizedAndRuns(string method)
    {
        var config = ModelConfig.Load(Fixtures.BundledModel);
        using var backend = new CpuBackend();
        using var model = DummyWeights.LoadModel(config, "bard-2m (dummy)", backend, 64, new DummyQuantizer(method), method);
        var q = Assert.IsType<QuantizedLinear>(model.Layers[0].Qkv ?? model.Layers[0].Q);
        Assert.Equal(method == "fp8" ? QuantizedFormat.Fp8E4M3 : QuantizedFormat.Int4, q.Weight.Format);
        Assert.IsType<QuantizedLinear>(model.Layers[^1].Down);
        // The LM head stays dense, as the real quantizers keep it.
        Assert.IsNotType<QuantizedLinear>(model.LmHead);
        var r = LatencyBench.Run(model, new LatencySettings(BatchSize: 1, InputLen: 8, OutputLen: 4, Warmup: 0, Iterations: 1), _ => { });
        Assert.True(r.DecodeTokensPerSecond > 0);
    }
}
