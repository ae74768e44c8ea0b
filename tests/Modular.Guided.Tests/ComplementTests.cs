using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>
/// contains, and the complements that need "some item" or "some member" (items, propertyNames, patternProperties,
/// additionalProperties), multipleOf, integer and structured enum members: each enforced exactly.
/// </summary>
public sealed class ComplementTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private bool Schema(string schema, string text) => Drive.Matches(_decoder, new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab, text);

    [Theory]
    [InlineData("[1,\"a\"]", true)]
    [InlineData("[\"a\"]", true)]
    [InlineData("[1,2]", false)]
    [InlineData("[]", false)]
    public void Contains(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"array\",\"contains\":{\"type\":\"string\"}}", text));

    [Theory]
    [InlineData("[1,\"a\"]", true)]
    [InlineData("[\"a\",1]", true)]
    [InlineData("[\"a\"]", false)]
    [InlineData("[2]", false)]
    public void TwoContainsNeedTwoWitnesses(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"array\",\"allOf\":[{\"contains\":{\"type\":\"string\"}},{\"contains\":{\"type\":\"integer\"}}]}", text));

    [Theory]
    [InlineData("[1,2]", false)]
    [InlineData("[1,\"a\"]", true)]
    [InlineData("[]", false)]
    [InlineData("7", false)] // items applies to arrays only
    public void NotItems(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"not\":{\"items\":{\"type\":\"integer\"}}}", text));

    [Theory]
    [InlineData("{\"ab\":1}", false)]
    [InlineData("{\"ab\":1,\"x\":2}", true)]
    [InlineData("{}", false)]
    public void NotPropertyNames(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"not\":{\"propertyNames\":{\"pattern\":\"^a\"}}}", text));

    [Theory]
    [InlineData("{\"a1\":\"s\"}", true)]
    [InlineData("{\"a1\":1}", false)]
    [InlineData("{\"b\":\"s\"}", false)]
    public void NotPatternProperties(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"not\":{\"patternProperties\":{\"^a\":{\"type\":\"integer\"}}}}", text));

    [Theory]
    [InlineData("{\"name\":\"x\"}", false)]
    [InlineData("{\"other\":\"x\"}", true)]
    [InlineData("{\"other\":1}", false)]
    public void NotAdditionalProperties(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"not\":{\"properties\":{\"name\":true},\"additionalProperties\":{\"type\":\"integer\"}}}", text));

    [Theory]
    [InlineData("3", false)]
    [InlineData("4", true)]
    [InlineData("4.5", true)]
    [InlineData("\"x\"", false)] // multipleOf applies to numbers only
    public void NotMultipleOf(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"not\":{\"multipleOf\":3}}", text));

    [Theory]
    [InlineData("1", false)]
    [InlineData("1.5", true)]
    [InlineData("1.0", false)]
    public void NotInteger(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"number\",\"not\":{\"type\":\"integer\"}}", text));

    [Theory]
    [InlineData("{\"a\":1}", false)]
    [InlineData("{\"a\":2}", true)]
    [InlineData("{\"a\":1,\"b\":1}", true)]
    [InlineData("{}", true)]
    [InlineData("[1]", true)]
    public void NotConstObject(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"not\":{\"const\":{\"a\":1}}}", text));

    [Theory]
    [InlineData("{\"card\":1}", true)]
    [InlineData("{\"card\":1,\"billing\":2}", false)]
    [InlineData("{}", false)]
    public void NotDependencies(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"not\":{\"dependencies\":{\"card\":[\"billing\"]}}}", text));

    [Theory]
    [InlineData("6", true)]
    [InlineData("4", false)]
    [InlineData("9", false)]
    public void TwoMultipleOfMeetAtTheirLcm(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"integer\",\"allOf\":[{\"multipleOf\":2},{\"multipleOf\":3}]}", text));
}
