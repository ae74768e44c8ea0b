using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Verification;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary>Quantized fixture checkpoints reproduce the Hugging Face references (float32 model on the dequantized weights).</summary>
public class GoldenQuantTests(ITestOutputHelper output)
{
    private const double Tolerance = 2e-3;

    [Theory]
    [InlineData("bard-2m-gptq-int4-g64")]
    [InlineData("bard-2m-gptq-int4-g64-actorder")]
    [InlineData("bard-2m-awq-int4-g64")]
    [InlineData("bard-2m-fp8")]
    public void QuantizedFixtureMatchesReference(string name)
    {
        var dir = Fixtures.Shared("models", name);
        using var backend = new CpuBackend();
        using var model = TransformerModel.Load(dir, backend, QuantPlugin.Find);
        var q = model.Layers[0].Qkv ?? model.Layers[0].Q!;
        Assert.True(q is QuantizedLinear && model.Layers[0].GateUp is QuantizedLinear,
            $"{name}: the loader did not hand the quantized linears to the quant plugin (got {q.GetType().Name})");
        var results = GoldenVerifier.Run(model, dir);
        Assert.NotEmpty(results);
        foreach (var r in results)
        {
            output.WriteLine($"{name} case {r.Case}: prompt {r.PromptTokens}, max |dlogit| {r.MaxAbsError:E2}, prompt logprob err {r.MaxPromptLogprobError:E2}, greedy {r.GreedyMatched}/{r.GreedyTotal}");
            Assert.True(r.Passed(Tolerance), $"{name} case {r.Case} failed: {r}");
        }
    }
}
