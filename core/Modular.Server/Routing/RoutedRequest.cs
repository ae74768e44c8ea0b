using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Server.Http;

namespace Modular.Server.Routing;

/// <summary>
/// An OpenAI request body as the front end needs it: the parsed JSON (so that <c>model</c> can be rewritten per
/// target), the requested model, whether it streams, and the text a router reads (prompt, message contents or
/// embedding input).
/// </summary>
internal sealed class RoutedRequest
{
    private readonly JsonObject _root;

    private RoutedRequest(JsonObject root, string model, bool stream, string text, int messageCount)
    {
        _root = root;
        Model = model;
        Stream = stream;
        Text = text;
        MessageCount = messageCount;
    }

    public string Model { get; }
    public bool Stream { get; }
    public string Text { get; }
    public int MessageCount { get; }

    /// <summary>The body to send, with <c>model</c> replaced by <paramref name="model"/> when given.</summary>
    public byte[] BodyFor(string? model)
    {
        if (model is not null) _root["model"] = model;
        return JsonSerializer.SerializeToUtf8Bytes(_root);
    }

    /// <summary>Parses a body; 400 with the field named when it is not an OpenAI request object.</summary>
    public static RoutedRequest Parse(ReadOnlySpan<byte> body)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"request body is not valid JSON: {e.Message}", code: "invalid_json");
        }
        if (node is not JsonObject root) throw new ApiException(400, "request body must be a JSON object", code: "invalid_json");
        if (root["model"] is not JsonValue mv || !mv.TryGetValue<string>(out var model) || model.Length == 0)
            throw ApiException.BadField("model", "model: required, a non-empty string (\"auto\" lets the router choose)");
        bool stream = root["stream"] is JsonValue sv && sv.TryGetValue<bool>(out var b) && b;

        var text = new StringBuilder();
        int messages = 1;
        if (root["messages"] is JsonArray list)
        {
            messages = Math.Max(1, list.Count);
            foreach (var m in list)
                if (m is JsonObject msg) AppendContent(text, msg["content"]);
        }
        else if (root["prompt"] is { } prompt) AppendContent(text, prompt);
        else if (root["input"] is { } input) AppendContent(text, input);
        return new RoutedRequest(root, model, stream, text.ToString(), messages);
    }

    /// <summary>Strings, arrays of strings, and content parts of type text; token-id arrays carry no text and are skipped.</summary>
    private static void AppendContent(StringBuilder text, JsonNode? content)
    {
        switch (content)
        {
            case JsonValue v when v.TryGetValue<string>(out var s):
                if (text.Length > 0) text.Append('\n');
                text.Append(s);
                break;
            case JsonArray a:
                foreach (var part in a)
                {
                    if (part is JsonObject o) AppendContent(text, o["text"]);
                    else AppendContent(text, part);
                }
                break;
        }
    }
}
