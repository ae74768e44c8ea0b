using System.Text;
using Modular.Tokenization;

namespace Modular.Tokenization.Tests;

/// <summary>Streaming detokenization: never half a character, and the pieces add up to the full decode.</summary>
public sealed class DetokenizerTests
{
    private static readonly string[] Texts =
    [
        "emoji: 😀👍🏽🇺🇸 👨\u200d👩\u200d👧\u200d👦 done",
        "日本語のテキストと中文文本 한국어 텍스트",
        "ℌ𝔢𝔩𝔩𝔬 𝕨𝕠𝕣𝕝𝕕 — “quotes” …",
        " leading space and ROMEO: But, soft!",
    ];

    public static TheoryData<string> Names => ["bard-2m", "llama3_1", "qwen3", "llama2"];

    [Theory]
    [MemberData(nameof(Names))]
    public void Stream_WithoutPrompt_ConcatenatesToDecode_AndNeverSplitsCharacters(string name)
    {
        var tok = TokenizerCache.ByName(name);
        bool heldBack = false;
        foreach (string text in Texts)
        {
            int[] ids = tok.Encode(text, addSpecialTokens: false);
            var detok = tok.CreateDetokenizer([], skipSpecialTokens: false);
            var sb = new StringBuilder();
            foreach (int id in ids)
            {
                string piece = detok.Add(id);
                AssertWholeCharacters(piece);
                if (piece.Length == 0 && !tok.TokenBytes(id).IsEmpty) heldBack = true;
                sb.Append(piece);
            }
            sb.Append(detok.Flush());
            Assert.Equal(tok.Decode(ids), sb.ToString());
        }
        if (name != "bard-2m") Assert.True(heldBack, "no token of the emoji/CJK texts split a character: the test proves nothing");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Stream_AfterPrompt_ConcatenatesToDecodeSuffix(string name)
    {
        var tok = TokenizerCache.ByName(name);
        int[] prompt = tok.Encode("Speak, speak. ", addSpecialTokens: true);
        foreach (string text in Texts)
        {
            int[] gen = tok.Encode(text, addSpecialTokens: false);
            var detok = tok.CreateDetokenizer(prompt, skipSpecialTokens: true);
            var sb = new StringBuilder();
            foreach (int id in gen) { string p = detok.Add(id); AssertWholeCharacters(p); sb.Append(p); }
            sb.Append(detok.Flush());
            string full = tok.Decode([.. prompt, .. gen], skipSpecialTokens: true);
            string head = tok.Decode(prompt, skipSpecialTokens: true);
            Assert.StartsWith(head, full);
            Assert.Equal(full[head.Length..], sb.ToString());
        }
    }

    [Fact]
    public void Stream_SpecialTokens_FollowSkipFlag()
    {
        var tok = TokenizerCache.Bard;
        int[] ids = tok.Encode("<|im_start|>user\nhi<|im_end|>", addSpecialTokens: false);
        Assert.Equal("<|im_start|>user\nhi<|im_end|>", Stream(tok, ids, false));
        Assert.Equal("user\nhi", Stream(tok, ids, true));
    }

    [Fact]
    public void Flush_ReleasesUnfinishedCharacterAsReplacement()
    {
        var tok = TokenizerCache.Shared("llama2");
        var detok = tok.CreateDetokenizer([22557], skipSpecialTokens: false);
        Assert.Equal("", detok.Add(tok.TokenToId("<0xF0>")!.Value)); // first byte of a 4-byte character
        Assert.Equal("", detok.Add(tok.TokenToId("<0x9F>")!.Value));
        Assert.Equal("\uFFFD", detok.Flush());
    }

    private static string Stream(HfTokenizer tok, int[] ids, bool skip)
    {
        var d = tok.CreateDetokenizer([], skip);
        var sb = new StringBuilder();
        foreach (int id in ids) sb.Append(d.Add(id));
        return sb.Append(d.Flush()).ToString();
    }

    private static void AssertWholeCharacters(string piece)
    {
        Assert.DoesNotContain('\uFFFD', piece);
        for (int i = 0; i < piece.Length; i++)
        {
            if (char.IsHighSurrogate(piece[i])) { Assert.True(i + 1 < piece.Length && char.IsLowSurrogate(piece[i + 1]), "lone high surrogate"); i++; }
            else Assert.False(char.IsLowSurrogate(piece[i]), "lone low surrogate");
        }
    }
}
