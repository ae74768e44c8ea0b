using System.Text.Json;
using Modular.Server.Http;
using Modular.Tokenization;

namespace Modular.Server.Protocol;

/// <summary>
/// Reads a prompt field in any of the OpenAI shapes - a string, an array of token ids, an array of strings, or an
/// array of token-id arrays - and tokenizes text.
/// </summary>
internal static class PromptInputs
{
    public static List<int[]> Read(JsonFields f, string field, HfTokenizer tokenizer, bool addSpecialTokens, int maxInputs) =>
        Read(f, field, tokenizer, addSpecialTokens, maxInputs, out _);

    // texts: the prompt text of each input as sent, null for token-id inputs (echo returns it verbatim).
    public static List<int[]> Read(JsonFields f, string field, HfTokenizer tokenizer, bool addSpecialTokens, int maxInputs, out List<string?> texts)
    {
        texts = new List<string?>();
        var v = f.Get(field) ?? throw ApiException.BadField(field, $"{field}: is required");
        int vocab = tokenizer.VocabSize;
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                texts.Add(v.GetString());
                return [Encode(tokenizer, v.GetString()!, addSpecialTokens, field)];
            case JsonValueKind.Array:
                int count = v.GetArrayLength();
                if (count == 0) throw ApiException.BadField(field, $"{field}: must not be an empty array");
                var first = v[0];
                if (first.ValueKind == JsonValueKind.Number)
                {
                    texts.Add(null);
                    return [JsonFields.IntList(v, field, 0, vocab - 1).ToArray()];
                }
                if (count > maxInputs) throw ApiException.BadField(field, $"{field}: at most {maxInputs} inputs per request, got {count}");
                var list = new List<int[]>(count);
                int i = 0;
                foreach (var e in v.EnumerateArray())
                {
                    string name = $"{field}[{i}]";
                    if (e.ValueKind == JsonValueKind.String)
                    {
                        list.Add(Encode(tokenizer, e.GetString()!, addSpecialTokens, name));
                        texts.Add(e.GetString());
                    }
                    else if (e.ValueKind == JsonValueKind.Array)
                    {
                        texts.Add(null);
                        if (e.GetArrayLength() == 0) throw ApiException.BadField(field, $"{name}: must not be empty");
                        list.Add(JsonFields.IntList(e, name, 0, vocab - 1).ToArray());
                    }
                    else throw ApiException.BadField(field, $"{name}: expected a string or an array of token ids, got {JsonFields.Kind(e)}");
                    i++;
                }
                return list;
            default:
                throw ApiException.BadField(field, $"{field}: expected a string, an array of strings, an array of token ids or an array of token-id arrays, got {JsonFields.Kind(v)}");
        }
    }

    private static int[] Encode(HfTokenizer tokenizer, string text, bool addSpecialTokens, string name)
    {
        var ids = tokenizer.Encode(text, addSpecialTokens);
        if (ids.Length == 0) throw ApiException.BadField(name.Split('[')[0], $"{name}: is empty (0 tokens)");
        return ids;
    }
}
