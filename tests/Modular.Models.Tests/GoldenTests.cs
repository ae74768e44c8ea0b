using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Verification;
using Modular.Testing;

namespace Modular.Models.Tests;

/// <summary>The CPU backend reproduces Hugging Face's float32 logits for every non-quantized fixture model.</summary>
public class GoldenTests(ITestOutputHelper output)
{
    /// <summary>float32 math on bf16/f16 weights, as the Foundation issue sets it.</summary>
    private const double Tolerance = 1e-3;

    public static TheoryData<string> SharedModels => new()
    {
        "tiny-llama3-rope", "tiny-qwen2", "tiny-qwen3", "tiny-mistral-swa", "tiny-gemma", "tiny-mixtral-moe",
    };

    [Fact]
    public void BundledBard2mMatchesReference() => Verify(Fixtures.BundledModel);

    [Theory]
    [MemberData(nameof(SharedModels))]
    public void SharedFixtureMatchesReference(string name) => Verify(Fixtures.Shared("models", name));

    private void Verify(string dir)
    {
        using var backend = new CpuBackend();
        using var model = TransformerModel.Load(dir, backend);
        var results = GoldenVerifier.Run(model, dir);
        Assert.NotEmpty(results);
        foreach (var r in results)
        {
            output.WriteLine($"{Path.GetFileName(dir)} case {r.Case}: prompt {r.PromptTokens}, max |dlogit| {r.MaxAbsError:E2}, prompt logprob err {r.MaxPromptLogprobError:E2}, greedy {r.GreedyMatched}/{r.GreedyTotal}{(r.FragileDivergence ? " (fragile step)" : "")}");
            Assert.True(r.Passed(Tolerance), $"case {r.Case} failed: {r}");
        }
    }
}
