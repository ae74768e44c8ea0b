using Modular.Abstractions;

namespace Modular.Engine.Tests;

/// <summary>Stop strings, stop tokens, EOS with min_tokens / ignore_eos, max_tokens, aborts and admission limits.</summary>
public class StoppingTests
{
    private static readonly int[] Romeo = Bard.Tokenizer.Encode("ROMEO:", true);
    private const int Eos = 1;

    [Fact]
    public void GreedyRomeoMatchesTheModelCard()
    {
        using var llm = Bard.Engine();
        var o = llm.Generate(["ROMEO:"], Bard.Greedy(10))[0].Outputs[0];
        Assert.StartsWith("\nI hope so.\n\nMERCUTIO:", o.Text);
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public async Task StopStringSplitAcrossTokensNeverLeaks()
    {
        using var llm = Bard.Engine();
        var ids = llm.Generate([Romeo], Bard.Greedy(24))[0].Outputs[0].TokenIds.ToArray();
        // Find a boundary between two multi-character tokens and build a stop string straddling it.
        int k = -1;
        for (int i = 3; i + 1 < ids.Length && k < 0; i++)
            if (Bard.Tokenizer.Decode([ids[i]]).Length >= 2 && Bard.Tokenizer.Decode([ids[i + 1]]).Length >= 2) k = i;
        Assert.True(k > 0, "no pair of multi-character tokens in the greedy output");
        string before = Bard.Tokenizer.Decode(ids[..k]);
        string left = Bard.Tokenizer.Decode([ids[k]]), right = Bard.Tokenizer.Decode([ids[k + 1]]);
        string stop = left[^2..] + right[..2];
        string full = Bard.Tokenizer.Decode(ids);
        int at = full.IndexOf(stop, StringComparison.Ordinal);
        Assert.True(at >= 0);

        var streamed = new System.Text.StringBuilder();
        RequestOutput? last = null;
        var request = new EngineRequest { RequestId = "stop", PromptTokenIds = Romeo, Params = Bard.Greedy(24) with { Stop = [stop] } };
        await foreach (var o in llm.Engine.GenerateAsync(request))
        {
            streamed.Append(o.Outputs[0].TextDelta);
            Assert.DoesNotContain(stop, o.Outputs[0].Text);
            last = o;
        }
        var final = last!.Outputs[0];
        Assert.Equal(full[..at], final.Text);
        Assert.Equal(final.Text, streamed.ToString());
        Assert.Equal(FinishReasons.Stop, final.FinishReason);
        Assert.Equal(stop, final.StopString);
        Assert.Equal(k + 2, final.TokenIds.Count); // generation stops at the token that completes the stop string
        Assert.True(before.Length < at + stop.Length);

        var included = llm.Generate([new EngineRequest { RequestId = "inc", PromptTokenIds = Romeo, Params = Bard.Greedy(24) with { Stop = [stop], IncludeStopStrInOutput = true } }])[0];
        Assert.Equal(full[..(at + stop.Length)], included.Outputs[0].Text);
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public void MinTokensIgnoreEosAndMaxTokens()
    {
        using var llm = Bard.Engine();
        var forceEos = new Dictionary<int, float> { [Eos] = 100f };
        var eosNow = llm.Generate([Romeo], new SamplingParams { Temperature = 0, MaxTokens = 10, LogitBias = forceEos })[0].Outputs[0];
        Assert.Equal([Eos], eosNow.TokenIds);
        Assert.Equal(FinishReasons.Stop, eosNow.FinishReason);
        Assert.Null(eosNow.StopTokenId);

        var min5 = llm.Generate([Romeo], new SamplingParams { Temperature = 0, MaxTokens = 10, MinTokens = 5, LogitBias = forceEos })[0].Outputs[0];
        Assert.Equal(6, min5.TokenIds.Count);
        Assert.DoesNotContain(Eos, min5.TokenIds.Take(5));
        Assert.Equal(Eos, min5.TokenIds[5]);
        Assert.Equal(FinishReasons.Stop, min5.FinishReason);

        var ignore = llm.Generate([Romeo], new SamplingParams { Temperature = 0, MaxTokens = 7, IgnoreEos = true, LogitBias = forceEos })[0].Outputs[0];
        Assert.Equal(Enumerable.Repeat(Eos, 7), ignore.TokenIds);
        Assert.Equal(FinishReasons.Length, ignore.FinishReason);

        var three = llm.Generate([Romeo], Bard.Greedy(3))[0];
        Assert.Equal(3, three.Outputs[0].TokenIds.Count);
        Assert.Equal(FinishReasons.Length, three.Outputs[0].FinishReason);
        Assert.Equal(Romeo.Length, three.Usage.PromptTokens);
        Assert.Equal(3, three.Usage.CompletionTokens);
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public void StopTokenIdsEndGenerationAndAreReported()
    {
        using var llm = Bard.Engine();
        var greedy = llm.Generate([Romeo], Bard.Greedy(12))[0].Outputs[0].TokenIds;
        int stopId = greedy[4];
        int first = greedy.ToList().IndexOf(stopId);
        var o = llm.Generate([Romeo], Bard.Greedy(12) with { StopTokenIds = [stopId] })[0].Outputs[0];
        Assert.Equal(greedy.Take(first + 1), o.TokenIds);
        Assert.Equal(stopId, o.StopTokenId);
        Assert.Equal(FinishReasons.Stop, o.FinishReason);
        Assert.Equal(Bard.Tokenizer.Decode(greedy.Take(first).ToArray()), o.Text);
        Bard.AssertNoLeaks(llm);
    }

    [Fact]
    public async Task AbortFreesEverythingMidGeneration()
    {
        using var llm = Bard.Engine(numBlocks: 64);
        var reader = llm.Engine.AddRequest(new EngineRequest { RequestId = "long", PromptTokenIds = Bard.CorpusTokens(0, 100), Params = Bard.Greedy(300) with { N = 2, Temperature = 1f, Seed = 3 } });
        var outputs = new List<RequestOutput>();
        await foreach (var o in reader.ReadAllAsync())
        {
            outputs.Add(o);
            if (outputs.Count == 3) llm.Engine.Abort("long");
        }
        var last = outputs[^1];
        Assert.True(last.Finished);
        Assert.All(last.Outputs, o => Assert.Equal(FinishReasons.Abort, o.FinishReason));
        Assert.True(last.Outputs[0].TokenIds.Count < 300);
        Bard.AssertNoLeaks(llm);
        Assert.Equal(1, llm.Engine.Metrics.Snapshot().RequestsAborted);
    }

    [Fact]
    public void PromptsThatCanNeverFitAreRejectedWithTheLimit()
    {
        using var llm = Bard.Engine(numBlocks: 4);
        var tooLong = Enumerable.Repeat(5, 600).ToArray();
        var e1 = Assert.Throws<EngineRequestException>(() => llm.Engine.AddRequest(new EngineRequest { RequestId = "a", PromptTokenIds = tooLong }));
        Assert.Contains("max_model_len 512", e1.Message);
        var e2 = Assert.Throws<EngineRequestException>(() => llm.Engine.AddRequest(new EngineRequest { RequestId = "b", PromptTokenIds = Enumerable.Repeat(5, 100).ToArray() }));
        Assert.Contains("pool has only 4", e2.Message);
        var e3 = Assert.Throws<EngineRequestException>(() => llm.Engine.AddRequest(new EngineRequest { RequestId = "c", Prompt = "hi", Params = new SamplingParams { TopP = 2 } }));
        Assert.Contains("top_p", e3.Message);
        // A 60-token prompt fits in 4 blocks and runs until the pool's 64 slots are used up.
        var o = llm.Generate([Enumerable.Repeat(5, 60).ToArray()], Bard.Greedy(100))[0].Outputs[0];
        Assert.Equal(FinishReasons.Length, o.FinishReason);
        Assert.Equal(4, o.TokenIds.Count);
        Bard.AssertNoLeaks(llm);
    }
}
