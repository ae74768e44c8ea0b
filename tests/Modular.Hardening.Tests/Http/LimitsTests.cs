using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Modular.Hardening.Tests.Http;

/// <summary>
/// Every client-controlled size or count is bounded, and crossing the bound is a 400/413 whose error names it.
/// The server runs with <see cref="LimitedServer.Limits"/> (n ≤ 4, logprobs ≤ 5, ≤ 4 stop strings, ≤ 4 prompts,
/// 1 MiB bodies) and max_model_len 128.
/// </summary>
public sealed class LimitsTests(LimitedServer fixture) : IClassFixture<LimitedServer>
{
    private const string Chat = "v1/chat/completions";
    private const string Completions = "v1/completions";

    private static JsonObject ChatBody(params (string Key, JsonNode? Value)[] extra)
    {
        var o = new JsonObject
        {
            ["model"] = TestServer.Model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "ROMEO:" }),
            ["max_tokens"] = 2,
        };
        foreach (var (k, v) in extra) o[k] = v;
        return o;
    }

    private static JsonObject CompletionBody(params (string Key, JsonNode? Value)[] extra)
    {
        var o = new JsonObject { ["model"] = TestServer.Model, ["prompt"] = "ROMEO:", ["max_tokens"] = 2 };
        foreach (var (k, v) in extra) o[k] = v;
        return o;
    }

    private async Task<(int Status, string? Param, string? Code, string Message)> Send(string path, JsonObject body)
    {
        var (status, type, text) = await fixture.Server.PostAsync(path, body.ToJsonString());
        if (status == 200) return (200, null, null, "");
        var e = TestServer.AssertErrorBody(type, text);
        return (status, e.GetProperty("param").GetString(), e.GetProperty("code").GetString(), e.GetProperty("message").GetString()!);
    }

    private async Task AssertRefused(string path, JsonObject body, int status, string param, string mention)
    {
        var r = await Send(path, body);
        Assert.True(r.Status == status, $"expected {status} for {param}, got {r.Status}: {r.Message}");
        Assert.Equal(param, r.Param);
        Assert.Contains(mention, r.Message);
    }

    private static JsonArray Strings(int count, string prefix) => new(Enumerable.Range(0, count).Select(i => (JsonNode?)JsonValue.Create(prefix + i)).ToArray());

    /// <summary>n: --max-n (ServerLimits.MaxN).</summary>
    [Fact]
    public async Task N_AboveLimit_Is400()
    {
        await AssertRefused(Chat, ChatBody(("n", 5)), 400, "n", "n: 5 is out of range");
        Assert.Equal(200, (await Send(Chat, ChatBody(("n", 4)))).Status);
    }

    /// <summary>best_of: bounded by MaxN as well.</summary>
    [Fact]
    public async Task BestOf_AboveLimit_Is400() =>
        await AssertRefused(Completions, CompletionBody(("best_of", 5)), 400, "best_of", "best_of: 5 is out of range");

    /// <summary>max_tokens: bounded by the context window (--max-model-len).</summary>
    [Fact]
    public async Task MaxTokens_BeyondContext_Is400()
    {
        var r = await Send(Completions, CompletionBody(("max_tokens", 1000)));
        Assert.Equal((400, "max_tokens", "context_length_exceeded"), (r.Status, r.Param, r.Code));
        Assert.Contains("maximum context length is 128", r.Message);
    }

    /// <summary>Prompt length: bounded by the context window.</summary>
    [Fact]
    public async Task Prompt_BeyondContext_Is400()
    {
        var r = await Send(Completions, CompletionBody(("prompt", string.Concat(Enumerable.Repeat("ROMEO: speak. ", 100)))));
        Assert.Equal((400, "context_length_exceeded"), (r.Status, r.Code));
        Assert.Contains("input tokens", r.Message);
        var c = await Send(Chat, ChatBody(("messages", new JsonArray(new JsonObject { ["role"] = "user", ["content"] = string.Concat(Enumerable.Repeat("ROMEO: speak. ", 100)) }))));
        Assert.Equal((400, "context_length_exceeded"), (c.Status, c.Code));
    }

    /// <summary>logprobs / top_logprobs / prompt_logprobs: --max-logprobs.</summary>
    [Fact]
    public async Task Logprobs_AboveLimit_Are400()
    {
        await AssertRefused(Completions, CompletionBody(("logprobs", 6)), 400, "logprobs", "logprobs: 6 is out of range");
        await AssertRefused(Chat, ChatBody(("logprobs", true), ("top_logprobs", 6)), 400, "top_logprobs", "top_logprobs: 6 is out of range");
        await AssertRefused(Completions, CompletionBody(("prompt_logprobs", 6)), 400, "prompt_logprobs", "prompt_logprobs: 6 is out of range");
    }

    /// <summary>Stop list length: --max-stop-strings.</summary>
    [Fact]
    public async Task StopList_AboveLimit_Is400() =>
        await AssertRefused(Chat, ChatBody(("stop", Strings(5, "s"))), 400, "stop", "at most 4 stop strings");

    /// <summary>Prompt batch size: --max-batch-inputs.</summary>
    [Fact]
    public async Task PromptBatch_AboveLimit_Is400() =>
        await AssertRefused(Completions, CompletionBody(("prompt", Strings(5, "p"))), 400, "prompt", "at most 4 inputs");

    /// <summary>logit_bias: keys must be token ids of the vocabulary, so its size is bounded by the vocabulary (no own flag).</summary>
    [Fact]
    public async Task LogitBias_OutOfVocabularyOrRange_Is400()
    {
        var outside = new JsonObject { ["2048"] = 1 };
        await AssertRefused(Chat, ChatBody(("logit_bias", outside)), 400, "logit_bias", "is not a token id");
        var big = new JsonObject { ["5"] = 101 };
        await AssertRefused(Chat, ChatBody(("logit_bias", big)), 400, "logit_bias", "between -100 and 100");
        var whole = new JsonObject();
        for (int i = 0; i < 2048; i++) whole[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = -1;
        Assert.Equal(200, (await Send(Chat, ChatBody(("logit_bias", whole)))).Status);
    }

    /// <summary>messages count: fixed at 4096 in ChatCompletionsEndpoint (no flag).</summary>
    [Fact]
    public async Task Messages_AboveLimit_Is400()
    {
        var many = new JsonArray(Enumerable.Range(0, 4097).Select(_ => (JsonNode?)new JsonObject { ["role"] = "user", ["content"] = "a" }).ToArray());
        await AssertRefused(Chat, ChatBody(("messages", many)), 400, "messages", "at most 4096 messages");
    }

    /// <summary>Body size: --max-body-bytes (413, both by Content-Length and by the bytes actually read).</summary>
    [Fact]
    public async Task Body_AboveLimit_Is413()
    {
        var r = await Send(Completions, CompletionBody(("user", new string('x', (1 << 20) + 10))));
        Assert.Equal((413, "request_too_large"), (r.Status, r.Code));
        Assert.Contains("1048576 bytes", r.Message);

        // Chunked upload without Content-Length: the limit holds on the bytes read.
        var payload = Encoding.UTF8.GetBytes(CompletionBody(("user", new string('x', (1 << 20) + 10))).ToJsonString());
        using var content = new StreamContent(new MemoryStream(payload));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, Completions) { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await fixture.Server.Http.SendAsync(request);
        Assert.Equal(413, (int)response.StatusCode);
    }

    /// <summary>Guided constraints: schema depth (64) and text size (512 KiB) are refused by the plugin and reported as 400 naming the field.</summary>
    [Fact]
    public async Task GuidedSchemaDepthAndRegexSize_Are400()
    {
        Assert.SkipWhen(!File.Exists(TestServer.GuidedPlugin), "guided plugin not built (artifacts/plugins/guided)");
        JsonNode schema = new JsonObject { ["type"] = "string" };
        for (int i = 0; i < 70; i++) schema = new JsonObject { ["type"] = "array", ["items"] = schema };
        var deep = ChatBody(("response_format", new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "x", ["schema"] = schema } }));
        // The body reader's depth limit (64) is met before the plugin's (64): a 400 naming the depth either way.
        var r = await Send(Chat, deep);
        Assert.Equal(400, r.Status);
        Assert.Contains("depth", r.Message);
        JsonNode shallow = new JsonObject { ["type"] = "string" };
        for (int i = 0; i < 28; i++) shallow = new JsonObject { ["allOf"] = new JsonArray(shallow) };
        var refs = await Send(Chat, ChatBody(("response_format", new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "x", ["schema"] = shallow } })));
        Assert.True(refs.Status is 200 or 400, $"allOf chain got {refs.Status}: {refs.Message}");

        await AssertRefused(Completions, CompletionBody(("guided_regex", new string('a', 600_000))), 400, "guided_regex", "the limit is 524288");
        var props = new JsonObject();
        for (int i = 0; i < 9000; i++) props["property_number_" + i] = new JsonObject { ["type"] = "integer", ["description"] = "padding padding padding" };
        var wide = ChatBody(("response_format", new JsonObject { ["type"] = "json_schema", ["json_schema"] = new JsonObject { ["name"] = "x", ["schema"] = new JsonObject { ["type"] = "object", ["properties"] = props } } }));
        var w = await Send(Chat, wide);
        Assert.True(w.Status is 400 or 413, $"a {wide.ToJsonString().Length}-byte schema got {w.Status}");
    }

    private async Task<string> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Server.BaseUri.Host, fixture.Server.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        int n = await stream.ReadAsync(buffer);
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    /// <summary>Header size and count: Kestrel's limits (32 KiB, 100 headers) answer 431 before the app; the server stays up.</summary>
    [Fact]
    public async Task OversizedHeaders_Are431_ServerStaysUp()
    {
        var big = await RawAsync($"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 40_000)}\r\nContent-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", big);
        var many = new StringBuilder("POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 150; i++) many.Append("X-H").Append(i).Append(": v\r\n");
        many.Append("Content-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", await RawAsync(many.ToString()));
        var line = await RawAsync($"GET /{new string('a', 10_000)} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 414", line);
        Assert.Equal(200, await fixture.Server.HealthAsync());
    }

    /// <summary>stop_token_ids and tools have no count limit of their own: the body limit (413) is their bound.</summary>
    [Fact]
    public async Task UnlimitedLists_AreBoundedByTheBodyLimit()
    {
        var ids = new JsonArray(Enumerable.Range(0, 300_000).Select(i => (JsonNode?)JsonValue.Create(i % 2048)).ToArray());
        var r = await Send(Completions, CompletionBody(("stop_token_ids", ids)));
        Assert.Equal(413, r.Status);
    }
}
