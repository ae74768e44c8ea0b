using System.Text.Json;
using Modular.Abstractions;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>
/// Reads a structured-output constraint in any of the forms vLLM accepts: <c>response_format</c>
/// (<c>json_object</c>, <c>json_schema</c>), <c>structured_outputs</c> (<c>json</c>, <c>regex</c>, <c>choice</c>,
/// <c>grammar</c>) or the older <c>guided_json</c> / <c>guided_regex</c> / <c>guided_choice</c> /
/// <c>guided_grammar</c> fields. At most one constraint per request.
/// </summary>
internal static class GuidedBinder
{
    public static (GuidedSpec Spec, string Param)? Read(JsonFields f)
    {
        var found = new List<(GuidedSpec, string)>();
        if (f.Object("response_format") is { } rf) ReadResponseFormat(new JsonFields(rf, "response_format"), found);
        if (f.Object("structured_outputs") is { } so) ReadFields(new JsonFields(so, "structured_outputs"), "structured_outputs.", "", found);
        ReadFields(f, "", "guided_", found);
        if (found.Count > 1)
            throw ApiException.BadField(found[1].Item2, $"only one output constraint per request; got {string.Join(" and ", found.Select(x => x.Item2))}");
        return found.Count == 1 ? found[0] : null;
    }

    private static void ReadResponseFormat(JsonFields rf, List<(GuidedSpec, string)> found)
    {
        string type = rf.String("type") ?? throw ApiException.BadField("response_format", "response_format.type: is required");
        switch (type)
        {
            case "text":
                return;
            case "json_object":
                found.Add((new GuidedSpec(GuidedKind.JsonObject, "{}"), "response_format"));
                return;
            case "json_schema":
                var js = rf.Object("json_schema") ?? throw ApiException.BadField("response_format", "response_format.json_schema: is required for type json_schema");
                var jf = new JsonFields(js, "response_format.json_schema");
                var schema = jf.Object("schema") ?? throw ApiException.BadField("response_format", "response_format.json_schema.schema: is required");
                bool strict = jf.Bool("strict") ?? false;
                string text = strict ? StrictJsonSchema.Close(schema.GetRawText()) : schema.GetRawText();
                found.Add((new GuidedSpec(GuidedKind.JsonSchema, text), "response_format"));
                return;
            default:
                throw ApiException.BadField("response_format", $"response_format.type: \"{type}\" is not supported; use text, json_object or json_schema");
        }
    }

    private static void ReadFields(JsonFields f, string paramPrefix, string fieldPrefix, List<(GuidedSpec, string)> found)
    {
        string json = fieldPrefix + "json", regex = fieldPrefix + "regex", choice = fieldPrefix + "choice", grammar = fieldPrefix + "grammar";
        if (f.Get(json) is { } j)
        {
            string text = j.ValueKind switch
            {
                JsonValueKind.Object or JsonValueKind.True => j.GetRawText(),
                JsonValueKind.String => j.GetString()!,
                _ => throw ApiException.BadField(paramPrefix + json, $"{paramPrefix}{json}: expected a JSON Schema object or its text, got {JsonFields.Kind(j)}"),
            };
            found.Add((new GuidedSpec(GuidedKind.JsonSchema, text), paramPrefix + json));
        }
        if (f.String(regex) is { } r) found.Add((new GuidedSpec(GuidedKind.Regex, r), paramPrefix + regex));
        if (f.StringOrStrings(choice) is { } c)
        {
            if (c.Count == 0) throw ApiException.BadField(paramPrefix + choice, $"{paramPrefix}{choice}: must list at least one choice");
            found.Add((new GuidedSpec(GuidedKind.Choice, JsonSerializer.Serialize(c)), paramPrefix + choice));
        }
        if (f.String(grammar) is { } g) found.Add((new GuidedSpec(GuidedKind.Grammar, g), paramPrefix + grammar));
    }

    /// <summary>
    /// Compiles the constraint once (so a bad schema is a 400 now, not a failed generation) and returns the per-sample
    /// matcher factory the engine calls.
    /// </summary>
    public static Func<IGrammarMatcher>? Factory(JsonFields f, IGuidedDecoder? decoder, ITokenVocabulary vocabulary)
    {
        if (Read(f) is not var (spec, param)) return null;
        if (decoder is null)
            throw ApiException.BadField(param, $"{param}: structured output needs the guided-decoding plugin; add it to plugins.json");
        try { decoder.Create(spec, vocabulary); }
        catch (GuidedSpecException e) { throw ApiException.BadField(param, $"{param}: {e.Message}"); }
        return () => decoder.Create(spec, vocabulary);
    }
}
