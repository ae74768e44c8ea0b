using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Modular.Hardening.Tests.Fuzz;

namespace Modular.Hardening.Tests.Http;

/// <summary>
/// Random JSON bodies against /v1/chat/completions and /v1/completions on a real server. Every answer is one of
/// 200/400/404/413/422/429; refusals carry an OpenAI-shaped error body; streams end with [DONE] and carry no
/// server_error event; and the server answers /health with 200 afterwards.
/// </summary>
public sealed class HttpFuzzTests(LimitedServer fixture) : IClassFixture<LimitedServer>
{
    private static readonly int[] Allowed = [200, 400, 404, 413, 422, 429];

    private static readonly string[] Fields =
    [
        "model", "messages", "prompt", "n", "best_of", "max_tokens", "max_completion_tokens", "min_tokens", "temperature", "top_p",
        "top_k", "min_p", "presence_penalty", "frequency_penalty", "repetition_penalty", "logit_bias", "seed", "stop",
        "stop_token_ids", "ignore_eos", "logprobs", "top_logprobs", "prompt_logprobs", "stream", "stream_options", "echo",
        "suffix", "user", "priority", "cache_salt", "response_format", "guided_regex", "guided_choice", "guided_json",
        "structured_outputs", "add_generation_prompt", "continue_final_message", "chat_template", "chat_template_kwargs",
        "tools", "skip_special_tokens", "include_stop_str_in_output", "add_special_tokens", "use_beam_search", "length_penalty",
    ];

    private static Gen<JsonNode?> Value(int depth)
    {
        var leaf = Gen.OneOf<JsonNode?>(
            Gen.Int[-3, 40].Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.OneOf(int.MaxValue, int.MinValue, 2047, 2048, 100000).Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.OneOf(long.MaxValue, 9007199254740993L).Select(i => (JsonNode?)JsonValue.Create(i)),
            Gen.OneOf(0.5, -0.0, 1e308, -1e-308, 2.0, 1.5).Select(d => (JsonNode?)JsonValue.Create(d)),
            Gen.Bool.Select(b => (JsonNode?)JsonValue.Create(b)),
            Gen.Const<JsonNode?>((JsonNode?)null),
            Gen.OneOf("", "bard-2m", "gpt-4", "ROMEO:", "user", "assistant", "json_object", "json_schema", "text", "[a-z]{1,5}", "(", "\u0000",
                "{{ messages }}", "{% for m in messages %}{{ m.content }}{% endfor %}", "\ud83d\ude00", "a\nb")
                .Select(s => (JsonNode?)JsonValue.Create(s)));
        if (depth == 0) return leaf;
        var inner = Value(depth - 1);
        var message = Gen.Select(Gen.OneOf("user", "system", "assistant", "tool", ""), inner).Select(t =>
            (JsonNode?)new JsonObject { ["role"] = t.Item1, ["content"] = t.Item2?.DeepClone() });
        return Gen.Frequency(
            (6, (IGen<JsonNode?>)leaf),
            (2, (IGen<JsonNode?>)inner.Array[0, 4].Select(a => (JsonNode?)new JsonArray(a.Select(x => x?.DeepClone()).ToArray()))),
            (2, (IGen<JsonNode?>)message.Array[0, 3].Select(a => (JsonNode?)new JsonArray(a.Select(x => x?.DeepClone()).ToArray()))),
            (1, (IGen<JsonNode?>)Gen.Select(Gen.OneOf(Fields.Concat(["type", "json_schema", "schema", "role", "content", "0", "17", "include_usage", "regex"]).ToArray()), inner)
                .Array[0, 3].Select(kv =>
                {
                    var o = new JsonObject();
                    foreach ((string k, JsonNode? v) in kv) o[k] = v?.DeepClone();
                    return (JsonNode?)o;
                })));
    }

