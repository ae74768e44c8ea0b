using System.Text.Json.Nodes;
using Modular.Server.Protocol;

namespace Modular.Server.Tests;

/// <summary><c>strict: true</c> closes declared objects only where that narrows the language and nothing else.</summary>
public sealed class StrictJsonSchemaTests
{
    [Fact]
    public void Declared_objects_are_closed_at_every_depth()
    {
        var closed = JsonNode.Parse(StrictJsonSchema.Close("""
            {"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}}},
             "c":{"type":"array","items":{"properties":{"d":{}}}}},"$defs":{"e":{"properties":{"f":{}}}}}
            """))!;
        Assert.False(closed["additionalProperties"]!.GetValue<bool>());
        Assert.False(closed["properties"]!["a"]!["additionalProperties"]!.GetValue<bool>());
        Assert.False(closed["properties"]!["c"]!["items"]!["additionalProperties"]!.GetValue<bool>());
        Assert.False(closed["$defs"]!["e"]!["additionalProperties"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("""{"type":"object"}""")]                                                          // free-form map: nothing declared
    [InlineData("""{"properties":{"a":{}},"additionalProperties":{"type":"integer"}}""")]          // says what other names get
    [InlineData("""{"properties":{"a":{}},"patternProperties":{"^x":{}}}""")]
    [InlineData("""{"properties":{"a":{}},"required":["a","b"]}""")]                               // requires an undeclared name
    [InlineData("""{"properties":{"a":{}},"minProperties":2}""")]
    [InlineData("""{"oneOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}""")]                // exclusivity would change
    [InlineData("""{"not":{"properties":{"a":{"properties":{"b":{}}}}}}""")]                      // narrowing inside not widens
    [InlineData("""{"allOf":[{"properties":{"a":{}}},{"properties":{"b":{}}}]}""")]                // members merge
    public void Schemas_where_closing_is_unsafe_or_meaningless_stay_as_sent(string schema)
    {
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(schema), JsonNode.Parse(StrictJsonSchema.Close(schema))));
    }

    [Fact]
    public void Property_names_that_look_like_keywords_are_data()
    {
        var closed = JsonNode.Parse(StrictJsonSchema.Close("""{"properties":{"not":{"type":"string"},"oneOf":{"properties":{"x":{}}}}}"""))!;
        Assert.False(closed["additionalProperties"]!.GetValue<bool>());
        Assert.False(closed["properties"]!["oneOf"]!["additionalProperties"]!.GetValue<bool>());
    }

    [Fact]
    public void An_anyOf_beside_properties_shares_the_object_and_is_left_open()
    {
        var closed = JsonNode.Parse(StrictJsonSchema.Close("""{"properties":{"a":{}},"anyOf":[{"properties":{"b":{}}},{"required":["a"]}]}"""))!;
        Assert.Null(closed["additionalProperties"]);
        Assert.Null(closed["anyOf"]![0]!["additionalProperties"]);
    }
}
