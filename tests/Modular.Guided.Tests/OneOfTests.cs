using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>oneOf is exclusive: disjoint branches stay alternatives, overlapping ones get exact complements or are refused.</summary>
public sealed class OneOfTests
{
    private readonly TestVocab _vocab = new();
    private readonly GuidedDecoder _decoder = new();

    private bool Schema(string schema, string text) => Drive.Matches(_decoder, new GuidedSpec(GuidedKind.JsonSchema, schema), _vocab, text);

    [Theory]
    [InlineData("{\"kind\":\"circle\",\"r\":1}", true)]
    [InlineData("{\"kind\":\"box\",\"w\":2}", true)]
    [InlineData("{\"kind\":\"tri\"}", false)]
    public void DiscriminatorRequiredByTheOwnerIsDisjoint(string text, bool expected) =>
        Assert.Equal(expected, Schema(
            "{\"type\":\"object\",\"required\":[\"kind\"],\"oneOf\":[" +
            "{\"properties\":{\"kind\":{\"const\":\"circle\"},\"r\":{\"type\":\"number\"}}}," +
            "{\"properties\":{\"kind\":{\"enum\":[\"box\"]},\"w\":{\"type\":\"number\"}}}]}", text));

    [Theory]
    [InlineData("5", true)]
    [InlineData("3", false)] // in both [..4] and [2..]
    [InlineData("2", false)]
    [InlineData("1.5", true)]
    [InlineData("4.5", true)]
    [InlineData("\"x\"", false)]
    public void OverlappingNumberBranchesAreMadeExclusive(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"oneOf\":[{\"type\":\"number\",\"maximum\":4},{\"type\":\"number\",\"minimum\":2}]}", text));

    [Theory]
    [InlineData("{\"a\":1}", true)]
    [InlineData("{\"b\":1}", true)]
    [InlineData("{\"a\":1,\"b\":2}", false)]
    [InlineData("{}", false)]
    public void RequiredKeysAreExclusive(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"type\":\"object\",\"oneOf\":[{\"required\":[\"a\"]},{\"required\":[\"b\"]}]}", text));

    [Theory]
    [InlineData("\"x\"", true)]
    [InlineData("null", true)]
    [InlineData("1", false)]
    public void DisjointTypesStayAlternatives(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"oneOf\":[{\"type\":\"string\",\"pattern\":\"^x\"},{\"type\":\"null\"}]}", text));

    [Theory]
    [InlineData("\"ac\"", true)]
    [InlineData("\"cb\"", true)]
    [InlineData("\"ab\"", false)]
    [InlineData("\"c\"", false)]
    public void OverlappingPatternsUseTheComplementedPattern(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"oneOf\":[{\"type\":\"string\",\"pattern\":\"^a\"},{\"type\":\"string\",\"pattern\":\"b$\"}]}", text));

    [Theory]
    [InlineData("{\"t\":\"x\"}", true)]
    [InlineData("{\"t\":\"y\"}", true)]
    [InlineData("{\"t\":\"x\",\"u\":1}", false)] // matches the nested oneOf and the outer second branch
    [InlineData("{\"u\":1}", true)]
    public void NestedOneOfIsNegatedExactly(string text, bool expected) =>
        Assert.Equal(expected, Schema(
            "{\"type\":\"object\",\"oneOf\":[{\"required\":[\"t\"],\"oneOf\":[{\"properties\":{\"t\":{\"const\":\"x\"}}},{\"properties\":{\"t\":{\"const\":\"y\"}}}]}," +
            "{\"required\":[\"u\"]}]}", text));

    [Theory]
    [InlineData("\"abc\"", false)]
    [InlineData("\"xyz\"", true)]
    [InlineData("7", false)] // pattern applies to strings only: 7 satisfies it, so not its complement
    public void NotPatternIsTheComplementedAutomaton(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"not\":{\"pattern\":\"b\"}}", text));

    [Fact]
    public void OverlapWithoutAComplementIsRefusedNamingOneOf()
    {
        var e = Assert.Throws<GuidedSpecException>(() => _decoder.Create(new GuidedSpec(GuidedKind.JsonSchema,
            "{\"properties\":{\"v\":{\"oneOf\":[{\"type\":\"array\",\"uniqueItems\":true},{\"type\":\"array\",\"maxItems\":2}]}}}"), _vocab));
        Assert.Contains("'oneOf'", e.Message);
        Assert.Contains("#/properties/v/oneOf", e.Message);
    }

    [Theory]
    [InlineData("3", true)]
    [InlineData("10", true)]
    [InlineData("15", false)]
    [InlineData("7", false)]
    public void OverlappingMultiplesAreMadeExclusive(string text, bool expected) =>
        Assert.Equal(expected, Schema("{\"oneOf\":[{\"type\":\"integer\",\"multipleOf\":3},{\"type\":\"integer\",\"multipleOf\":5}]}", text));
}

/// <summary>Compiling past the budget is refused with a message that names it, instead of stalling.</summary>
public sealed class CompileBudgetTests
{
    [Fact]
    public void ConstraintPastTheBudgetIsRefused()
    {
        var vocab = new TestVocab();
        var tight = new GuidedDecoder(new GuidedOptions { CompileBudgetMs = 1 });
        var e = Assert.Throws<GuidedSpecException>(() => tight.Create(new GuidedSpec(GuidedKind.Regex, "[a-z]{1,1000}[0-9]{1,1000}"), vocab));
        Assert.Contains("budget of 1 ms", e.Message);
        // The default budget compiles it.
        Assert.NotNull(new GuidedDecoder().Create(new GuidedSpec(GuidedKind.Regex, "[a-z]{1,1000}[0-9]{1,1000}"), vocab));
    }
}
