using System.Diagnostics;
using System.Text.Json.Nodes;
using Modular.Testing;
using NJsonSchema;

namespace Modular.Server.Tests;

/// <summary>
/// End-to-end structured output: real-world JSON Schemas (JSONSchemaBench, shared fixtures) requested through
/// <c>response_format: json_schema</c> from the real server. Every answer must end (finish "stop") with JSON that
/// validates against its schema under an independent validator (NJsonSchema). bard-2m (512-token context, trained on
/// Shakespeare) writes prose into strings that have no maxLength and would not close them by itself; the guided
/// decoder's budget-aware mask (contract 1.3) steers it to the shortest completion as the context runs out, so none
/// may be cut off.
/// </summary>
public sealed class StructuredOutputTests(ServerFixture server)
{
    private const int SchemaCount = 50;
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The schema files in a fixed order that visits every source: the sorted folders in turn, each file in sorted
    /// order (1st of each folder, then 2nd of each, ...).
    /// </summary>
    internal static List<string> RoundRobin(string root)
    {
        var folders = Directory.GetDirectories(root).Order(StringComparer.Ordinal)
            .Select(d => Directory.GetFiles(d, "*.json").Order(StringComparer.Ordinal).ToList()).ToList();
        var order = new List<string>();
        for (int i = 0; folders.Any(f => i < f.Count); i++)
            foreach (var f in folders)
                if (i < f.Count) order.Add(f[i]);
        return order;
    }

    private sealed record Outcome(string File, int Status, string? Param, string? Error, string? Content, string? Finish, int Tokens);

    [Fact]
    public async Task Fifty_fixture_schemas_all_end_in_json_that_validates()
    {
        string root = Fixtures.Shared("jsonschema");
        using var http = ServerFixture.NewClient(server.BaseUri, ServerFixture.ApiKey);
        http.Timeout = TimeSpan.FromMinutes(5);
        var clock = Stopwatch.StartNew();
        var accepted = new List<(string File, string Schema, Outcome Result)>();
        var refused = new List<string>();
        // One request at a time: when one sample's mask comes up empty the engine fails its whole batch, and a
        // failure must name its own schema, not the ones that happened to share its step.
        foreach (var file in RoundRobin(root))
        {
            if (accepted.Count == SchemaCount) break;
            string schema = JsonNode.Parse(File.ReadAllText(file))!["schema"]!.ToJsonString();
            var r = await AskAsync(http, file, schema);
            if (r.Status == 400 && r.Param == "response_format") refused.Add($"{Name(r.File)}: {r.Error}");
            else accepted.Add((file, schema, r));
        }
        double seconds = clock.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"{accepted.Count} schemas answered in {seconds:F1} s, {accepted.Sum(a => a.Result.Tokens)} tokens; "
            + $"{refused.Count} refused by the guided decoder:\n  " + string.Join("\n  ", refused));
        Assert.Equal(SchemaCount, accepted.Count);

        var failures = new List<string>();
        foreach (var (file, schemaText, r) in accepted)
        {
            if (r.Status != 200) { failures.Add($"{Name(file)}: HTTP {r.Status} {r.Error}"); continue; }
            if (r.Finish != "stop") { failures.Add($"{Name(file)}: finish_reason {r.Finish} after {r.Tokens} tokens: {Short(r.Content)}"); continue; }
            try { JsonNode.Parse(r.Content!); }
            catch (System.Text.Json.JsonException e) { failures.Add($"{Name(file)}: not JSON ({e.Message}): {Short(r.Content)}"); continue; }
            var schema = await JsonSchema.FromJsonAsync(ForNJsonSchema(schemaText), Ct);
            var errors = schema.Validate(r.Content!).Where(e => !AppliesOnlyToObjects(e, r.Content!)).ToList();
            if (errors.Count > 0) failures.Add($"{Name(file)}: {string.Join("; ", errors.Take(3))}: {Short(r.Content)}");
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{accepted.Count - failures.Count} of {accepted.Count} answers ended in JSON that validates");
        Assert.True(failures.Count == 0, $"{failures.Count} of {accepted.Count} answers fail:\n" + string.Join("\n", failures));
    }

