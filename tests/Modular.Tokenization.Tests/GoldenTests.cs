using System.Text.Json;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Tokenization.Tests;

/// <summary>Exact agreement with transformers 5.17 on the shared goldens and on bard-2m's golden.json.</summary>
public sealed class GoldenTests
{
    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    public void SharedGoldens_MatchExactly(string name)
    {
        string dir = Fixtures.Shared("tokenizers", name);
        var report = TokenizerGoldens.Verify(dir, Fixtures.Shared("tokenizers", "goldens.json"), name);
        Assert.Equal(28, report.Cases);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Bard2m_GoldensJsonEntry_MatchesWhenPresent()
    {
        string goldens = Fixtures.Shared("tokenizers", "goldens.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(goldens));
        Assert.SkipWhen(!doc.RootElement.GetProperty("tokenizers").TryGetProperty("bard-2m", out _),
            "goldens.json has no bard-2m entry (bard-2m is checked against its own golden.json)");
        var report = TokenizerGoldens.Verify(Fixtures.BundledModel, goldens, "bard-2m");
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Bard2m_PromptIds_MatchGoldenJson()
    {
        var tok = TokenizerCache.Bard;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "golden.json")));
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string prompt = c.GetProperty("prompt").GetString()!;
            int[] expected = [.. c.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32())];
            Assert.Equal(expected, tok.Encode(prompt));
            Assert.Equal(prompt, tok.Decode(expected, skipSpecialTokens: true));
            n++;
        }
        Assert.Equal(4, n);
    }

    [Fact]
    public void Bard2m_ChatRenderings_EncodeToGoldenIds()
    {
        var tok = TokenizerCache.Bard;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "golden.json")));
        int n = 0;
        foreach (var c in doc.RootElement.GetProperty("chat").EnumerateArray())
        {
            string rendered = c.GetProperty("rendered").GetString()!;
            int[] expected = [.. c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())];
            // The rendering already holds <|begin_of_text|>, so transformers encodes it without adding specials.
            Assert.Equal(expected, tok.Encode(rendered, addSpecialTokens: false));
            Assert.Equal(rendered, tok.Decode(expected));
            n++;
        }
        Assert.Equal(2, n);
    }

    [Fact]
    public void Bard2m_GreedyText_DecodesFromGreedyIds()
    {
        var tok = TokenizerCache.Bard;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "golden.json")));
        var c = doc.RootElement.GetProperty("cases")[0];
        int[] ids = [.. c.GetProperty("greedy_ids").EnumerateArray().Select(e => e.GetInt32())];
        Assert.Equal(c.GetProperty("greedy_text").GetString(), tok.Decode(ids, skipSpecialTokens: true));
    }
}
