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
        var q = model.Layers[0].Qkv ?? model.Layers[0].Q!;
        Assert.True(q is QuantizedLinear, $"{name}: the first layer's q projection loaded as {q.GetType().Name}, not quantized");
        string label = variant.Length == 0 ? name : $"{name} ({variant})";
        var failures = GoldenCases.Judge(b.Name, $"QuantGolden.{label}", model, dir, Act == DType.F32, F32LogitTolerance, relTol)
            .Where(v => !v.Pass).Select(v => $"case {v.Result.Case}: {v.Describe()}").ToList();
        Assert.True(failures.Count == 0, $"golden {label} on {b.Name}: " + string.Join("; ", failures));
    }
}
