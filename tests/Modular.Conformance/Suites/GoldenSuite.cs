using System.Runtime.InteropServices;
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
        var results = GoldenVerifier.Run(model, dir);
        using var refs = SafetensorsFile.Open(Path.Combine(dir, "golden.safetensors"));
        foreach (var r in results)
        {
            double scale = MaxAbsReference(refs, r.Case);
            bool f32 = Act == DType.F32;
            double err = f32 ? r.MaxAbsError : r.MaxAbsError / scale;
            double tol = f32 ? F32LogitTolerance : Bf16RelativeTolerance;
            bool greedyOk = r.GreedyMatched == r.GreedyTotal || r.FragileDivergence;
            bool pass = err <= tol && greedyOk;
            string measure = f32 ? "max abs logit error" : $"max abs logit error {r.MaxAbsError:E3} / max |ref| {scale:F2}";
            Checks.Record(b.Name, $"Golden.{name}.case{r.Case}",
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
