using System.Text.Json;
using System.Text.Json.Nodes;

namespace Modular.Server.Protocol;

/// <summary>
/// OpenAI's <c>strict: true</c> for a JSON Schema (response_format json_schema, function parameters): objects carry
/// exactly the properties the schema declares. Object schemas with <c>properties</c> and no word on other names get
/// <c>additionalProperties: false</c>, as OpenAI requires and xgrammar's strict mode assumes. Without it a model may
/// invent property names of any length, which a small model does without end.
/// <para>
/// Closing an object only narrows what a positive schema accepts, so every output still validates against the
/// schema as sent. Where narrowing could widen or break the language (inside <c>not</c>, <c>oneOf</c> exclusivity,
/// <c>if</c>/<c>then</c>, <c>allOf</c> merges, dependencies, evaluated-property keywords) the document is left
/// as it is; so is an object whose required names are not all declared or that sets a property count.
/// </para>
/// </summary>
internal static class StrictJsonSchema
{
    private static readonly string[] Unsafe =
    [
        "not", "oneOf", "allOf", "if", "then", "else", "dependencies", "dependentSchemas", "dependentRequired",
        "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef",
    ];

    private static readonly string[] OpenEnded = ["additionalProperties", "patternProperties", "unevaluatedProperties", "propertyNames", "minProperties", "maxProperties"];

    /// <summary>The schema text with its declared objects closed, or the text unchanged when closing is not safe.</summary>
    public static string Close(string schemaText)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(schemaText); }
        catch (JsonException) { return schemaText; } // the decoder reports the bad JSON
        if (root is not JsonObject || UsesUnsafeKeyword(root)) return schemaText;
        return CloseObjects(root) ? root.ToJsonString() : schemaText;
    }

    private static bool UsesUnsafeKeyword(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    // Property names are data, not keywords: only the schemas under them are looked at.
                    if (key is "properties" or "patternProperties" or "definitions" or "$defs")
                    {
                        if (value is JsonObject map)
                            foreach (var (_, sub) in map)
                                if (UsesUnsafeKeyword(sub)) return true;
                        continue;
                    }
                    if (key is "enum" or "const" or "default" or "examples") continue;
                    if (Array.IndexOf(Unsafe, key) >= 0) return true;
                    if (UsesUnsafeKeyword(value)) return true;
                }
                return false;
            case JsonArray a:
                foreach (var x in a) if (UsesUnsafeKeyword(x)) return true;
                return false;
            default:
                return false;
        }
    }

    // Returns whether anything changed. An anyOf beside properties applies to the same object as its parent, so
    // neither the parent nor its branches are closed there (each would forbid the other's names).
    private static bool CloseObjects(JsonNode? node, bool sharesObject = false)
    {
        bool changed = false;
        switch (node)
        {
            case JsonObject o:
                bool mixed = o["properties"] is not null && o["anyOf"] is not null;
                if (!sharesObject && !mixed && o["properties"] is JsonObject props && IsClosable(o, props))
                {
                    o["additionalProperties"] = false;
                    changed = true;
                }
                foreach (var (key, value) in o.ToList())
                {
                    if (key is "enum" or "const" or "default" or "examples") continue;
                    if (key is "properties" or "definitions" or "$defs" or "patternProperties")
                    {
                        if (value is JsonObject map)
                            foreach (var (_, sub) in map.ToList()) changed |= CloseObjects(sub);
                        continue;
                    }
                    if (key == "anyOf" && mixed && value is JsonArray branches)
                    {
                        foreach (var b in branches) changed |= CloseObjects(b, sharesObject: true);
                        continue;
                    }
                    changed |= CloseObjects(value);
                }
                break;
            case JsonArray a:
                foreach (var x in a) changed |= CloseObjects(x);
                break;
        }
        return changed;
    }

    private static bool IsClosable(JsonObject schema, JsonObject props)
    {
        foreach (var k in OpenEnded) if (schema.ContainsKey(k)) return false;
        if (schema["$ref"] is not null) return false; // siblings of $ref merge with its target in newer drafts
        if (schema["required"] is JsonArray required)
            foreach (var r in required)
                if (r is JsonValue v && v.TryGetValue<string>(out var name) && !props.ContainsKey(name)) return false;
        return true;
    }
}
