using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Modular.Server.Tests;

/// <summary>Bad requests get the right status and an OpenAI-shaped error naming the field; the server keeps serving.</summary>
public sealed class BadInputTests(ServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public sealed record Case(string Name, string Path, byte[] Body, int Status, string? Param = null, string? Key = ServerFixture.ApiKey, string Method = "POST")
    {
        public override string ToString() => Name;
    }

    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";
    private static readonly object Msg = new[] { new { role = "user", content = "hi" } };

    private static byte[] J(object o) => Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(o));
    private static byte[] Raw(string s) => Encoding.UTF8.GetBytes(s);
    private static byte[] ChatWith(string field, object? value)
    {
        var body = new JsonObject { ["messages"] = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(Msg)), ["max_tokens"] = 2 };
        body[field] = value is null ? null : JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(value));
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }
    private static byte[] CompletionWith(string field, object? value)
    {
        var body = new JsonObject { ["prompt"] = "ROMEO:", ["max_tokens"] = 2 };
        body[field] = value is null ? null : JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(value));
        return Encoding.UTF8.GetBytes(body.ToJsonString());
    }

    public static TheoryData<Case> Cases => new()
    {
        new Case("malformed JSON", Chat, Raw("{\"messages\": [{\"role\": \"user\", "), 400),
        new Case("body is an array", Chat, Raw("[1, 2, 3]"), 400),
        new Case("empty body", Chat, [], 400),
        new Case("invalid UTF-8", Chat, [.. Raw("{\"messages\":[{\"role\":\"user\",\"content\":\""), 0xC3, 0x28, 0xFF, .. Raw("\"}]}")], 400),
        new Case("messages missing", Chat, J(new { max_tokens = 3 }), 400, "messages"),
        new Case("messages empty", Chat, J(new { messages = Array.Empty<object>() }), 400, "messages"),
        new Case("messages is a string", Chat, J(new { messages = "hi" }), 400, "messages"),
        new Case("message without role", Chat, J(new { messages = new[] { new { content = "hi" } } }), 400, "messages"),
        new Case("content is a number", Chat, J(new { messages = new[] { new { role = "user", content = 5 } } }), 400, "messages"),
        new Case("image content part", Chat, J(new { messages = new[] { new { role = "user", content = new[] { new { type = "image_url", image_url = new { url = "x" } } } } } }), 400, "messages"),
        new Case("max_tokens negative", Chat, ChatWith("max_tokens", -1), 400, "max_tokens"),
        new Case("max_tokens a string", Chat, ChatWith("max_tokens", "ten"), 400, "max_tokens"),
        new Case("max_tokens huge", Chat, ChatWith("max_tokens", 1_000_000_000_000L), 400, "max_tokens"),
        new Case("max_tokens beyond context", Chat, ChatWith("max_tokens", 100_000), 400, "max_tokens"),
        new Case("max_tokens fractional", Completions, CompletionWith("max_tokens", 2.5), 400, "max_tokens"),
        new Case("temperature negative", Chat, ChatWith("temperature", -0.5), 400, "temperature"),
        new Case("temperature a string", Chat, ChatWith("temperature", "hot"), 400, "temperature"),
        new Case("top_p zero", Chat, ChatWith("top_p", 0), 400, "top_p"),
        new Case("top_p above one", Chat, ChatWith("top_p", 1.5), 400, "top_p"),
        new Case("top_k below -1", Chat, ChatWith("top_k", -5), 400, "top_k"),
        new Case("n zero", Chat, ChatWith("n", 0), 400, "n"),
        new Case("n huge", Chat, ChatWith("n", 1000), 400, "n"),
        new Case("top_logprobs above 20", Chat, Encoding.UTF8.GetBytes(JsonNode.Parse(Encoding.UTF8.GetString(ChatWith("logprobs", true)))!.AsObject().Also(o => o["top_logprobs"] = 21).ToJsonString()), 400, "top_logprobs"),
        new Case("top_logprobs without logprobs", Chat, ChatWith("top_logprobs", 2), 400, "top_logprobs"),
        new Case("completion logprobs above 20", Completions, CompletionWith("logprobs", 50), 400, "logprobs"),
        new Case("presence_penalty out of range", Chat, ChatWith("presence_penalty", 3), 400, "presence_penalty"),
        new Case("logit_bias key not a token id", Chat, ChatWith("logit_bias", new Dictionary<string, int> { ["abc"] = 1 }), 400, "logit_bias"),
        new Case("logit_bias value out of range", Chat, ChatWith("logit_bias", new Dictionary<string, int> { ["5"] = 500 }), 400, "logit_bias"),
        new Case("stop is a number", Chat, ChatWith("stop", 5), 400, "stop"),
        new Case("stop_token_ids negative", Chat, ChatWith("stop_token_ids", new[] { -1 }), 400, "stop_token_ids"),
        new Case("seed a string", Chat, ChatWith("seed", "x"), 400, "seed"),
        new Case("stream a string", Chat, ChatWith("stream", "yes"), 400, "stream"),
        new Case("stream_options without stream", Chat, ChatWith("stream_options", new { include_usage = true }), 400, "stream_options"),
        new Case("min_tokens above max_tokens", Chat, ChatWith("min_tokens", 5), 400, "min_tokens"),
        new Case("continue_final_message with add_generation_prompt", Chat, Encoding.UTF8.GetBytes(JsonNode.Parse(Encoding.UTF8.GetString(ChatWith("continue_final_message", true)))!.AsObject().Also(o => o["add_generation_prompt"] = true).ToJsonString()), 400, "continue_final_message"),
        new Case("ignore_eos a string", Chat, ChatWith("ignore_eos", "no"), 400, "ignore_eos"),
        new Case("priority fractional", Chat, ChatWith("priority", 1.5), 400, "priority"),
        new Case("response_format of an unknown type", Chat, ChatWith("response_format", new { type = "xml" }), 400, "response_format"),
        new Case("two output constraints", Completions, Encoding.UTF8.GetBytes(JsonNode.Parse(Encoding.UTF8.GetString(CompletionWith("guided_regex", "a+")))!.AsObject().Also(o => o["guided_choice"] = new JsonArray("x", "y")).ToJsonString()), 400, "guided_choice"),
        new Case("unknown model", Chat, ChatWith("model", "gpt-9"), 404, "model"),
        new Case("prompt missing", Completions, J(new { max_tokens = 2 }), 400, "prompt"),
        new Case("prompt empty list", Completions, J(new { prompt = Array.Empty<int>() }), 400, "prompt"),
        new Case("prompt token id outside vocab", Completions, J(new { prompt = new[] { 1, 999_999 } }), 400, "prompt"),
        new Case("prompt longer than the context", Completions, J(new { prompt = Enumerable.Repeat(5, 600).ToArray() }), 400, "prompt"),
        new Case("prompt list with a number inside strings", Completions, J(new { prompt = new object[] { "a", 5 } }), 400, "prompt"),
        new Case("embedding format unknown", "v1/embeddings", J(new { input = "hi", encoding_format = "hex" }), 400, "encoding_format"),
        new Case("embedding input missing", "v1/embeddings", J(new { encoding_format = "float" }), 400, "input"),
        new Case("detokenize tokens not ints", "detokenize", J(new { tokens = new[] { "a" } }), 400, "tokens"),
        new Case("tokenize without prompt", "tokenize", J(new { model = "bard-2m" }), 400, "prompt"),
        new Case("wrong API key", Chat, ChatWith("max_tokens", 2), 401, Key: "sk-wrong"),
        new Case("missing API key", Chat, ChatWith("max_tokens", 2), 401, Key: null),
        new Case("oversized body", Chat, Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":\"user\",\"content\":\"" + new string('a', 2 << 20) + "\"}]}"), 413),
        new Case("unknown route", "v1/nothing", J(new { }), 404),
        new Case("GET on a POST route", Chat, [], 405, Method: "GET"),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_request_gets_an_openai_error(Case c)
    {
        using var http = ServerFixture.NewClient(server.BaseUri, c.Key);
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), c.Path);
        if (c.Method == "POST")
        {
            request.Content = new ByteArrayContent(c.Body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var r = await http.SendAsync(request, Ct);
        string text = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(c.Status == (int)r.StatusCode, $"{c.Name}: expected {c.Status}, got {(int)r.StatusCode}: {text}");
        var body = JsonNode.Parse(text);
        Api.AssertOpenAiError(body, c.Name);
        if (c.Param is not null) Assert.Equal(c.Param, body!["error"]!["param"]?.GetValue<string>());

        // The server keeps serving.
        var ok = await Api.OkAsync(server.Http, Chat, new { messages = Msg, max_tokens = 2, unknown_field = new { ignored = true } });
        Assert.InRange(ok["usage"]!["completion_tokens"]!.GetValue<int>(), 1, 2);
    }
}

internal static class JsonObjectExtensions
{
    public static JsonObject Also(this JsonObject o, Action<JsonObject> change)
    {
        change(o);
        return o;
    }
}
