using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided;
using Modular.Plugins.Guided.Parsing;

namespace Modular.Guided.Tests;

/// <summary>
/// Budget-aware masks: the distance to a complete output, and the narrowing that makes a wandering model finish
/// within the tokens it has left (issue #9, bard-2m cut off inside long strings).
/// </summary>
public sealed class BudgetTests
{
    private const string TwoRequired =
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}},\"required\":[\"a\",\"b\"],\"additionalProperties\":false}";

    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private GrammarMatcher Matcher(GuidedKind kind, string text) => _decoder.Compile(new GuidedSpec(kind, text), _vocab).CreateMatcher();

    private static bool Allowed(ulong[] mask, int id) => (mask[id >> 6] & (1UL << (id & 63))) != 0;

    [Theory]
    [InlineData(GuidedKind.JsonSchema, TwoRequired, "", "{\"a\":\"\",\"b\":0}")]
    [InlineData(GuidedKind.JsonSchema, TwoRequired, "{\"a\":\"xyz", "\",\"b\":0}")]
    [InlineData(GuidedKind.JsonSchema, TwoRequired, "{\"a\":\"x\",\"b\":12", "}")]
    [InlineData(GuidedKind.JsonSchema, TwoRequired, "{\"a\":\"x\",\"b\":12}", "")]
    [InlineData(GuidedKind.JsonSchema, "{\"type\":\"string\",\"minLength\":3}", "\"a", "aa\"")]
    [InlineData(GuidedKind.JsonSchema, "{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2}", "", "[0,0]")]
    [InlineData(GuidedKind.JsonSchema, "{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"boolean\"}}}", "[[true,false],[", "]]")]
    [InlineData(GuidedKind.JsonSchema, "{\"type\":\"object\",\"properties\":{\"o\":{\"$ref\":\"#\"}},\"required\":[\"n\"],\"additionalProperties\":{\"type\":\"null\"}}", "{\"o\":{", "\"n\":null},\"n\":null}")]
    [InlineData(GuidedKind.JsonSchema, "{\"enum\":[\"alpha\",\"be\",\"gamma\"]}", "", "\"be\"")]
    [InlineData(GuidedKind.Regex, "ab+c(de)*", "a", "bc")]
    [InlineData(GuidedKind.Choice, "[\"long choice\",\"short\"]", "", "short")]
    public void Distance_is_the_length_of_the_shortest_completion(GuidedKind kind, string spec, string prefix, string shortest)
    {
        var m = Matcher(kind, spec);
        Assert.True(m.AcceptBytes(Encoding.UTF8.GetBytes(prefix)), "prefix refused");
        Assert.Equal(Encoding.UTF8.GetByteCount(shortest), m.DistanceToComplete);
        // The shortest completion is itself accepted and completes the output (the distance is reachable).
        Assert.True(m.AcceptBytes(Encoding.UTF8.GetBytes(shortest)));
        Assert.True(m.IsComplete);
        Assert.Equal(0, m.DistanceToComplete);
    }

    [Fact]
    public void With_room_in_the_budget_the_mask_is_exactly_the_unbudgeted_one()
    {
        var m = Matcher(GuidedKind.JsonSchema, TwoRequired);
        var plain = new ulong[(_vocab.Count + 63) / 64];
        var budgeted = new ulong[plain.Length];
        const string doc = "{\"a\":\"some text here\",\"b\":123}";
        var bytes = Encoding.UTF8.GetBytes(doc);
        for (int i = 0; i <= bytes.Length; i++)
        {
            m.FillMask(plain);
            int d = m.DistanceToComplete;
            // One token more than the narrowing threshold: shortest completion + EOS + margin.
            m.FillMask(budgeted, d + 2 + GrammarMatcher.BudgetMargin);
            Assert.Equal(plain, budgeted);
            m.FillMask(budgeted, 1_000_000);
            Assert.Equal(plain, budgeted);
            if (i < bytes.Length) Assert.True(m.Accept(bytes[i] + 1));
        }
    }

    /// <summary>
    /// A model that never wants to stop (keeps writing 'a's inside strings and adds items and members whenever it
    /// may), given exactly the shortest completion plus one token for EOS: it still ends with a complete document.
    /// </summary>
    [Theory]
    [InlineData(TwoRequired)]
    [InlineData("{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":2}")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\",\"minLength\":4},\"t\":{\"type\":\"array\",\"items\":{\"type\":\"number\"}}},\"required\":[\"s\",\"t\"]}")]
    [InlineData("{\"type\":\"object\",\"properties\":{\"o\":{\"$ref\":\"#\"}},\"required\":[\"n\"],\"additionalProperties\":{\"type\":\"null\"}}")]
    public void A_budget_of_exactly_the_shortest_completion_yields_a_complete_document(string schema)
    {
        var m = Matcher(GuidedKind.JsonSchema, schema);
        int budget = m.DistanceToComplete + 1;
        var (text, ended, used) = Wander(m, budget);
        Assert.True(ended, $"no EOS within {budget} tokens: {text}");
        Assert.True(used <= budget);
        using var doc = JsonDocument.Parse(text);
        var fresh = Matcher(GuidedKind.JsonSchema, schema);
        Assert.True(fresh.AcceptBytes(Encoding.UTF8.GetBytes(text)) && fresh.IsComplete, text);
    }

    [Fact]
    public void Wandering_with_a_larger_budget_wanders_first_then_completes()
    {
        var m = Matcher(GuidedKind.JsonSchema, TwoRequired);
        var (text, ended, used) = Wander(m, 60);
        Assert.True(ended, text);
        Assert.True(used <= 60);
        Assert.Contains("aaaa", text, StringComparison.Ordinal); // the narrowing did not start at once
        using var doc = JsonDocument.Parse(text);
    }

    [Fact]
    public void A_budget_below_the_shortest_completion_still_heads_for_it_and_never_empties_the_mask()
    {
        var m = Matcher(GuidedKind.JsonSchema, TwoRequired);
        int d = m.DistanceToComplete;
        var (text, ended, used) = Wander(m, d - 4);
        Assert.False(ended);
        Assert.Equal(d - 4, used);
        Assert.Equal(4, m.DistanceToComplete); // every token it took was on the shortest completion
        Assert.StartsWith(text, "{\"a\":\"\",\"b\":0}", StringComparison.Ordinal);
    }

    /// <summary>Samples as a model that prefers to go on: 'aaaa', then 'a', '[', ',', '"', the lowest other id, EOS last.</summary>
    private (string Text, bool Ended, int Used) Wander(GrammarMatcher m, int budget)
    {
        var mask = new ulong[(_vocab.Count + 63) / 64];
        var text = new List<byte>();
        int[] preferred = [_vocab.Id("aaaa"), _vocab.Id("a"), _vocab.Id("["), _vocab.Id(","), _vocab.Id("\"")];
        for (int used = 0; used < budget; used++)
        {
            m.FillMask(mask, budget - used);
            int pick = -1;
            foreach (var p in preferred) if (Allowed(mask, p)) { pick = p; break; }
            for (int id = 0; pick < 0 && id < _vocab.Count; id++) if (id != _vocab.Eos && Allowed(mask, id)) pick = id;
            if (pick < 0)
            {
                Assert.True(Allowed(mask, _vocab.Eos), "empty mask");
                Assert.True(m.Accept(_vocab.Eos));
                return (Encoding.UTF8.GetString(text.ToArray()), true, used + 1);
            }
            Assert.True(m.Accept(pick));
            text.AddRange(_vocab.TokenBytes(pick).ToArray());
        }
        return (Encoding.UTF8.GetString(text.ToArray()), false, budget);
    }
}
