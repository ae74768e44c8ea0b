using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>not, if/then/else and schema dependencies: exact complements, checked on both sides of each boundary.</summary>
public sealed class LogicKeywordTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private bool Schema(string schema, string text) => Drive.Matches(_decoder, new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab, text);

    [Theory]
    [InlineData("\"abc\"", false)]
    [InlineData("\"ab\"", true)]
    [InlineData("\"abcd\"", true)]
    [InlineData("\"abd\"", true)]
    [InlineData("\"\"", true)]
    [InlineData("null", false)]
    public void NotConstString(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":[\"string\",\"null\"],\"not\":{\"anyOf\":[{\"const\":\"abc\"},{\"type\":\"null\"}]}}", text));

    [Theory]
    [InlineData("{\"a\":1}", true)]
    [InlineData("{\"a\":1,\"b\":2}", false)]
    [InlineData("{\"b\":2}", false)]
    [InlineData("{}", true)]
    public void NotRequiredForbidsTheName(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"not\":{\"required\":[\"b\"]}}", text));

    [Theory]
    [InlineData("4", true)]
    [InlineData("5", false)]
    [InlineData("10", false)]
    [InlineData("\"x\"", false)] // minimum applies to numbers only
    public void NotMinimumIsBelow(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"not\":{\"minimum\":5}}", text));

    [Theory]
    [InlineData("{\"kind\":\"circle\",\"r\":1}", true)]
    [InlineData("{\"kind\":\"circle\",\"w\":1}", false)]
    [InlineData("{\"kind\":\"box\",\"w\":1}", true)]
    [InlineData("{\"kind\":\"box\",\"r\":1}", false)]
    [InlineData("{\"w\":1}", false)]
    public void IfThenElseOnADiscriminator(string text, bool expected) =>
        Assert.Equal(expected, Schema(
            "{\"type\":\"object\",\"properties\":{\"kind\":{\"type\":\"string\"}},\"required\":[\"kind\"]," +
            "\"if\":{\"properties\":{\"kind\":{\"const\":\"circle\"}}},\"then\":{\"required\":[\"r\"]},\"else\":{\"required\":[\"w\"]}}", text));

    [Theory]
    [InlineData("{\"card\":1,\"billing\":\"x\"}", true)]
    [InlineData("{\"card\":1}", false)]
    [InlineData("{\"card\":1,\"billing\":2}", false)]
    [InlineData("{\"name\":\"a\"}", true)]
    public void SchemaDependency(string text, bool expected) =>
        Assert.Equal(expected, Schema(
            "{\"type\":\"object\",\"dependencies\":{\"card\":{\"required\":[\"billing\"],\"properties\":{\"billing\":{\"type\":\"string\"}}}}}", text));

    [Fact]
    public void UnnegatableKeywordIsRefusedWithItsPath()
    {
        var e = Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(GuidedKind.JsonSchema, "{\"not\":{\"multipleOf\":2.5}}"), _vocab));
        Assert.Contains("'multipleOf'", e.Message);
        Assert.Contains("#/not", e.Message);
    }
}

/// <summary>Array and object members of enum/const are parsed structurally, so they never shadow other alternatives.</summary>
public sealed class StructuredEnumTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    [Theory]
    [InlineData("{\"c\":[\"size\"]}", true)]
    [InlineData("{\"c\":[\"deleted\"]}", true)]
    [InlineData("{\"c\":[\"deleted\",\"size\"]}", true)]
    [InlineData("{\"c\":[\"x\"]}", false)]
    [InlineData("{\"c\":{\"a\":[1]}}", true)]
    [InlineData("{\"c\":{\"a\":[2]}}", false)]
    public void ArrayConstBesideArrayAlternative(string text, bool expected) =>
        Assert.Equal(expected, Drive.Matches(_decoder, new GuidedSpec(GuidedKind.JsonSchema,
            "{\"properties\":{\"c\":{\"anyOf\":[{\"type\":\"array\",\"items\":{\"enum\":[\"size\",\"deleted\"]}},{\"enum\":[[\"deleted\"],{\"a\":[1]}]}]}}}"), _vocab, text));
}
