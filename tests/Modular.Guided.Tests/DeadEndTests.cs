using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>
/// The mask never leads into a dead end: after any allowed token the next mask is non-empty unless the document is
/// complete. Regression: a closed object offered already-used key names again (tool-calling "unit" repeated).
/// </summary>
public sealed class DeadEndTests
{
    private const string Weather =
        "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}}," +
        "\"required\":[\"city\",\"unit\"],\"additionalProperties\":false}";

    /// <summary>The tool_choice=required wrapping: an anyOf of {"name": const, "arguments": parameters}.</summary>
    private static readonly string WrappedWeather =
        "{\"anyOf\":[{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_weather\"},\"arguments\":" + Weather + "}," +
        "\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}," +
        "{\"type\":\"object\",\"properties\":{\"name\":{\"const\":\"get_time\"},\"arguments\":{\"type\":\"object\",\"properties\":{\"zone\":{\"type\":\"string\"}}," +
        "\"required\":[\"zone\"],\"additionalProperties\":false}},\"required\":[\"name\",\"arguments\"],\"additionalProperties\":false}]}";

    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private IGrammarMatcher Feed(string schema, string prefix)
    {
        var m = _decoder.Create(new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab);
        foreach (var b in Encoding.UTF8.GetBytes(prefix)) Assert.True(m.Accept(b + 1), $"prefix byte '{(char)b}' refused in {prefix}");
        return m;
    }

    private static bool Allowed(ulong[] mask, int id) => (mask[id >> 6] & (1UL << (id & 63))) != 0;

    [Theory]
    [InlineData(false, "{\"unit\":\"celsius\",\"")]
    [InlineData(true, "{\"name\":\"get_weather\",\"arguments\":{\"unit\":\"celsius\",\"")]
    public void UsedKeyOfAClosedObjectCannotBeStartedAgain(bool wrapped, string prefix)
    {
        var m = Feed(wrapped ? WrappedWeather : Weather, prefix);
        var mask = new ulong[(_vocab.Count + 63) / 64];
        m.FillMask(mask);
        Assert.False(Allowed(mask, 'u' + 1), "'u' starts the used key \"unit\"");
        Assert.True(Allowed(mask, 'c' + 1), "'c' starts the remaining key \"city\"");
        Assert.False(m.Accept('u' + 1));
        Assert.True(m.Accept('c' + 1));
    }

    /// <summary>
    /// Along a whole document, every allowed token (single bytes and the multi-byte test tokens) is followed by a
    /// non-empty mask or a complete document. Replays from a fresh matcher per candidate, since matchers cannot fork.
    /// </summary>
    [Theory]
    [InlineData(false, "{\"unit\":\"celsius\",\"city\":\"Oslo\"}")]
    [InlineData(true, "{\"name\":\"get_weather\",\"arguments\":{\"unit\":\"celsius\",\"city\":\"x\"}}")]
    public void NoAllowedTokenLeadsToAnEmptyMask(bool wrapped, string document)
    {
        var schema = wrapped ? WrappedWeather : Weather;
        var bytes = Encoding.UTF8.GetBytes(document);
        var mask = new ulong[(_vocab.Count + 63) / 64];
        var next = new ulong[mask.Length];
        for (int step = 0; step <= bytes.Length; step++)
        {
            var prefix = Encoding.UTF8.GetString(bytes, 0, step);
            Feed(schema, prefix).FillMask(mask);
            for (int id = 0; id < _vocab.Count; id++)
            {
                if (!Allowed(mask, id) || _vocab.IsSpecial(id)) continue;
                var m = Feed(schema, prefix);
                Assert.True(m.Accept(id), $"allowed token {id} refused after {prefix}");
                if (m.IsComplete) continue;
                m.FillMask(next);
                bool any = false;
                foreach (var w in next) any |= w != 0;
                Assert.True(any, $"token '{Encoding.UTF8.GetString(_vocab.TokenBytes(id))}' after '{prefix}' is a dead end");
            }
        }
    }

    /// <summary>
    /// Schemas where the server's tool-calling tests hit the empty mask: at every key start of every valid instance,
    /// each allowed token keeps a non-empty mask. <paramref name="close"/> adds additionalProperties false at the top,
    /// as the server's strict mode does.
    /// </summary>
    [Theory]
    [InlineData("Github_easy/o10011.json", false)]
    [InlineData("Github_trivial/o10026.json", false)]
    [InlineData("Github_medium/o10314.json", false)]
    [InlineData("Glaiveai2K/analyze_social_media_sentiment_b20b116b.json", true)]
    public void FixtureKeyStartsHaveNoDeadEnds(string file, bool close)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Modular.Testing.Fixtures.Shared("jsonschema"), file)));
        var schema = doc.RootElement.GetProperty("schema").GetRawText();
        if (close) schema = "{\"additionalProperties\":false," + schema.TrimStart()[1..];
        var mask = new ulong[(_vocab.Count + 63) / 64];
        var next = new ulong[mask.Length];
        int checkedStarts = 0;
        foreach (var test in doc.RootElement.GetProperty("tests").EnumerateArray())
        {
            if (!test.GetProperty("valid").GetBoolean()) continue;
            var text = Modular.Plugins.Guided.Json.JsonText.Compact(test.GetProperty("data"));
            for (int end = 2; end <= text.Length; end++)
            {
                // Key starts only: replaying every prefix with every allowed token would be quadratic in the document.
                if (text[end - 1] != '"' || (text[end - 2] != '{' && text[end - 2] != ',')) continue;
                var prefix = text[..end];
                Feed(schema, prefix).FillMask(mask);
                checkedStarts++;
                for (int id = 0; id < _vocab.Count; id++)
                {
                    if (!Allowed(mask, id) || _vocab.IsSpecial(id)) continue;
                    var m = Feed(schema, prefix);
                    Assert.True(m.Accept(id));
                    bool closed = false;
                    // Follow letters while the mask allows them, then the closing quote: a used key dies right after it.
                    for (int guard = 0; guard < 64 && !m.IsComplete; guard++)
                    {
                        m.FillMask(next);
                        bool any = false;
                        foreach (var w in next) any |= w != 0;
                        Assert.True(any, $"{file}: token '{Encoding.UTF8.GetString(_vocab.TokenBytes(id))}' after '{prefix}' leads to an empty mask");
                        if (closed) break;
                        int step = -1;
                        for (int c = 'a'; c <= 'z' && step < 0; c++) if (Allowed(next, c + 1)) step = c + 1;
                        if (step < 0 && Allowed(next, '"' + 1)) { step = '"' + 1; closed = true; }
                        if (step < 0) break;
                        Assert.True(m.Accept(step));
                    }
                }
            }
        }
        Assert.True(checkedStarts > 0, $"{file}: no key start checked");
    }
}
