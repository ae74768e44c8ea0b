using System.Diagnostics;
using System.Text.Json.Nodes;
using Modular.Testing;
using NJsonSchema;

namespace Modular.Server.Tests;

/// <summary>
/// End-to-end structured output: real-world JSON Schemas (JSONSchemaBench, shared fixtures) requested through
/// <c>response_format: json_schema</c> from the real server. Every answer that ends (finish "stop") must be JSON
/// that validates against its schema under an independent validator (NJsonSchema): the guided decoder is sound.
/// Whether an answer ends is the model's doing: bard-2m (512-token context, trained on Shakespeare) writes prose into
/// strings that have no maxLength and may never close them, so answers cut at the context limit are counted and
/// printed, not failed; at least <see cref="MinComplete"/> must end.
/// </summary>
public sealed class StructuredOutputTests(ServerFixture server)
{
    private const int SchemaCount = 50;
    private const int MinComplete = 20;
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
    public async Task Fifty_fixture_schemas_never_give_an_answer_that_breaks_its_schema()
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
        var cut = new List<string>();
        foreach (var (file, schemaText, r) in accepted)
        {
            if (r.Status != 200) { failures.Add($"{Name(file)}: HTTP {r.Status} {r.Error}"); continue; }
            if (r.Finish == "length") { cut.Add($"{Name(file)} ({r.Tokens} tokens)"); continue; }
            if (r.Finish != "stop") { failures.Add($"{Name(file)}: finish_reason {r.Finish} after {r.Tokens} tokens: {Short(r.Content)}"); continue; }
            try { JsonNode.Parse(r.Content!); }
            catch (System.Text.Json.JsonException e) { failures.Add($"{Name(file)}: not JSON ({e.Message}): {Short(r.Content)}"); continue; }
            var schema = await JsonSchema.FromJsonAsync(schemaText, Ct);
            var errors = schema.Validate(r.Content!).Where(e => !AppliesOnlyToObjects(e, r.Content!)).ToList();
            if (errors.Count > 0) failures.Add($"{Name(file)}: {string.Join("; ", errors.Take(3))}: {Short(r.Content)}");
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"{accepted.Count - cut.Count - failures.Count} whole answers validated; "
            + $"{cut.Count} cut at the context limit (the model never closed a string): {string.Join(", ", cut)}");
        Assert.True(failures.Count == 0, $"{failures.Count} of {accepted.Count} answers fail:\n" + string.Join("\n", failures));
        Assert.True(accepted.Count - cut.Count >= MinComplete, $"only {accepted.Count - cut.Count} of {accepted.Count} answers ended; cut: {string.Join(", ", cut)}");
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

    private static string Short(string? s) => s is null ? "(null)" : s.Length <= 300 ? s : s[..300] + "...";
}
