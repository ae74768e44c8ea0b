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
/// max abs error / max |reference logit| within 2e-2. On the cuda backend the FP8 fixture runs twice: with bf16
/// activations (2e-2), and with the FP8 tensor-core path that quantizes activations per token for batches past the
/// decode GEMV, held to 1e-1 (the FP8-activation bound issue #8 sets, in this suite's relative measure). Greedy ids
/// must match up to the first step whose reference margin is below the error.
/// </summary>
public abstract class QuantizedGoldenSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private const double F32LogitTolerance = 2e-4;
    private const double Bf16RelativeTolerance = 2e-2;
    private const double Fp8ActivationRelativeTolerance = 1e-1;

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
        if (name.Contains("fp8", StringComparison.Ordinal) && b.Kernels is Backends.Cuda.CudaKernels ck)
        {
            bool was = ck.Fp8ActivationQuantization;
            try
            {
                ck.Fp8ActivationQuantization = false;
                Verify(b, name, dir, "bf16 activations", Bf16RelativeTolerance);
                ck.Fp8ActivationQuantization = true;
                Verify(b, name, dir, "fp8 activations", Fp8ActivationRelativeTolerance);
            }
            finally { ck.Fp8ActivationQuantization = was; }
            return;
        }
        Verify(b, name, dir, "", Bf16RelativeTolerance);
    }

    private void Verify(IBackend b, string name, string dir, string variant, double relTol)
    {
        using var model = TransformerModel.Load(dir, b, QuantPlugin.Find);
        Assert.True(model.Layers[0].Q is QuantizedLinear, $"{name}: the first layer's q projection loaded as {model.Layers[0].Q.GetType().Name}, not quantized");
        var results = GoldenVerifier.Run(model, dir);
        using var refs = SafetensorsFile.Open(Path.Combine(dir, "golden.safetensors"));
        bool f32 = Act == DType.F32;
        string label = variant.Length == 0 ? name : $"{name} ({variant})";
        var failures = new List<string>();
        foreach (var r in results)
        {
            double scale = MaxAbsReference(refs, r.Case);
            double err = f32 ? r.MaxAbsError : r.MaxAbsError / scale;
            double tol = f32 ? F32LogitTolerance : relTol;
            bool greedyOk = r.GreedyMatched == r.GreedyTotal || r.FragileDivergence;
            bool pass = err <= tol && greedyOk;
            string measure = $"max abs logit error {r.MaxAbsError:E3}" + (f32 ? "" : $" / max |ref| {scale:F2}");
            Checks.Record(b.Name, $"QuantGolden.{label}.case{r.Case}",
                $"prompt {r.PromptTokens}, greedy {r.GreedyMatched}/{r.GreedyTotal}{(r.FragileDivergence ? " (fragile step)" : "")}, logprob err {r.MaxPromptLogprobError:E2}, {measure}",
                err, tol, pass);
            if (!pass)
                failures.Add($"case {r.Case}: {measure} = {err:E3} (tolerance {tol:E1}), prompt logprob error {r.MaxPromptLogprobError:E3}, " +
                    $"greedy {r.GreedyMatched}/{r.GreedyTotal} matched, fragile {r.FragileDivergence}");
        }
        // Every case is recorded before failing, so a report shows the whole fixture.
        Assert.True(failures.Count == 0, $"golden {label} on {b.Name}: " + string.Join("; ", failures));
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
