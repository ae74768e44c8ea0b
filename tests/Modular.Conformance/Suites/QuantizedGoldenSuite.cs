using System.Runtime.InteropServices;
using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Models.Verification;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Conformance.Suites;

/// <summary>
/// Model tier for quantized checkpoints (what <c>modular verify-golden</c> runs, through the quant plugin's readers):
/// the shared GPTQ, act-order GPTQ, AWQ and FP8 fixtures on the backend under test against their Hugging Face
/// references, which were computed with the dequantized weights in place, so the error is the backend's, not the
/// quantization's. Bounds as <see cref="GoldenSuite"/>: float32 backends 2e-4 max abs logit error; bf16 backends
/// max abs error / max |reference logit| within 2e-2, and twice that for FP8, whose batched path may quantize
/// activations (the fixtures' README puts FP8-activation error at twice the bf16 one). Greedy ids must match up to
/// the first step whose reference margin is below the error.
/// </summary>
public abstract class QuantizedGoldenSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private const double F32LogitTolerance = 2e-4;
    private const double Bf16RelativeTolerance = 2e-2;

    [Theory, Trait("tier", "model")]
    [InlineData("bard-2m-gptq-int4-g64")]
    [InlineData("bard-2m-gptq-int4-g64-actorder")]
    [InlineData("bard-2m-awq-int4-g64")]
    [InlineData("bard-2m-fp8")]
    public void QuantizedFixture(string name)
    {
        var dir = Fixtures.Shared("models", name);
        Assert.SkipUnless(File.Exists(Path.Combine(dir, "golden.json")), $"{dir} has no golden.json");
        var b = Target;
        Assert.SkipUnless(b.Kernels is IQuantizedKernels, $"backend '{b.Name}' has no quantized kernels; the quant plugin would load {name} dequantized");
        using var model = TransformerModel.Load(dir, b, QuantPlugin.Find);
        Assert.True(model.Layers[0].Q is QuantizedLinear, $"{name}: the first layer's q projection loaded as {model.Layers[0].Q.GetType().Name}, not quantized");
        var results = GoldenVerifier.Run(model, dir);
        using var refs = SafetensorsFile.Open(Path.Combine(dir, "golden.safetensors"));
        bool f32 = Act == DType.F32;
        double relTol = name.Contains("fp8", StringComparison.Ordinal) ? 2 * Bf16RelativeTolerance : Bf16RelativeTolerance;
        foreach (var r in results)
        {
            double scale = MaxAbsReference(refs, r.Case);
            double err = f32 ? r.MaxAbsError : r.MaxAbsError / scale;
            double tol = f32 ? F32LogitTolerance : relTol;
            bool greedyOk = r.GreedyMatched == r.GreedyTotal || r.FragileDivergence;
            bool pass = err <= tol && greedyOk;
            string measure = $"max abs logit error {r.MaxAbsError:E3}" + (f32 ? "" : $" / max |ref| {scale:F2}");
            Checks.Record(b.Name, $"QuantGolden.{name}.case{r.Case}",
                $"prompt {r.PromptTokens}, greedy {r.GreedyMatched}/{r.GreedyTotal}{(r.FragileDivergence ? " (fragile step)" : "")}, logprob err {r.MaxPromptLogprobError:E2}, {measure}",
                err, tol, pass);
            Assert.True(pass, $"golden {name} case {r.Case} on {b.Name}: {measure} = {err:E3} (tolerance {tol:E1}), " +
                $"prompt logprob error {r.MaxPromptLogprobError:E3}, greedy {r.GreedyMatched}/{r.GreedyTotal} matched, fragile {r.FragileDivergence}");
        }
    }

    private static double MaxAbsReference(SafetensorsFile refs, int c)
    {
        string key = refs.Contains($"logits_{c}") ? $"logits_{c}" : $"last_logits_{c}";
        Assert.True(refs.Contains(key), $"golden.safetensors has neither logits_{c} nor last_logits_{c}");
        double m = 0;
        foreach (var v in MemoryMarshal.Cast<byte, float>(refs.Bytes(key))) m = Math.Max(m, Math.Abs(v));
        return m;
    }
}
