using Modular.Abstractions;
using Modular.Sampling;

namespace Modular.Engine.Tests;

/// <summary>Seeded sampling, n &gt; 1 samples sharing prompt blocks, and beam search.</summary>
public class SamplingTests
{
    private static readonly int[] Prompt = Bard.Tokenizer.Encode("ROMEO:\nWhat light through yonder window", true);

    [Fact]
    public void SeededSamplingIsTheSameAloneAndInAnyBatch()
    {
        var p = new SamplingParams { Temperature = 1f, TopP = 0.9f, Seed = 42, MaxTokens = 24, IgnoreEos = true };
        using var llm = Bard.Engine(numBlocks: 20, maxBatchedTokens: 48);
        var alone = llm.Generate([Prompt], p)[0].Outputs[0].TokenIds.ToArray();

        var crowd = new List<EngineRequest>();
        for (int i = 0; i < 12; i++)
            crowd.Add(new EngineRequest
            {
                RequestId = $"other{i}", PromptTokenIds = Bard.CorpusTokens(1000 * i, 30 + 5 * i),
                Params = p with { Seed = 1000 + i, MaxTokens = 10 + i },
            });
        crowd.Insert(5, new EngineRequest { RequestId = "target", PromptTokenIds = Prompt, Params = p });
        var outputs = llm.Generate(crowd);
        Assert.Equal(alone, outputs[5].Outputs[0].TokenIds);
        Assert.True(llm.Engine.Metrics.Snapshot().Preemptions > 0, "20 blocks for 13 requests should preempt");

        var unseeded = llm.Generate([Prompt, Prompt], p with { Seed = 43 });
        Assert.NotEqual(alone, unseeded[0].Outputs[0].TokenIds);
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public void NSamplesShareThePromptAndCopyOnWriteTheLastBlock()
    {
        Assert.NotEqual(0, Prompt.Length % 16); // the last prompt block is partial, so samples must copy it
        using var llm = Bard.Engine(numBlocks: 64);
        var p = new SamplingParams { N = 4, Temperature = 1f, Seed = 7, MaxTokens = 20, IgnoreEos = true, Logprobs = 0 };
        var four = llm.Generate([Prompt], p)[0];
        Assert.Equal(4, four.Outputs.Count);
        Assert.Equal([0, 1, 2, 3], four.Outputs.Select(o => o.Index));
        Assert.True(llm.Allocator.CopyOnWriteCount >= 3, $"copy-on-write count {llm.Allocator.CopyOnWriteCount}");
        Assert.True(four.Outputs.Select(o => string.Join(",", o.TokenIds)).Distinct().Count() > 1, "seeded samples should differ");
        Assert.Equal(80, four.Usage.CompletionTokens);
        foreach (var o in four.Outputs)
        {
            Assert.Equal(20, o.TokenIds.Count);
            Assert.Equal(o.Logprobs!.Sum(l => (double)l.Logprob), o.CumulativeLogprob, 1e-3);
        }

        // Sample i depends only on (seed, i): a run with n = 2 reproduces the first two.
        var two = llm.Generate([Prompt], p with { N = 2 })[0];
        Assert.Equal(four.Outputs[0].TokenIds, two.Outputs[0].TokenIds);
        Assert.Equal(four.Outputs[1].TokenIds, two.Outputs[1].TokenIds);

        // Greedy samples of a shared prompt are all the greedy continuation.
        var greedy = llm.Generate([Prompt], Bard.Greedy(12) with { N = 3 })[0];
        var reference = Bard.GreedyReference(Prompt, 12);
        Assert.All(greedy.Outputs, o => Assert.Equal(reference, o.TokenIds));
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public async Task BeamSearchReturnsWidthBeamsSortedByScore()
    {
        using var llm = Bard.Engine(numBlocks: 64);
        var p = new SamplingParams { UseBeamSearch = true, N = 3, MaxTokens = 8, Temperature = 0, IgnoreEos = true };
        var result = await llm.Engine.GenerateFinalAsync(new EngineRequest { RequestId = "beam", PromptTokenIds = Prompt, Params = p });
        Assert.Null(result.Error);
        Assert.Equal(3, result.Outputs.Count);
        var scores = result.Outputs.Select(o => BeamSearch.Score((float)o.CumulativeLogprob, Prompt.Length + o.TokenIds.Count, false, 1f)).ToArray();
        for (int i = 1; i < scores.Length; i++) Assert.True(scores[i - 1] >= scores[i], $"beam {i - 1} scores {scores[i - 1]} < beam {i} {scores[i]}");
        Assert.Equal(3, result.Outputs.Select(o => string.Join(",", o.TokenIds)).Distinct().Count());
        Assert.All(result.Outputs, o => Assert.Equal(8, o.TokenIds.Count));

        // Each beam's cumulative logprob is what the model gives its tokens: rescore the best one greedily-forced.
        var best = result.Outputs[0];
        var rescored = llm.Generate([new EngineRequest
        {
            RequestId = "rescore", PromptTokenIds = [.. Prompt, .. best.TokenIds], Params = new SamplingParams { MaxTokens = 1, PromptLogprobs = 0 },
        }])[0];
        double sum = 0;
        for (int i = Prompt.Length; i < Prompt.Length + best.TokenIds.Count; i++) sum += rescored.PromptLogprobs![i]!.Logprob;
        Assert.Equal(sum, best.CumulativeLogprob, 1e-3);
        // The best beam is at least as likely as the greedy continuation.
        var greedy = llm.Generate([Prompt], Bard.Greedy(8) with { Logprobs = 0 })[0].Outputs[0];
        Assert.True(best.CumulativeLogprob >= greedy.CumulativeLogprob - 1e-4, $"beam {best.CumulativeLogprob} < greedy {greedy.CumulativeLogprob}");

        // Width 1 is greedy.
        var one = await llm.Engine.GenerateFinalAsync(new EngineRequest { RequestId = "beam1", PromptTokenIds = Prompt, Params = p with { N = 1 } });
        Assert.Equal(greedy.TokenIds, one.Outputs[0].TokenIds);
        Bard.AssertNoLeaks(llm);
    }
}
