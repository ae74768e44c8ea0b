using System.Diagnostics;
using System.Text;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>Inputs meant to hurt: each must fail fast with a clear <see cref="GuidedSpecException"/>.</summary>
public sealed class HostileInputTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private GuidedSpecException Refused(GuidedKind kind, string text)
    {
        var sw = Stopwatch.StartNew();
        var e = Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(kind, text), _vocab));
        Assert.True(sw.Elapsed.TotalSeconds < 5, $"took {sw.Elapsed} to refuse");
        return e;
    }

    [Fact]
    public void DeeplyNestedSchema()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 200; i++) sb.Append("{\"properties\":{\"a\":");
        sb.Append("{}");
        for (int i = 0; i < 200; i++) sb.Append("}}");
        Assert.Matches("depth|deeper", Refused(GuidedKind.JsonSchema, sb.ToString()).Message);
    }

    [Fact]
    public void SelfReferencingSchema()
    {
        Assert.Contains("circular", Refused(GuidedKind.JsonSchema, "{\"$ref\":\"#\"}").Message);
        Assert.Contains("circular", Refused(GuidedKind.JsonSchema, "{\"$defs\":{\"a\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},\"$ref\":\"#/$defs/a\"}").Message);
    }

    [Fact]
    public void MegabyteSchema()
    {
        var big = "{\"description\":\"" + new string('x', 1 << 20) + "\"}";
        Assert.Contains("limit", Refused(GuidedKind.JsonSchema, big).Message);
    }

    [Fact]
    public void UnsupportedKeywordNamesKeywordAndPath()
    {
        // A complement that is not expressible exactly is refused, never approximated.
        var e = Refused(GuidedKind.JsonSchema, "{\"properties\":{\"x\":{\"not\":{\"type\":\"array\",\"uniqueItems\":true}}}}");
        Assert.Contains("'not'", e.Message);
        Assert.Contains("#/properties/x/not", e.Message);
        Assert.Contains("'uniqueItems'", e.Message);
        Assert.Contains("#/if", Refused(GuidedKind.JsonSchema, "{\"if\":{\"uniqueItems\":true},\"then\":{}}").Message);
        Assert.Contains("#/minContains", Refused(GuidedKind.JsonSchema, "{\"contains\":{\"type\":\"string\"},\"minContains\":2}").Message);
    }

    [Fact]
    public void NonRegularPatternsAreRefused()
    {
        Assert.Contains("backreference", Refused(GuidedKind.Regex, "(a)\\1").Message);
        Assert.Contains("lookaround", Refused(GuidedKind.JsonSchema, "{\"type\":\"string\",\"pattern\":\"^(?!x)\"}").Message);
        // An exponential DFA blow-up is refused rather than built.
        Refused(GuidedKind.Regex, "[ab]*a[ab]{20}");
    }

    [Fact]
    public void CombinatorialAnyOfIsBounded()
    {
        var alts = string.Join(",", Enumerable.Range(0, 9).Select(i => $"{{\"anyOf\":[{{\"minLength\":{i}}},{{\"maxLength\":{i}}}]}}"));
        Assert.Contains("alternatives", Refused(GuidedKind.JsonSchema, "{\"allOf\":[" + alts + "]}").Message);
    }

    [Fact]
    public void BadInputsSayWhatIsWrong()
    {
        Assert.Contains("not valid JSON", Refused(GuidedKind.JsonSchema, "{\"type\":").Message);
        Assert.Contains("does not resolve", Refused(GuidedKind.JsonSchema, "{\"$ref\":\"#/nope\"}").Message);
        Assert.Contains("unknown type", Refused(GuidedKind.JsonSchema, "{\"type\":\"strng\"}").Message);
        Assert.Contains("accepts no output", Refused(GuidedKind.JsonSchema, "false").Message);
    }
}
