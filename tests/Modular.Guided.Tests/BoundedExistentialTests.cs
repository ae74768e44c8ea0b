using System.Text;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>
/// Items and members limited by maxItems/maxProperties while contains/witness conditions are open: prefixes that no
/// completion can finish must not be accepted. Found by the end-to-end test once budget-aware masks stopped answers
/// being cut off at the context limit.
/// </summary>
public sealed class BoundedExistentialTests
{
    private readonly GuidedDecoder _decoder = new();

    private bool Accepts(string schema, string text) =>
        _decoder.Compile(new GuidedSpec(GuidedKind.JsonSchema, schema), new TestVocab()).CreateMatcher().AcceptBytes(Encoding.UTF8.GetBytes(text));

    // An item that is a non-empty object must occur ("not items: empty object or non-object"), at most 2 items.
    private const string ContainsUnderMaxItems =
        "{\"type\":\"array\",\"allOf\":[{\"not\":{\"items\":{\"patternProperties\":{\"ab\":false},\"additionalProperties\":false}}}],\"maxItems\":2}";

    [Theory]
    [InlineData("[true,{\"k\":1}]", true)]
    [InlineData("[{\"k\":1},true]", true)]
    [InlineData("[true,", true)]
    [InlineData("[true,1", false)]      // the last item allowed by maxItems must satisfy the open contains
    [InlineData("[true,true", false)]
    [InlineData("[true,{", true)]
    public void The_last_item_allowed_must_satisfy_an_open_contains(string text, bool accepted) =>
        Assert.Equal(accepted, Accepts(ContainsUnderMaxItems, text));

    // One member at most, and some member's name must start with "cd" (not patternProperties {^cd: false}).
    private const string WitnessUnderMaxProperties =
        "{\"type\":\"object\",\"allOf\":[{\"not\":{\"patternProperties\":{\"^cd\":false}}}],\"maxProperties\":1}";

    [Theory]
    [InlineData("{\"cde\":1}", true)]
    [InlineData("{\"cd\"", true)]
    [InlineData("{\"xy\"", false)]      // the only member allowed cannot be one that leaves the witness open
    [InlineData("{\"x", false)]         // nor can its key start like one (the mask would walk into a dead end)
    [InlineData("{\"c", true)]
    public void The_last_member_allowed_must_satisfy_an_open_witness(string text, bool accepted) =>
        Assert.Equal(accepted, Accepts(WitnessUnderMaxProperties, text));
}
