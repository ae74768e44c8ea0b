using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>
/// Turns a constraining <c>tool_choice</c> into a JSON Schema for the guided decoder. <c>"required"</c> gives
/// <c>{"name": &lt;a tool's name&gt;, "arguments": &lt;that tool's parameters&gt;}</c> (anyOf over the tools); a named
/// function gives its parameters schema alone (the output is the arguments).
/// </summary>
internal static class ToolConstraint
{
    /// <summary>The constraint of <paramref name="tools"/>' choice; null when the choice does not constrain.</summary>
    public static GuidedSpec? Spec(ChatTools tools)
    {
        if (tools.Mode == ToolChoiceMode.Named) return new GuidedSpec(GuidedKind.JsonSchema, tools.Named!.Parameters);
        if (tools.Mode != ToolChoiceMode.Required) return null;
        return new GuidedSpec(GuidedKind.JsonSchema, RequiredSchema(tools.Functions).ToJsonString());
    }

    /// <summary>
    /// The schema of one call of any of <paramref name="functions"/>. Each tool's parameters move under
    /// <c>anyOf/i/properties/arguments</c>, so their local <c>$ref</c>s are rewritten to point there.
    /// </summary>
    public static JsonObject RequiredSchema(IReadOnlyList<ToolFunction> functions)
    {
        var branches = new JsonArray();
        var dialects = new List<string?>(functions.Count);
        for (int i = 0; i < functions.Count; i++)
        {
            var fn = functions[i];
            var parameters = JsonNode.Parse(fn.Parameters)!.AsObject();
            // $schema only counts at the document root: lifted there below when every tool names the same draft.
            dialects.Add(parameters["$schema"] is JsonValue v && v.TryGetValue<string>(out var d) ? d : null);
            parameters.Remove("$schema");
            string prefix = functions.Count == 1 ? "#/properties/arguments" : $"#/anyOf/{i}/properties/arguments";
            RewriteRefs(parameters, prefix);
            branches.Add(new JsonObject
            {
                ["type"] = "object",
                ["properties"] = new JsonObject
                {
                    ["name"] = new JsonObject { ["const"] = fn.Name },
                    ["arguments"] = parameters,
                },
                ["required"] = new JsonArray("name", "arguments"),
                ["additionalProperties"] = false,
            });
        }
        JsonObject root;
        if (functions.Count == 1)
        {
            root = branches[0]!.AsObject();
            branches.RemoveAt(0);
        }
        else root = new JsonObject { ["anyOf"] = branches };
        if (dialects[0] is { } dialect && dialects.TrueForAll(x => x == dialect)) root.Insert(0, "$schema", dialect);
        return root;
    }

    /// <summary>
    /// Compiles the tool constraint now (so a schema the decoder refuses is a 400 naming the tool) and returns the
    /// per-sample matcher factory; null when the choice does not constrain.
    /// </summary>
    public static Func<IGrammarMatcher>? Factory(ChatTools tools, IGuidedDecoder? decoder, ITokenVocabulary vocabulary)
    {
        if (!tools.Constrains) return null;
        string mode = tools.Mode == ToolChoiceMode.Required ? "\"required\"" : "a named function";
        if (decoder is null)
            throw ApiException.BadField("tool_choice", $"tool_choice: {mode} needs the guided-decoding plugin to constrain the output; add it to plugins.json or use \"auto\"");
        // Each tool alone first, so the message says which tool's parameters the decoder refused.
        var each = tools.Mode == ToolChoiceMode.Named ? [tools.Named!] : tools.Functions;
        foreach (var fn in each)
        {
            try { decoder.Create(new GuidedSpec(GuidedKind.JsonSchema, fn.Parameters), vocabulary); }
            catch (GuidedSpecException e)
            {
                throw ApiException.BadField("tools", $"tools[{fn.Index}].function.parameters: the guided decoder cannot enforce this schema: {e.Message}");
            }
        }
        var spec = Spec(tools)!;
        try { decoder.Create(spec, vocabulary); }
        catch (GuidedSpecException e) { throw ApiException.BadField("tools", $"tools: the combined tool-call schema for tool_choice {mode} does not compile: {e.Message}"); }
        return () => decoder.Create(spec, vocabulary);
    }

    // Local references ("#", "#/...") are relative to the parameters schema's own root; re-anchor them under prefix.
    private static void RewriteRefs(JsonNode? node, string prefix)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o.ToList())
                {
                    if (key == "$ref" && value is JsonValue rv && rv.TryGetValue<string>(out var r) && r.StartsWith('#'))
                    {
                        string rest = r[1..];
                        o[key] = rest.Length == 0 || rest[0] == '/' ? prefix + rest : r; // anchors ("#name") are left for the decoder to judge
                    }
                    else RewriteRefs(value, prefix);
                }
                break;
            case JsonArray a:
                foreach (var x in a) RewriteRefs(x, prefix);
                break;
        }
    }
}
