using Modular.Testing;

namespace Modular.Tokenization.Tests;

/// <summary>The server encodes prompts of many requests at once on one shared tokenizer.</summary>
public sealed class ConcurrencyTests
{
    [Theory]
    [InlineData("llama2")]
    [InlineData("qwen3")]
    [InlineData("bard-2m")]
    public void ParallelEncode_MatchesSequential(string name)
    {
        var tok = TokenizerCache.ByName(name);
        string corpus = File.ReadAllText(Fixtures.Shared("corpus", "shakespeare.txt"));
        var texts = Enumerable.Range(0, 64).Select(i => corpus.Substring(i * 1777 % 500_000, 600 + i * 13)).ToArray();
        var expected = texts.Select(t => tok.Encode(t)).ToArray();
        var actual = new int[texts.Length][];
        Parallel.For(0, texts.Length * 4, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            int k = i % texts.Length;
            actual[k] = tok.Encode(texts[k]);
        });
        for (int k = 0; k < texts.Length; k++) Assert.Equal(expected[k], actual[k]);
    }
}