    /// <summary>A request: endpoint and body. Bodies usually carry a valid model and prompt so generation is reached.</summary>
    private static readonly Gen<(bool Chat, string Body)> Requests =
        Gen.Select(Gen.Bool, Gen.Select(Gen.OneOf(Fields), Value(2)).Array[0, 6], Gen.Int[0, 3]).Select(t =>
        {
            var (chat, fields, baseline) = t;
            var body = new JsonObject();
            if (baseline > 0)
            {
                body["model"] = TestServer.Model;
                body["max_tokens"] = 4;
                if (chat) body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "ROMEO:" });
                else body["prompt"] = "ROMEO:";
            }
            foreach ((string k, JsonNode? v) in fields) body[k] = v?.DeepClone();
            // Keep generation short: the fuzz is about the binder, not long decodes.
            if (body["max_tokens"] is JsonValue mt && mt.TryGetValue(out int m) && m > 16) body["max_tokens"] = 16;
            return (chat, body.ToJsonString());
        });

    /// <summary>Random bodies: allowed statuses only, OpenAI-shaped errors, well-formed streams, server up.</summary>
    [Fact]
    public async Task RandomBodies_NeverServerError()
    {
        var server = fixture.Server;
        var statuses = new Dictionary<int, int>();
        await FuzzBudget.RunAsync(Requests, async r =>
        {
            var (status, type, body) = await server.PostAsync(r.Chat ? "v1/chat/completions" : "v1/completions", r.Body);
            lock (statuses) statuses[status] = statuses.GetValueOrDefault(status) + 1;
            Assert.True(Array.IndexOf(Allowed, status) >= 0, $"status {status} for {r.Body}: {body}");
            if (status != 200)
            {
                TestServer.AssertErrorBody(type, body);
                return;
            }
            if (type == "text/event-stream")
            {
                Assert.StartsWith("data: ", body);
                Assert.EndsWith("data: [DONE]\n\n", body);
                Assert.DoesNotContain("\"server_error\"", body);
            }
            else
            {
                using var doc = JsonDocument.Parse(body);
                Assert.Equal(JsonValueKind.Array, doc.RootElement.GetProperty("choices").ValueKind);
            }
        }, FuzzBudget.Seconds * 2, batch: 8);
        TestContext.Current.SendDiagnosticMessage("statuses: " + string.Join(", ", statuses.OrderBy(k => k.Key).Select(k => $"{k.Key}x{k.Value}")));
        Assert.Equal(200, await server.HealthAsync());
    }

    /// <summary>Bodies that are not JSON objects at all: bytes, invalid UTF-8, deep nesting, wrong roots.</summary>
    [Theory]
    [InlineData("")]
    [InlineData("null")]
    [InlineData("[]")]
    [InlineData("\"x\"")]
    [InlineData("{")]
    [InlineData("{\"model\":\"bard-2m\",\"prompt\":\"a\",}")]
    [InlineData("{\"a\":1}{\"b\":2}")]
    public async Task MalformedBodies_Are400(string body)
    {
        foreach (var path in new[] { "v1/chat/completions", "v1/completions" })
        {
            var (status, type, text) = await fixture.Server.PostAsync(path, body);
            Assert.Equal(400, status);
            TestServer.AssertErrorBody(type, text);
        }
    }

    /// <summary>JSON nested deeper than the reader's limit, and invalid UTF-8, are 400s.</summary>
    [Fact]
    public async Task DeepJsonAndInvalidUtf8_Are400()
    {
        var deep = "{\"model\":\"bard-2m\",\"prompt\":\"a\",\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}";
        var (status, type, text) = await fixture.Server.PostAsync("v1/completions", deep);
        Assert.Equal(400, status);
        TestServer.AssertErrorBody(type, text);

        using var content = new ByteArrayContent([(byte)'{', (byte)'"', 0xff, 0xfe, (byte)'"', (byte)':', (byte)'1', (byte)'}']);
        content.Headers.ContentType = new("application/json");
        using var response = await fixture.Server.Http.PostAsync("v1/completions", content);
        Assert.Equal(400, (int)response.StatusCode);
        TestServer.AssertErrorBody(response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync());
    }
}
