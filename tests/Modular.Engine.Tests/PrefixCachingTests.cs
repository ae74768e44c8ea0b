using System.Text.Json;
using Modular.Abstractions;
using Modular.Testing;

namespace Modular.Engine.Tests;

public class PrefixCachingTests(ITestOutputHelper output)
{
    [Fact]
    public void SecondRequestWithA500TokenSharedPrefixComputesOnlyItsNewTokens()
    {
        var prefix = Bard.CorpusTokens(100, 500);
        int[] first = [.. prefix, .. Bard.CorpusTokens(12000, 4)];
        int[] second = [.. prefix, .. Bard.CorpusTokens(15000, 6)];
        var p = new SamplingParams { Temperature = 0, MaxTokens = 4, IgnoreEos = true, Logprobs = 5 };

        using var cached = Bard.Engine(numBlocks: 128);
        cached.Generate([first], p);
        var before = cached.Engine.Metrics.Snapshot();
        var hitBefore = cached.Allocator.PrefixHitTokens;
        var warm = cached.Generate([second], p)[0];
        var after = cached.Engine.Metrics.Snapshot();

        int reused = 500 / 16 * 16; // 496: every full block of the shared prefix
        Assert.Equal(reused, cached.Allocator.PrefixHitTokens - hitBefore);
        Assert.Equal(reused, warm.Usage.CachedPromptTokens);
        // Prefill of the 10 new prompt tokens, then 3 decode steps for tokens 2..4.
        Assert.Equal(second.Length - reused + 3, after.ComputedTokens - before.ComputedTokens);
        Bard.AssertNoLeaks(cached);

        using var uncached = Bard.Engine(numBlocks: 128, prefixCaching: false);
        var cold = uncached.Generate([second], p)[0];
        Assert.Equal(0, cold.Usage.CachedPromptTokens);
        Assert.Equal(cold.Outputs[0].TokenIds, warm.Outputs[0].TokenIds);
        for (int t = 0; t < 4; t++)
        {
            var a = warm.Outputs[0].Logprobs![t];
            var b = cold.Outputs[0].Logprobs![t];
            Assert.Equal(b.TokenId, a.TokenId);
            Assert.Equal(b.Logprob, a.Logprob, 1e-4f);
            for (int k = 0; k < 5; k++)
            {
                Assert.Equal(b.Top![k].TokenId, a.Top![k].TokenId);
                Assert.Equal(b.Top[k].Logprob, a.Top[k].Logprob, 1e-4f);
            }
        }
        output.WriteLine($"cached run computed {after.ComputedTokens - before.ComputedTokens} tokens for a {second.Length}-token prompt");
        Bard.AssertNoLeaks(uncached);
    }

    [Fact]
    public void PromptLogprobsMatchTheHuggingFaceReference()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "golden.json")));
        using var llm = Bard.Engine(numBlocks: 64, maxBatchedTokens: 5); // chunks of 5: logprob rows span several steps
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            var ids = c.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var reference = c.GetProperty("prompt_logprobs").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            var greedy = c.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            // Run twice: the second run would hit the prefix cache if prompt logprobs did not bypass it.
            for (int run = 0; run < 2; run++)
            {
                var o = llm.Generate([ids], new SamplingParams { Temperature = 0, MaxTokens = 3, IgnoreEos = true, PromptLogprobs = 2 })[0];
                Assert.NotNull(o.PromptLogprobs);
                Assert.Equal(ids.Length, o.PromptLogprobs.Count);
                Assert.Null(o.PromptLogprobs[0]);
                for (int i = 1; i < ids.Length; i++)
                {
                    Assert.Equal(ids[i], o.PromptLogprobs[i]!.TokenId);
                    Assert.Equal(reference[i - 1], o.PromptLogprobs[i]!.Logprob, 1e-3f);
                    Assert.Equal(2, o.PromptLogprobs[i]!.Top!.Count);
                }
                Assert.Equal(greedy[..3], o.Outputs[0].TokenIds);
            }
        }
        Bard.AssertNoLeaks(llm);
    }
}
