using Modular.Abstractions;

namespace Modular.Engine.Tests;

/// <summary>
/// Continuous batching must not change results: greedy ids of a request are the same whether it runs alone or
/// among 63 others under a tiny token budget, chunked prefill, prefix sharing and preemption by recompute.
/// </summary>
public class BatchInvarianceTests(ITestOutputHelper output)
{
    [Fact]
    public void SixtyFourMixedRequestsUnderPressureMatchTheirSoloRuns()
    {
        var prompts = new List<int[]>();
        var rng = new Random(1234);
        var sharedA = Bard.CorpusTokens(2000, 150);
        var sharedB = Bard.CorpusTokens(9000, 90);
        for (int i = 0; i < 64; i++)
        {
            if (i % 4 == 1) prompts.Add([.. sharedA, .. Bard.CorpusTokens(rng.Next(20000, 30000), 1 + rng.Next(40))]);
            else if (i % 4 == 3) prompts.Add([.. sharedB, .. Bard.CorpusTokens(rng.Next(20000, 30000), 1 + rng.Next(20))]);
            else prompts.Add(Bard.CorpusTokens(rng.Next(0, 35000), 2 + rng.Next(120)));
        }
        var maxTokens = prompts.Select((_, i) => 4 + i % 9).ToArray();

        using var llm = Bard.Engine(numBlocks: 40, maxBatchedTokens: 64);
        var requests = prompts.Select((p, i) => new EngineRequest
        {
            RequestId = $"r{i}", PromptTokenIds = p, Params = Bard.Greedy(maxTokens[i]),
        }).ToList();
        var outputs = llm.Generate(requests);

        var m = llm.Engine.Metrics.Snapshot();
        output.WriteLine($"steps {m.Steps}, preemptions {m.Preemptions}, prefix hits {m.PrefixCacheHitTokens}/{m.PrefixCacheQueryTokens} tokens, computed {m.ComputedTokens}");
        Assert.True(m.Preemptions > 0, "the pool of 40 blocks should have forced preemptions");
        Assert.True(m.PrefixCacheHitTokens >= 16 * 9 * 8, $"shared prefixes should hit the cache, got {m.PrefixCacheHitTokens} tokens");
        Bard.AssertNoLeaks(llm);

        for (int i = 0; i < prompts.Count; i++)
        {
            Assert.Null(outputs[i].Error);
            Assert.Equal($"r{i}", outputs[i].RequestId);
            var expected = Bard.GreedyReference(prompts[i], maxTokens[i]);
            Assert.True(expected.SequenceEqual(outputs[i].Outputs[0].TokenIds),
                $"request {i} (prompt {prompts[i].Length} tokens): batched [{string.Join(",", outputs[i].Outputs[0].TokenIds)}] vs alone [{string.Join(",", expected)}]");
            Assert.Equal(FinishReasons.Length, outputs[i].Outputs[0].FinishReason);
        }
    }

    [Fact]
    public void PriorityPolicyServesUrgentRequestsFirst()
    {
        using var llm = Bard.Engine(numBlocks: 64, maxBatchedTokens: 32, maxSeqs: 1, policy: "priority");
        var prompt = Bard.CorpusTokens(500, 20);
        var requests = Enumerable.Range(0, 6).Select(i => new EngineRequest
        {
            RequestId = $"p{i}", PromptTokenIds = prompt, Params = Bard.Greedy(3), Priority = i % 2 == 0 ? 5 : 0,
        }).ToList();
        var outputs = llm.Generate(requests);
        // With one sequence at a time, every urgent request (priority 0) finishes before any relaxed one that
        // had not started yet: compare finish times (the first request may already be running).
        double lastUrgent = outputs.Where((_, i) => i % 2 == 1).Max(o => o.Timings.FinishSeconds!.Value + (o.Timings.Arrival - outputs[0].Timings.Arrival).TotalSeconds);
        double relaxedLaterThanFirst = outputs.Where((_, i) => i % 2 == 0 && i > 0).Min(o => o.Timings.FinishSeconds!.Value + (o.Timings.Arrival - outputs[0].Timings.Arrival).TotalSeconds);
        Assert.True(lastUrgent <= relaxedLaterThanFirst, $"urgent finished at {lastUrgent:F4}s, a relaxed one at {relaxedLaterThanFirst:F4}s");
        Bard.AssertNoLeaks(llm);
    }
}
