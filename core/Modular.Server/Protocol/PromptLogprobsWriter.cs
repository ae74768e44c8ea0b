using System.Globalization;
using System.Text.Json;
using Modular.Engine;
using Modular.Tokenization;

namespace Modular.Server.Protocol;

/// <summary>
/// vLLM's <c>prompt_logprobs</c> field: one entry per prompt token, null for the first, else an object keyed by
/// token id with <c>logprob</c>, <c>rank</c> (1-based among the alternatives, null when outside them) and
/// <c>decoded_token</c>, holding the actual token and its top alternatives.
/// </summary>
internal static class PromptLogprobsWriter
{
    public static void Write(Utf8JsonWriter w, HfTokenizer tokenizer, RequestOutput o)
    {
        if (o.PromptLogprobs is not { } list)
        {
            w.WriteNull("prompt_logprobs");
            return;
        }
        w.WriteStartArray("prompt_logprobs");
        foreach (var lp in list)
        {
            if (lp is null) { w.WriteNullValue(); continue; }
            w.WriteStartObject();
            int? rank = null;
            if (lp.Top is { } top)
                for (int k = 0; k < top.Count; k++)
                    if (top[k].TokenId == lp.TokenId) { rank = k + 1; break; }
            Entry(w, tokenizer, lp.TokenId, lp.Logprob, rank);
            if (lp.Top is { } alternatives)
                for (int k = 0; k < alternatives.Count; k++)
                    if (alternatives[k].TokenId != lp.TokenId) Entry(w, tokenizer, alternatives[k].TokenId, alternatives[k].Logprob, k + 1);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void Entry(Utf8JsonWriter w, HfTokenizer tokenizer, int id, float logprob, int? rank)
    {
        w.WriteStartObject(id.ToString(CultureInfo.InvariantCulture));
        w.WriteNumber("logprob", TokenText.Clamp(logprob));
        if (rank is int r) w.WriteNumber("rank", r); else w.WriteNull("rank");
        w.WriteString("decoded_token", TokenText.Of(tokenizer, id, out _));
        w.WriteEndObject();
    }
}
