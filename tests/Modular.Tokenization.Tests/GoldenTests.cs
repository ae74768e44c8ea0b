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

/// <summary>The golden report itself: a wrong value is found and located.</summary>
public sealed class GoldenReportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modular-goldens-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Verify_ReportsIndexAndFirstDifferingPosition()
    {
        // bard-2m ids for "ROMEO:" are [861, 29]; corrupt the second id and the decoded text.
        string path = Path.Combine(_dir, "goldens.json");
        File.WriteAllText(path, """
            {"tokenizers": {"bard": {"encode": [
              {"text": "ROMEO:", "ids": [861, 29], "ids_with_special": [0, 861, 29], "decoded": "ROMEO:"},
              {"text": "ROMEO:", "ids": [861, 30], "ids_with_special": [0, 861, 29], "decoded": "ROMEX:"}
            ]}}}
            """);
        var report = TokenizerGoldens.Verify(Modular.Testing.Fixtures.BundledModel, path, "bard");
        Assert.Equal(2, report.Cases);
        Assert.False(report.Passed);
        Assert.Collection(report.Mismatches,
            m => { Assert.Equal((1, "ids", 1), (m.Index, m.Field, m.Position)); },
            m => { Assert.Equal((1, "decoded", 4), (m.Index, m.Field, m.Position)); });
        Assert.Contains("[1] ids differs at 1", report.ToString());
    }
}

/// <summary>
/// Agreement with the Hugging Face tokenizers library itself (fixtures/hf_tokenizers_reference.json, made by
/// fixtures/gen_hf_reference.js) on the golden strings plus astral-plane letters, NFC input, Unicode spaces and
/// added tokens inside text; for llama2 it checks the tokenizer.json pipeline as written (Prepend + Replace
/// normalizer), which transformers replaces but other tools run.
/// </summary>
public sealed class HfLibraryReferenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("modular-ref-").FullName;
    private static string Reference => Path.Combine(AppContext.BaseDirectory, "fixtures", "hf_tokenizers_reference.json");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("qwen3")]
    [InlineData("llama3_1")]
    public void ByteLevel_MatchesLibrary(string name)
    {
        var report = TokenizerGoldens.Verify(Modular.Testing.Fixtures.Shared("tokenizers", name), Reference, name);
        Assert.Equal(41, report.Cases);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Llama2TransformersPipeline_MatchesLibrary_IncludingSpecialTokensInText()
    {
        // Covers what goldens.json does not: "<s>" inside text, text starting with "▁", astral characters.
        var report = TokenizerGoldens.Verify(Modular.Testing.Fixtures.Shared("tokenizers", "llama2"), Reference, "llama2_transformers_pipeline");
        Assert.Equal(41, report.Cases);
        Assert.True(report.Passed, report.ToString());
    }

    [Fact]
    public void Llama2TokenizerJsonAsWritten_MatchesLibrary()
    {
        // Without tokenizer_config.json there is no LlamaTokenizer class, so tokenizer.json runs exactly as written.
        File.Copy(Modular.Testing.Fixtures.Shared("tokenizers", "llama2", "tokenizer.json.gz"), Path.Combine(_dir, "tokenizer.json.gz"));
        var report = TokenizerGoldens.Verify(_dir, Reference, "llama2_literal");
        Assert.Equal(41, report.Cases);
        Assert.True(report.Passed, report.ToString());
    }
}