    private static readonly string[] SchemaMaps = ["properties", "patternProperties", "definitions", "$defs", "dependentSchemas"];
    private static readonly string[] SchemaLists = ["allOf", "anyOf", "oneOf", "prefixItems"];
    private static readonly string[] SchemaValues = ["items", "not", "contains", "if", "then", "else", "propertyNames"];

    /// <summary>
    /// NJsonSchema reads boolean schemas only as additionalProperties/additionalItems; elsewhere (a property, a
    /// patternProperties value, items) it throws. Rewrites them to their object forms, same meaning: true as {},
    /// false as {"not": {}}.
    /// </summary>
    internal static string ForNJsonSchema(string schemaText)
    {
        var root = JsonNode.Parse(schemaText)!;
        Rewrite(root);
        return root.ToJsonString();

        static JsonNode? Schema(JsonNode? n)
        {
            if (n is JsonValue v && v.TryGetValue<bool>(out bool b)) return b ? new JsonObject() : new JsonObject { ["not"] = new JsonObject() };
            Rewrite(n);
            return n;
        }

        static void Rewrite(JsonNode? n)
        {
            if (n is not JsonObject o) return;
            foreach (var key in SchemaMaps)
                if (o[key] is JsonObject map)
                    foreach (var name in map.Select(p => p.Key).ToList()) map[name] = Schema(map[name]?.DeepClone());
            foreach (var key in SchemaLists)
                if (o[key] is JsonArray list)
                    for (int i = 0; i < list.Count; i++) list[i] = Schema(list[i]?.DeepClone());
            foreach (var key in SchemaValues)
                if (o[key] is JsonArray items) { for (int i = 0; i < items.Count; i++) items[i] = Schema(items[i]?.DeepClone()); }
                else if (o.ContainsKey(key)) o[key] = Schema(o[key]?.DeepClone());
            foreach (var key in new[] { "additionalProperties", "additionalItems" }) Rewrite(o[key]);
        }
    }

    /// <summary>
    /// NJsonSchema reports a missing required property even when the instance is not an object; JSON Schema applies
    /// <c>required</c> to objects only (a schema without <c>type</c> accepts <c>false</c>, as Github_medium/o10310 does).
    /// </summary>
    private static bool AppliesOnlyToObjects(NJsonSchema.Validation.ValidationError e, string instance) =>
        e.Kind == NJsonSchema.Validation.ValidationErrorKind.PropertyRequired
        && e.Path is { } path && path.StartsWith("#/", StringComparison.Ordinal) && path.IndexOfAny(['/', '.', '['], 2) < 0
        && JsonNode.Parse(instance) is not JsonObject;

    private static async Task<Outcome> AskAsync(HttpClient http, string file, string schema)
    {
        var body = new JsonObject
        {
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "Answer in JSON." }),
            ["response_format"] = new JsonObject
            {
                ["type"] = "json_schema",
                ["json_schema"] = new JsonObject { ["name"] = "answer", ["schema"] = JsonNode.Parse(schema), ["strict"] = true },
            },
            ["temperature"] = 0, // greedy; max_tokens left to the rest of the context (about 490 tokens)
        };
        var (status, json) = await Api.PostAsync(http, "v1/chat/completions", body.ToJsonString());
        if (status != 200)
            return new Outcome(file, status, json?["error"]?["param"]?.GetValue<string>(), json?["error"]?["message"]?.GetValue<string>(), null, null, 0);
        var choice = json!["choices"]![0]!;
        return new Outcome(file, status, null, null, choice["message"]!["content"]?.GetValue<string>(), choice["finish_reason"]?.GetValue<string>(),
            json["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    private static string Name(string file) => Path.GetFileName(Path.GetDirectoryName(file)) + "/" + Path.GetFileName(file);

    private static string Short(string? s) => s is null ? "(null)" : s.Length <= 400 ? s : s[..200] + " ... " + s[^200..];
}
