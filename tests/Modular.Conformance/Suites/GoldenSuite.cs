using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Models.Verification;
using Modular.Testing;

namespace Modular.Conformance.Suites;

/// <summary>
/// Model tier: whole checkpoints run through the model runner on the backend under test and compared with the
/// Hugging Face references (logits, prompt logprobs, greedy ids). Float32 backends must stay within 2e-4 max abs
/// logit error. For bf16 activations the error grows with the logits' scale (the trained bard-2m reaches |logit|
/// 23), so the bound is relative: max abs error / max |reference logit| within 2e-2, the same max-norm measure as
/// the kernel tier. Greedy ids must match up to the first step whose reference margin is below the error.
/// </summary>
public abstract class GoldenSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private const double F32LogitTolerance = 2e-4;
    private const double Bf16RelativeTolerance = 2e-2;

    [Fact, Trait("tier", "model")]
    public void BundledBard2m() => Verify("bard-2m (bundled)", Fixtures.BundledModel);

    [Theory, Trait("tier", "model")]
    [InlineData("bard-2m")]
    [InlineData("tiny-llama3-rope")]
    [InlineData("tiny-qwen2")]
    [InlineData("tiny-qwen3")]
    [InlineData("tiny-mistral-swa")]
    [InlineData("tiny-gemma")]
    [InlineData("tiny-mixtral-moe")]
    public void SharedFixture(string name) => Verify(name, Fixtures.Shared("models", name));

    private void Verify(string name, string dir)
    {
        Assert.SkipUnless(File.Exists(Path.Combine(dir, "golden.json")), $"{dir} has no golden.json");
        var b = Target;
        using var model = TransformerModel.Load(dir, b);
        var verdicts = GoldenCases.Judge(b.Name, $"Golden.{name}", model, dir, Act == DType.F32, F32LogitTolerance, Bf16RelativeTolerance);
        foreach (var v in verdicts)
            Assert.True(v.Pass, $"golden {name} case {v.Result.Case} on {b.Name}: {v.Describe()}");
    }
}
