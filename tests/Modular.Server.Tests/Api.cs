using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Modular.Server.Tests;

/// <summary>Raw HTTP helpers: JSON posts, SSE reading and OpenAI error-shape checks.</summary>
internal static class Api
{
    public static StringContent Json(object body) =>
        new(body as string ?? JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public static async Task<(int Status, JsonNode? Body)> PostAsync(HttpClient http, string path, object body)
    {
        using var r = await http.PostAsync(path, Json(body), TestContext.Current.CancellationToken);
        string text = await r.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return ((int)r.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text));
    }

    public static async Task<JsonNode> OkAsync(HttpClient http, string path, object body)
    {
        var (status, json) = await PostAsync(http, path, body);
        Assert.True(status == 200, $"{path} answered {status}: {json?.ToJsonString()}");
        return json!;
    }

    /// <summary>Reads an SSE response into its data payloads (the final "[DONE]" included as a string).</summary>
    public static async Task<List<string>> ReadEventsAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var events = new List<string>();
        using var stream = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream);
        string? line;
        while ((line = await reader.ReadLineAsync(ct)) is not null)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            events.Add(line["data: ".Length..]);
        }
        return events;
    }

    public static HttpRequestMessage StreamRequest(string path, object body)
    {
        var m = new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(body) };
        m.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        return m;
    }

    /// <summary>Asserts <c>{"error":{"message","type","param","code"}}</c> with a non-empty message.</summary>
    public static void AssertOpenAiError(JsonNode? body, string context)
    {
        Assert.True(body is JsonObject, $"{context}: body is not a JSON object: {body?.ToJsonString()}");
        var error = body!["error"] as JsonObject;
        Assert.True(error is not null, $"{context}: no error object in {body.ToJsonString()}");
        Assert.False(string.IsNullOrWhiteSpace(error!["message"]?.GetValue<string>()), $"{context}: empty message");
        Assert.False(string.IsNullOrWhiteSpace(error["type"]?.GetValue<string>()), $"{context}: empty type");
        Assert.True(error.ContainsKey("param"), $"{context}: no param key");
        Assert.True(error.ContainsKey("code"), $"{context}: no code key");
    }
}
