using Modular.Abstractions;
using Modular.Models;
using Modular.Testing;

namespace Modular.Engine.Tests;

/// <summary>
/// Batch invariance on the shared fixture architectures: sliding-window attention (whose window is shorter than
/// the prompts), per-head q/k norms, mixture of experts and Llama-3 RoPE scaling all give the same greedy ids
/// batched with chunked prefill, prefix sharing and preemption as alone.
/// </summary>
public class FixtureModelTests(ITestOutputHelper output)
{
    public static TheoryData<string> Models => new() { "tiny-mistral-swa", "tiny-qwen3", "tiny-mixtral-moe", "tiny-llama3-rope" };

    [Theory]
    [MemberData(nameof(Models))]
    public void BatchedGreedyEqualsSolo(string name)
    {
        string dir = Fixtures.Shared("models", name);
        using var model = TransformerModel.Load(dir, Bard.Backend);
        var rng = new Random(7);
        var shared = Enumerable.Range(0, 40).Select(_ => rng.Next(2, model.Config.VocabSize)).ToArray();
        var prompts = new List<int[]>();
        for (int i = 0; i < 10; i++)
        {
            var tail = Enumerable.Range(0, 3 + rng.Next(30)).Select(_ => rng.Next(2, model.Config.VocabSize)).ToArray();
            prompts.Add(i % 2 == 0 ? [.. shared, .. tail] : tail);
        }
        using var llm = LLM.Create(model, null, new EngineOptions { NumBlocks = 14, MaxNumBatchedTokens = 24 });
        var outputs = llm.Generate(prompts, new SamplingParams { Temperature = 0, MaxTokens = 12, IgnoreEos = true });
        var m = llm.Engine.Metrics.Snapshot();
        output.WriteLine($"{name}: preemptions {m.Preemptions}, prefix hits {m.PrefixCacheHitTokens} tokens");
        Bard.AssertNoLeaks(llm);
        Assert.True(m.Preemptions > 0);
        Assert.True(m.PrefixCacheHitTokens > 0);
        for (int i = 0; i < prompts.Count; i++)
            Assert.Equal(Bard.GreedyReference(model, prompts[i], 12), outputs[i].Outputs[0].TokenIds);
    }
}
