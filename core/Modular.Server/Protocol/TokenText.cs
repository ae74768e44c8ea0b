using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Modular.Engine;
using Modular.Tokenization;

namespace Modular.Server.Protocol;

/// <summary>
/// How a single token is shown in logprobs: its text when its bytes are valid UTF-8, else vLLM's
/// <c>bytes:\xNN</c> spelling (a byte-level token can hold part of a character); special tokens show their text.
/// </summary>
internal static class TokenText
{
    /// <summary>vLLM reports -inf log-probabilities as this value (JSON has no infinity).</summary>
    public const float MinLogprob = -9999f;

    public static string Of(HfTokenizer tokenizer, int id, out byte[] bytes)
    {
        var b = tokenizer.TokenBytes(id);
        if (b.IsEmpty)
        {
            string special = tokenizer.IsSpecial(id) ? tokenizer.IdToToken(id) ?? "" : "";
            bytes = Encoding.UTF8.GetBytes(special);
            return special;
        }
        bytes = b.ToArray();
        if (Utf8.IsValid(b)) return Encoding.UTF8.GetString(b);
        var sb = new StringBuilder("bytes:");
        foreach (byte x in b) sb.Append("\\x").Append(x.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static float Clamp(float logprob) => float.IsFinite(logprob) ? logprob : MinLogprob;

    /// <summary>Chat format: <c>{"content":[{"token","logprob","bytes","top_logprobs":[...]}]}</c> entries.</summary>
    public static void WriteChatEntries(Utf8JsonWriter w, HfTokenizer tokenizer, IReadOnlyList<TokenLogprob> logprobs, int from, int topN)
    {
        for (int i = from; i < logprobs.Count; i++)
        {
            var lp = logprobs[i];
            w.WriteStartObject();
            WriteTokenFields(w, tokenizer, lp.TokenId, lp.Logprob);
            w.WriteStartArray("top_logprobs");
            if (lp.Top is { } top)
                for (int k = 0; k < top.Count && k < topN; k++)
                {
                    w.WriteStartObject();
                    WriteTokenFields(w, tokenizer, top[k].TokenId, top[k].Logprob);
                    w.WriteEndObject();
                }
            w.WriteEndArray();
            w.WriteEndObject();
        }
    }

    private static void WriteTokenFields(Utf8JsonWriter w, HfTokenizer tokenizer, int id, float logprob)
    {
        string text = Of(tokenizer, id, out var bytes);
        w.WriteString("token", text);
        w.WriteNumber("logprob", Clamp(logprob));
        w.WriteStartArray("bytes");
        foreach (byte x in bytes) w.WriteNumberValue(x);
        w.WriteEndArray();
    }
}

/// <summary>Legacy completions logprobs: parallel arrays of tokens, their logprobs, top alternatives and text offsets.</summary>
internal sealed class CompletionLogprobs
{
    public List<string> Tokens { get; } = new();
    public List<float?> TokenLogprobs { get; } = new();
    public List<Dictionary<string, float>?> TopLogprobs { get; } = new();
    public List<int> TextOffset { get; } = new();
    private int _offset;

    public CompletionLogprobs(int initialOffset) => _offset = initialOffset;

    public void Add(HfTokenizer tokenizer, int tokenId, TokenLogprob? lp, int topN)
    {
        string text = TokenText.Of(tokenizer, tokenId, out _);
        Tokens.Add(text);
        TextOffset.Add(_offset);
        _offset += text.Length;
        if (lp is null)
        {
            TokenLogprobs.Add(null);
            TopLogprobs.Add(null);
            return;
        }
        TokenLogprobs.Add(TokenText.Clamp(lp.Logprob));
        var top = new Dictionary<string, float>();
        if (lp.Top is { } list)
            for (int k = 0; k < list.Count && k < topN; k++)
                top.TryAdd(TokenText.Of(tokenizer, list[k].TokenId, out _), TokenText.Clamp(list[k].Logprob));
        // vLLM lists the sampled token among the alternatives even when it ranks below top-N.
        if (topN > 0) top.TryAdd(text, TokenText.Clamp(lp.Logprob));
        TopLogprobs.Add(top);
    }

    public void Write(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteStartArray("tokens");
        foreach (var t in Tokens) w.WriteStringValue(t);
        w.WriteEndArray();
        w.WriteStartArray("token_logprobs");
        foreach (var l in TokenLogprobs) if (l is float f) w.WriteNumberValue(f); else w.WriteNullValue();
        w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var d in TopLogprobs)
        {
            if (d is null) { w.WriteNullValue(); continue; }
            w.WriteStartObject();
            foreach (var (k, v) in d) w.WriteNumber(k, v);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        foreach (var o in TextOffset) w.WriteNumberValue(o);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
