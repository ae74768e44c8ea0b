using System.Text;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Tokenization.Tests;

/// <summary>Token bytes for guided decoding, special tokens, BOS/EOS and chat templates from the configs.</summary>
public sealed class VocabularyTests
{
    private const string Sample = "naïve café 😀 日本語\n\tx  = 42; // “ok”";

    [Theory]
    [InlineData("bard-2m")]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void ByteLevel_TokenBytesConcatenateToUtf8OfText(string name)
    {
        var tok = TokenizerCache.ByName(name);
        Assert.Equal(Encoding.UTF8.GetBytes(Sample), Concat(tok, tok.Encode(Sample, addSpecialTokens: false)));
    }

    [Fact]
    public void SentencePiece_TokenBytesMapMarkToSpaceAndHexTokensToBytes()
    {
        var tok = TokenizerCache.Shared("llama2");
        // The pipeline prepends one "▁", which TokenBytes reports as the space it stands for.
        Assert.Equal(Encoding.UTF8.GetBytes(" " + Sample), Concat(tok, tok.Encode(Sample, addSpecialTokens: false)));
        Assert.Equal([0xF0], tok.TokenBytes(tok.TokenToId("<0xF0>")!.Value).ToArray());
        Assert.Equal(" Hello"u8.ToArray(), tok.TokenBytes(22557).ToArray());
        Assert.True(tok.TokenBytes(1).IsEmpty); // <s> is special
    }

    [Fact]
    public void Llama3_SpecialTokensAndBos()
    {
        var tok = TokenizerCache.Shared("llama3_1");
        Assert.Equal(128256, tok.VocabSize);
        Assert.Equal("<|begin_of_text|>", tok.BosToken);
        Assert.Equal(128000, tok.BosTokenId);
        Assert.Contains(128009, tok.EosIds);
        Assert.True(tok.IsSpecial(128009));
        Assert.False(tok.IsSpecial(9906));
        Assert.True(tok.TokenBytes(128009).IsEmpty);
        Assert.Equal("ĠHello", tok.IdToToken(22691));
        Assert.Equal(22691, tok.TokenToId("ĠHello"));
        Assert.Equal(" Hello"u8.ToArray(), tok.TokenBytes(22691).ToArray());
        Assert.Contains("start_header_id", tok.ChatTemplate);
        Assert.Equal("<|eot_id|>hi", tok.Decode([128009, 6151]));
        Assert.Equal("hi", tok.Decode([128000, 6151, 128009], skipSpecialTokens: true));
    }

    [Fact]
    public void Qwen3_NoBos_EosFromConfig_NonSpecialAddedTokensKeepBytes()
    {
        var tok = TokenizerCache.Shared("qwen3");
        Assert.Null(tok.BosToken);
        Assert.Null(tok.BosTokenId);
        Assert.Equal([151645], tok.EosIds);
        int think = tok.TokenToId("<think>")!.Value;
        Assert.False(tok.IsSpecial(think));
        Assert.Equal("<think>"u8.ToArray(), tok.TokenBytes(think).ToArray());
        Assert.Equal([think, 14990], tok.Encode("<think>hello", addSpecialTokens: false));
        Assert.Contains("<|im_start|>", tok.ChatTemplate);
    }

    [Fact]
    public void Qwen3_NfcNormalizer_ComposesDecomposedInput()
    {
        var tok = TokenizerCache.Shared("qwen3");
        Assert.Equal(tok.Encode("caf\u00e9", false), tok.Encode("cafe\u0301", false));
    }

    [Fact]
    public void Llama2_BosFromConfig_EosFromConfig()
    {
        var tok = TokenizerCache.Shared("llama2");
        Assert.Equal(1, tok.BosTokenId);
        Assert.Equal([2], tok.EosIds);
        Assert.Equal([1, 22557], tok.Encode("Hello"));
        Assert.Equal("<s> Hello", tok.Decode([1, 22557]));
        Assert.Equal("Hello", tok.Decode([1, 22557], skipSpecialTokens: true));
    }

    [Fact]
    public void Bard2m_ConfigsAndJinjaTemplate()
    {
        var tok = TokenizerCache.Bard;
        Assert.Equal(2048, tok.VocabSize);
        Assert.Equal(0, tok.BosTokenId);
        Assert.Equal([1], tok.EosIds);
        Assert.True(tok.IsSpecial(2)); // <|im_start|>, listed in extra_special_tokens
        Assert.Equal(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "chat_template.jinja")), tok.ChatTemplate);
        Assert.Equal([0, 861, 29], tok.Encode("ROMEO:"));
    }

    [Fact]
    public void Bard2m_RoundTripsShakespeare()
    {
        var tok = TokenizerCache.Bard;
        string corpus = File.ReadAllText(Fixtures.Shared("corpus", "shakespeare.txt"))[..20000];
        Assert.Equal(corpus, tok.Decode(tok.Encode(corpus, addSpecialTokens: false)));
    }

    private static byte[] Concat(HfTokenizer tok, int[] ids)
    {
        var all = new List<byte>();
        foreach (int id in ids) all.AddRange(tok.TokenBytes(id).ToArray());
        return [.. all];
    }
}
