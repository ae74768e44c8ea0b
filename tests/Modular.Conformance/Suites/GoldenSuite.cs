using Modular.Abstractions;
using Modular.Models;
using Modular.Models.Verification;
using Modular.Testing;

namespace Modular.Conformance.Suites;

/// <summary>
/// Model tier: whole checkpoints run through the model runner on the backend under test and compared with the
/// Hugging Face references (logits, prompt logprobs, greedy ids). Tolerances follow the fixtures' README:
/// float32 about 1e-4 max abs logit error, bf16 activations about 5e-2 (here 1e-1: the tiny random models have
/// large logits). Greedy ids must match up to the first step whose reference margin is below the error.
/// </summary>
public abstract class GoldenSuite(BackendFixture fixture) : SuiteBase(fixture)
{
    private double LogitTolerance => Act == DType.F32 ? 2e-4 : 1.5e-1;

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
        var results = GoldenVerifier.Run(model, dir);
        foreach (var r in results)
        {
            bool pass = r.Passed(LogitTolerance);
            Checks.Record(b.Name, $"Golden.{name}.case{r.Case}",
                $"prompt {r.PromptTokens}, greedy {r.GreedyMatched}/{r.GreedyTotal}{(r.FragileDivergence ? " (fragile step)" : "")}, logprob err {r.MaxPromptLogprobError:E2}",
                r.MaxAbsError, LogitTolerance, pass);
            Assert.True(pass, $"golden {name} case {r.Case} on {b.Name}: max abs logit error {r.MaxAbsError:E3} (tolerance {LogitTolerance:E1}), " +
                $"prompt logprob error {r.MaxPromptLogprobError:E3}, greedy {r.GreedyMatched}/{r.GreedyTotal} matched, fragile {r.FragileDivergence}");
        }
    }
}
