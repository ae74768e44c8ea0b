using Modular.Abstractions;

namespace Modular.Engine.Tests;

/// <summary>The engine honours <see cref="IGrammarMatcher"/>: its mask constrains sampling, and it sees every token.</summary>
public class GuidedDecodingTests
{
    /// <summary>A toy language: exactly <c>length</c> tokens from a fixed set, then EOS.</summary>
    private sealed class FixedSetMatcher(int[] allowed, int length, int eos) : IGrammarMatcher
    {
        public List<int> Accepted { get; } = new();
        public bool IsComplete => Accepted.Count >= length;
        public bool IsTerminated => IsComplete;

        public void FillMask(Span<ulong> bitmask)
        {
            bitmask.Clear();
            if (IsComplete) Set(bitmask, eos);
            else foreach (int id in allowed) Set(bitmask, id);
        }

        public bool Accept(int tokenId)
        {
            if (IsComplete || Array.IndexOf(allowed, tokenId) < 0) return false;
            Accepted.Add(tokenId);
            return true;
        }

        private static void Set(Span<ulong> mask, int id) => mask[id / 64] |= 1UL << (id % 64);
    }

    [Fact]
    public void MaskConstrainsEveryTokenAndEosEndsTheSentence()
    {
        using var llm = Bard.Engine();
        int[] allowed = [300, 301, 302, 777];
        var matchers = new List<FixedSetMatcher>();
        var request = new EngineRequest
        {
            RequestId = "guided", Prompt = "ROMEO:",
            Params = new SamplingParams { N = 2, Temperature = 1f, Seed = 11, MaxTokens = 20 },
            GrammarFactory = () => { var m = new FixedSetMatcher(allowed, 5, 1); matchers.Add(m); return m; },
        };
        var o = llm.Generate([request])[0];
        Assert.Equal(2, matchers.Count); // one matcher per sample
        foreach (var sample in o.Outputs)
        {
            Assert.Equal(6, sample.TokenIds.Count);
            Assert.All(sample.TokenIds.Take(5), id => Assert.Contains(id, allowed));
            Assert.Equal(1, sample.TokenIds[5]);
            Assert.Equal(FinishReasons.Stop, sample.FinishReason);
        }
        Assert.All(matchers, m => Assert.Equal(5, m.Accepted.Count));
        Bard.AssertNoLeaks(llm);
    }

    /// <summary>A constraint that runs into a dead end (no allowed token) after a few tokens.</summary>
    private sealed class DeadEndMatcher(int after) : IGrammarMatcher
    {
        private int _accepted;
        public bool IsComplete => false;
        public bool IsTerminated => false;
        public void FillMask(Span<ulong> bitmask)
        {
            bitmask.Clear();
            if (_accepted < after) bitmask[300 / 64] |= 1UL << (300 % 64);
        }
        public bool Accept(int tokenId) { _accepted++; return tokenId == 300; }
    }

    [Fact]
    public void ADeadEndConstraintFailsOnlyItsOwnRequest()
    {
        using var llm = Bard.Engine();
        var dead = new EngineRequest
        {
            RequestId = "dead-end", Prompt = "ROMEO:", Params = new SamplingParams { Temperature = 0f, MaxTokens = 20 },
            GrammarFactory = () => new DeadEndMatcher(3),
        };
        var healthy = new EngineRequest { RequestId = "healthy", Prompt = "JULIET:", Params = new SamplingParams { Temperature = 0f, MaxTokens = 20, IgnoreEos = true } };
        var outputs = llm.Generate([dead, healthy]);
        Assert.Equal(FinishReasons.Error, outputs[0].Outputs[0].FinishReason);
        Assert.Contains("allows no token", outputs[0].Error);
        Assert.Equal([300, 300, 300], outputs[0].Outputs[0].TokenIds);
        Assert.Equal(FinishReasons.Length, outputs[1].Outputs[0].FinishReason);
        Assert.Equal(20, outputs[1].Outputs[0].TokenIds.Count);
        Bard.AssertNoLeaks(llm);
    }
}
