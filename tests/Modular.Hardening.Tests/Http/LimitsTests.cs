using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Modular.Hardening.Tests.Http;

/// <summary>
/// Every client-controlled size or count is bounded, and crossing the bound is a 400/413 whose error names it.
/// The server runs with <see cref="LimitedServer.Limits"/> (n ≤ 4, logprobs ≤ 5, ≤ 4 stop strings, ≤ 8 stop token
/// ids, ≤ 4 prompts, ≤ 4 tools of ≤ 4096-byte schemas, ≤ 16 logit_bias entries, ≤ 8 content parts, 1 MiB bodies,
/// 8 KiB / 50 headers, 2 KiB request lines) and max_model_len 128.
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

    /// <summary>logit_bias: keys must be token ids of the vocabulary, values within ±100, at most --max-logit-bias entries.</summary>
    [Fact]
    public async Task LogitBias_OutOfVocabularyOrRangeOrCount_Is400()
    {
        var outside = new JsonObject { ["2048"] = 1 };
        await AssertRefused(Chat, ChatBody(("logit_bias", outside)), 400, "logit_bias", "is not a token id");
        var big = new JsonObject { ["5"] = 101 };
        await AssertRefused(Chat, ChatBody(("logit_bias", big)), 400, "logit_bias", "between -100 and 100");
        await AssertRefused(Chat, ChatBody(("logit_bias", Bias(17))), 400, "logit_bias", "at most 16 entries are allowed, got 17");
        await AssertRefused(Completions, CompletionBody(("logit_bias", Bias(2048))), 400, "logit_bias", "at most 16 entries are allowed, got 2048");
        Assert.Equal(200, (await Send(Chat, ChatBody(("logit_bias", Bias(16))))).Status);
    }

    private static JsonObject Bias(int count)
    {
        var o = new JsonObject();
        for (int i = 0; i < count; i++) o[i.ToString(System.Globalization.CultureInfo.InvariantCulture)] = -1;
        return o;
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

    private static int? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase) && int.TryParse(line.AsSpan(15).Trim(), out int n)) return n;
        return null;
    }

    private async Task<string> RawAsync(string request)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Server.BaseUri.Host, fixture.Server.BaseUri.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        // Read until the server closes or the response is complete enough to judge (status line, headers, body).
        var received = new MemoryStream();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, n);
                var text = Encoding.ASCII.GetString(received.GetBuffer(), 0, (int)received.Length);
                int headerEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headerEnd > 0 && ContentLength(text[..headerEnd]) is int length && text.Length >= headerEnd + 4 + length) break;
            }
        }
        catch (OperationCanceledException) { }
        catch (IOException) { } // reset after a refusal: what arrived is the answer
        return Encoding.ASCII.GetString(received.GetBuffer(), 0, (int)received.Length);
    }

    private static JsonObject Tool(string name, JsonNode? parameters = null) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["parameters"] = parameters ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() } },
    };

    /// <summary>stop_token_ids: --max-stop-token-ids, checked on the count before any id is read.</summary>
    [Fact]
    public async Task StopTokenIds_AboveLimit_Is400()
    {
        var nine = new JsonArray(Enumerable.Range(0, 9).Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());
        await AssertRefused(Completions, CompletionBody(("stop_token_ids", nine)), 400, "stop_token_ids", "at most 8 token ids are allowed, got 9");
        await AssertRefused(Chat, ChatBody(("stop_token_ids", nine.DeepClone())), 400, "stop_token_ids", "at most 8 token ids");
        // Far more ids than allowed, each also out of the vocabulary: the count is what is reported.
        var many = new JsonArray(Enumerable.Range(0, 50_000).Select(i => (JsonNode?)JsonValue.Create(100_000 + i)).ToArray());
        await AssertRefused(Completions, CompletionBody(("stop_token_ids", many)), 400, "stop_token_ids", "got 50000");
        var eight = new JsonArray(Enumerable.Range(0, 8).Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());
        Assert.Equal(200, (await Send(Completions, CompletionBody(("stop_token_ids", eight)))).Status);
    }

    /// <summary>tools: --max-tools entries, each parameters schema at most --max-tool-parameters-bytes.</summary>
    [Fact]
    public async Task Tools_CountAndSchemaSize_AboveLimit_Are400()
    {
        var five = new JsonArray(Enumerable.Range(0, 5).Select(i => (JsonNode?)Tool("f" + i)).ToArray());
        await AssertRefused(Chat, ChatBody(("tools", five)), 400, "tools", "at most 4 tools are allowed, got 5");
        var props = new JsonObject();
        for (int i = 0; i < 200; i++) props["argument_number_" + i] = new JsonObject { ["type"] = "string" };
        var huge = new JsonObject { ["type"] = "object", ["properties"] = props };
        var bigSchema = new JsonArray(Tool("small"), Tool("huge", huge));
        await AssertRefused(Chat, ChatBody(("tools", bigSchema)), 400, "tools", "tools[1].function.parameters: the schema is");
        await AssertRefused(Chat, ChatBody(("tools", bigSchema.DeepClone())), 400, "tools", "at most 4096 are allowed");
        // The same bounds hold where tools only feed the chat template.
        var (status, type, body) = await fixture.Server.PostAsync("tokenize", ChatBody(("tools", five.DeepClone())).ToJsonString());
        Assert.Equal(400, status);
        Assert.Equal("tools", TestServer.AssertErrorBody(type, body).GetProperty("param").GetString());
        var four = new JsonArray(Enumerable.Range(0, 4).Select(i => (JsonNode?)Tool("f" + i)).ToArray());
        Assert.Equal(200, (await Send(Chat, ChatBody(("tools", four)))).Status);
    }

    /// <summary>Content parts of one message: --max-content-parts (param messages, the message named in the text).</summary>
    [Fact]
    public async Task ContentParts_AboveLimit_Are400()
    {
        static JsonArray Parts(int n) => new(Enumerable.Range(0, n).Select(i => (JsonNode?)new JsonObject { ["type"] = "text", ["text"] = "a" }).ToArray());
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" }, new JsonObject { ["role"] = "user", ["content"] = Parts(9) });
        await AssertRefused(Chat, ChatBody(("messages", messages)), 400, "messages", "messages[1].content: at most 8 content parts are allowed, got 9");
        var (status, type, body) = await fixture.Server.PostAsync("tokenize", ChatBody(("messages", messages.DeepClone())).ToJsonString());
        Assert.Equal(400, status);
        Assert.Contains("at most 8 content parts", TestServer.AssertErrorBody(type, body).GetProperty("message").GetString());
        Assert.Equal(200, (await Send(Chat, ChatBody(("messages", new JsonArray(new JsonObject { ["role"] = "user", ["content"] = Parts(8) }))))).Status);
    }

    /// <summary>A limit below 1 is refused when the server is built (and by modular serve, naming the flag).</summary>
    [Fact]
    public void NonPositiveLimits_AreRefused()
    {
        Assert.Null(new Modular.Server.Protocol.ServerLimits().Validate());
        Assert.Contains("--max-tools", new Modular.Server.Protocol.ServerLimits { MaxTools = 0 }.Validate());
        Assert.Contains("--max-header-bytes", new Modular.Server.Protocol.ServerLimits { MaxHeaderBytes = -1 }.Validate());
        Assert.Contains("--max-logprobs", new Modular.Server.Protocol.ServerLimits { MaxLogprobs = -1 }.Validate());
    }

    /// <summary>
    /// Oversized headers from a real HTTP client: the server's limit (--max-header-bytes, 8 KiB here) answers an
    /// OpenAI-shaped 431 naming the limit, for a 40 KB header and for 30 headers of 1 KB, before the API key or the body.
    /// </summary>
    [Fact]
    public async Task HugeHeader_FromHttpClient_Is431WithErrorBody()
    {
        using var big = new HttpRequestMessage(HttpMethod.Post, Completions) { Content = new StringContent(CompletionBody().ToJsonString(), Encoding.UTF8, "application/json") };
        big.Headers.TryAddWithoutValidation("X-Big", new string('a', 40_000));
        using var r1 = await fixture.Server.Http.SendAsync(big);
        Assert.Equal(431, (int)r1.StatusCode);
        var e1 = TestServer.AssertErrorBody(r1.Content.Headers.ContentType?.MediaType, await r1.Content.ReadAsStringAsync());
        Assert.Equal("request_header_fields_too_large", e1.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", e1.GetProperty("type").GetString());
        Assert.Contains("the limit is 8192 bytes (--max-header-bytes)", e1.GetProperty("message").GetString());
        Assert.False(string.IsNullOrEmpty(r1.Headers.GetValues("x-request-id").Single()));

        using var spread = new HttpRequestMessage(HttpMethod.Get, "health");
        for (int i = 0; i < 30; i++) spread.Headers.TryAddWithoutValidation("X-H" + i, new string('b', 1000));
        using var r2 = await fixture.Server.Http.SendAsync(spread);
        Assert.Equal(431, (int)r2.StatusCode);
        Assert.Contains("--max-header-bytes", TestServer.AssertErrorBody(r2.Content.Headers.ContentType?.MediaType, await r2.Content.ReadAsStringAsync()).GetProperty("message").GetString());

        // Just under the limit passes.
        using var fits = new HttpRequestMessage(HttpMethod.Get, "health");
        fits.Headers.TryAddWithoutValidation("X-Fits", new string('c', 6000));
        using var r3 = await fixture.Server.Http.SendAsync(fits);
        Assert.Equal(200, (int)r3.StatusCode);
    }

    /// <summary>
    /// Header count (--max-header-count) and request line (--max-request-line-bytes) give OpenAI-shaped 431 / 414;
    /// far beyond Kestrel's hard limit (4x the configured one, at least +64 KiB) Kestrel's own empty 431 still holds;
    /// the server stays up.
    /// </summary>
    [Fact]
    public async Task OversizedHeaders_CountLineAndBeyondHardLimit_ServerStaysUp()
    {
        var many = new StringBuilder("POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 60; i++) many.Append("X-H").Append(i).Append(": v\r\n");
        many.Append("Content-Length: 0\r\nConnection: close\r\n\r\n");
        var count = await RawAsync(many.ToString());
        Assert.StartsWith("HTTP/1.1 431", count);
        Assert.Contains("\"request_header_fields_too_large\"", count);
        Assert.Contains("--max-header-count", count);

        var line = await RawAsync($"GET /{new string('a', 10_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 414", line);
        Assert.Contains("--max-request-line-bytes", line);

        int hard = Modular.Server.Protocol.ServerLimits.KestrelHardLimit(LimitedServer.Limits.MaxHeaderBytes);
        var beyond = await RawAsync($"POST /v1/completions HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', hard + 1000)}\r\nContent-Length: 0\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", beyond);
        Assert.Equal(200, await fixture.Server.HealthAsync());
    }
}
