using System.Text.Json;

namespace Modular.Tokenization;

/// <summary>
/// Checks a tokenizer against reference outputs of transformers stored as
/// <c>{"tokenizers": {name: {"encode": [{"text", "ids", "ids_with_special", "decoded"}]}}}</c>.
/// </summary>
public static class TokenizerGoldens
{
    /// <summary>
    /// Loads the tokenizer in <paramref name="tokenizerDir"/> and compares, for every string of
    /// <paramref name="name"/>: <c>ids</c> (no special tokens), <c>ids_with_special</c>, and <c>decoded</c> (decode of <c>ids</c>).
    /// </summary>
    public static GoldenReport Verify(string tokenizerDir, string goldensJsonPath, string name)
    {
        var tokenizer = HfTokenizer.FromDirectory(tokenizerDir);
        using var doc = TokenizerJsonReader.ParseFile(goldensJsonPath);
        if (!doc.RootElement.TryGetProperty("tokenizers", out var all) || !all.TryGetProperty(name, out var entry))
            throw new TokenizerLoadException(goldensJsonPath, $"no \"tokenizers\".\"{name}\" entry");
        if (!entry.TryGetProperty("encode", out var cases) || cases.ValueKind != JsonValueKind.Array)
            throw new TokenizerLoadException(goldensJsonPath, $"\"tokenizers\".\"{name}\".\"encode\" must be a list");

        var mismatches = new List<GoldenMismatch>();
        int index = 0;
        foreach (var c in cases.EnumerateArray())
        {
            string text = c.GetProperty("text").GetString()!;
            int[] ids = tokenizer.Encode(text, addSpecialTokens: false);
            CompareIds(index, "ids", ReadIds(c, "ids"), ids, mismatches);
            if (c.TryGetProperty("ids_with_special", out _))
                CompareIds(index, "ids_with_special", ReadIds(c, "ids_with_special"), tokenizer.Encode(text, addSpecialTokens: true), mismatches);
            if (c.TryGetProperty("decoded", out var decodedEl))
                CompareText(index, "decoded", decodedEl.GetString()!, tokenizer.Decode(ReadIds(c, "ids")), mismatches);
            index++;
        }
        return new GoldenReport { Name = name, Cases = index, Mismatches = mismatches };
    }

    private static int[] ReadIds(JsonElement c, string field)
    {
        var list = new List<int>();
        foreach (var v in c.GetProperty(field).EnumerateArray()) list.Add(v.GetInt32());
        return [.. list];
    }

    /// <summary>Index of the first differing element, or -1 when equal.</summary>
    public static int FirstDifference(ReadOnlySpan<int> expected, ReadOnlySpan<int> actual)
    {
        int n = Math.Min(expected.Length, actual.Length);
        for (int i = 0; i < n; i++) if (expected[i] != actual[i]) return i;
        return expected.Length == actual.Length ? -1 : n;
    }

    private static void CompareIds(int index, string field, int[] expected, int[] actual, List<GoldenMismatch> into)
    {
        int at = FirstDifference(expected, actual);
        if (at < 0) return;
        into.Add(new GoldenMismatch(index, field, at, Window(expected, at), Window(actual, at)));
    }

    private static void CompareText(int index, string field, string expected, string actual, List<GoldenMismatch> into)
    {
        int n = Math.Min(expected.Length, actual.Length), at = 0;
        while (at < n && expected[at] == actual[at]) at++;
        if (at == n && expected.Length == actual.Length) return;
        into.Add(new GoldenMismatch(index, field, at, Quote(expected, at), Quote(actual, at)));
    }

    private static string Window(int[] ids, int at) =>
        "[" + (at > 0 ? "… " : "") + string.Join(", ", ids.Skip(at).Take(8)) + (ids.Length > at + 8 ? " …" : "") + $"] (length {ids.Length})";

    private static string Quote(string s, int at) =>
        JsonSerializer.Serialize(s.Substring(at, Math.Min(24, s.Length - at))) + $" (length {s.Length})";
}
