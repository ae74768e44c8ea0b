using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Testing;

namespace Modular.Server.Tests;

/// <summary>/v1/completions, /v1/chat/completions extras, /tokenize, /metrics and friends over raw HTTP.</summary>
public sealed class CompletionsTests(ServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private HttpClient Http => server.Http;

    private static JsonNode Golden => JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.BundledModel, "golden.json")))!;

    [Fact]
    public async Task Greedy_completion_matches_the_transformers_reference()
    {
        var golden = Golden["cases"]![0]!;
        string prompt = golden["prompt"]!.GetValue<string>();
        string expected = golden["greedy_text"]!.GetValue<string>();
        var json = await Api.OkAsync(Http, "v1/completions", new { model = "bard-2m", prompt, max_tokens = 10, temperature = 0, ignore_eos = true });
        var choice = json["choices"]![0]!;
        string text = choice["text"]!.GetValue<string>();
        Assert.StartsWith(text, expected);
        Assert.Equal("length", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("text_completion", json["object"]!.GetValue<string>());
        Assert.Equal(golden["prompt_ids"]!.AsArray().Count, json["usage"]!["prompt_tokens"]!.GetValue<int>());
        Assert.Equal(10, json["usage"]!["completion_tokens"]!.GetValue<int>());

        // The same prompt as token ids gives the same text.
        var ids = golden["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var byIds = await Api.OkAsync(Http, "v1/completions", new { prompt = ids, max_tokens = 10, temperature = 0, ignore_eos = true });
        Assert.Equal(text, byIds["choices"]![0]!["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task N_samples_and_prompt_lists_get_distinct_choice_indexes_and_summed_usage()
    {
        var json = await Api.OkAsync(Http, "v1/completions", new { prompt = new[] { "ROMEO:", "JULIET:" }, n = 3, max_tokens = 6, temperature = 1.0, seed = 7, ignore_eos = true });
        var choices = json["choices"]!.AsArray();
        Assert.Equal(6, choices.Count);
        Assert.Equal(Enumerable.Range(0, 6), choices.Select(c => c!["index"]!.GetValue<int>()).Order());
        Assert.Equal(36, json["usage"]!["completion_tokens"]!.GetValue<int>());
        // Seeded sampling is reproducible.
        var again = await Api.OkAsync(Http, "v1/completions", new { prompt = new[] { "ROMEO:", "JULIET:" }, n = 3, max_tokens = 6, temperature = 1.0, seed = 7, ignore_eos = true });
        Assert.Equal(choices.Select(c => c!["text"]!.GetValue<string>()), again["choices"]!.AsArray().Select(c => c!["text"]!.GetValue<string>()));

        var chat = await Api.OkAsync(Http, "v1/chat/completions", new { messages = new[] { new { role = "user", content = "Speak" } }, n = 4, max_tokens = 5, temperature = 1.0, ignore_eos = true });
        Assert.Equal(4, chat["choices"]!.AsArray().Count);
        Assert.Equal(20, chat["usage"]!["completion_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task Echo_and_logprobs_report_prompt_and_completion_tokens()
    {
        var json = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", max_tokens = 4, temperature = 0, echo = true, logprobs = 2, ignore_eos = true });
        var choice = json["choices"]![0]!;
        Assert.StartsWith("ROMEO:", choice["text"]!.GetValue<string>());
        var lp = choice["logprobs"]!;
        int promptTokens = json["usage"]!["prompt_tokens"]!.GetValue<int>();
        Assert.Equal(promptTokens + 4, lp["tokens"]!.AsArray().Count);
        Assert.Null(lp["token_logprobs"]![0]); // nothing precedes the first prompt token
        for (int i = 1; i < promptTokens + 4; i++) Assert.True(lp["token_logprobs"]![i]!.GetValue<float>() <= 0);
        Assert.True(lp["top_logprobs"]![promptTokens]!.AsObject().Count >= 2);
        var offsets = lp["text_offset"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        Assert.True(offsets.SequenceEqual(offsets.Order()));
    }

    [Fact]
    public async Task Streaming_completion_equals_the_whole_answer_and_ends_with_done()
    {
        var body = new { prompt = "ROMEO:", max_tokens = 12, temperature = 0, ignore_eos = true, stream = true, stream_options = new { include_usage = true } };
        using var r = await Http.SendAsync(Api.StreamRequest("v1/completions", body), HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("text/event-stream", r.Content.Headers.ContentType!.MediaType);
        var events = await Api.ReadEventsAsync(r, Ct);
        Assert.Equal("[DONE]", events[^1]);
        var chunks = events.SkipLast(1).Select(e => JsonNode.Parse(e)!).ToList();
        string text = string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0).Select(c => c["choices"]![0]!["text"]!.GetValue<string>()));
        var usage = chunks[^1]["usage"]!;
        Assert.Equal(12, usage["completion_tokens"]!.GetValue<int>());
        Assert.Empty(chunks[^1]["choices"]!.AsArray());
        Assert.Equal("length", chunks.Select(c => c["choices"]!.AsArray().FirstOrDefault()?["finish_reason"]?.GetValue<string>()).Last(x => x is not null));
        var whole = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", max_tokens = 12, temperature = 0, ignore_eos = true });
        Assert.Equal(whole["choices"]![0]!["text"]!.GetValue<string>(), text);
    }

    [Fact]
    public async Task Stop_strings_end_the_text_without_including_it()
    {
        var json = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", max_tokens = 40, temperature = 0, stop = "\n\n" });
        var choice = json["choices"]![0]!;
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal("\n\n", choice["stop_reason"]!.GetValue<string>());
        Assert.Equal("\nI hope so.", choice["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tokenize_chat_matches_transformers_and_detokenize_round_trips()
    {
        var chat = Golden["chat"]![1]!;
        var json = await Api.OkAsync(Http, "tokenize", new { model = "bard-2m", messages = chat["messages"], add_generation_prompt = true });
        Assert.Equal(chat["ids"]!.AsArray().Select(x => x!.GetValue<int>()), json["tokens"]!.AsArray().Select(x => x!.GetValue<int>()));
        Assert.Equal(512, json["max_model_len"]!.GetValue<int>());
        var text = await Api.OkAsync(Http, "detokenize", new { tokens = json["tokens"] });
        Assert.Equal(chat["rendered"]!.GetValue<string>(), text["prompt"]!.GetValue<string>());
    }

    [Fact]
    public async Task Continue_final_message_extends_the_assistant_turn()
    {
        var json = await Api.OkAsync(Http, "v1/chat/completions", new
        {
            messages = new object[] { new { role = "user", content = "Who is there?" }, new { role = "assistant", content = "Nay, answer" } },
            continue_final_message = true, add_generation_prompt = false, max_tokens = 3, temperature = 0,
        });
        var tokens = await Api.OkAsync(Http, "tokenize", new { messages = new object[] { new { role = "user", content = "Who is there?" } }, add_generation_prompt = true });
        // The prompt ends inside the assistant turn: longer than the user turn plus the generation prompt, without <|im_end|>.
        Assert.True(json["usage"]!["prompt_tokens"]!.GetValue<int>() > tokens["count"]!.GetValue<int>());
    }

    [Fact]
    public async Task Health_version_metrics_and_request_ids()
    {
        using var health = await Http.GetAsync("health", Ct);
        Assert.Equal(200, (int)health.StatusCode);
        var version = JsonNode.Parse(await Http.GetStringAsync("version", Ct))!;
        Assert.False(string.IsNullOrEmpty(version["version"]!.GetValue<string>()));

        using var req = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = Api.Json(new { prompt = "KING:", max_tokens = 3 }) };
        req.Headers.Add("x-request-id", "trace-me-123");
        using var r = await Http.SendAsync(req, Ct);
        Assert.Equal("trace-me-123", r.Headers.GetValues("x-request-id").Single());
        // The log line is written after the response has gone out: wait for it (bounded).
        static bool IsLine(string l) => l.Contains("trace-me-123") && l.Contains("prompt_tokens=") && l.Contains("status=200") && l.Contains("ttft_ms=");
        for (int i = 0; i < 100 && !server.Logs.Lines.Any(IsLine); i++) await Task.Delay(20, Ct);
        Assert.Contains(server.Logs.Lines, IsLine);

        string metrics = await Http.GetStringAsync("metrics", Ct);
        foreach (var name in new[] { "modular:num_requests_running", "modular:num_requests_waiting", "modular:kv_cache_usage_perc",
                     "modular:prefix_cache_queries_total", "modular:prefix_cache_hits_total", "modular:num_preemptions_total",
                     "modular:prompt_tokens_total", "modular:generation_tokens_total", "modular:time_to_first_token_seconds_bucket",
                     "modular:inter_token_latency_seconds_bucket", "modular:e2e_request_latency_seconds_count" })
            Assert.Contains(name + "{model_name=\"bard-2m\"", metrics);
        var generated = metrics.Split('\n').Single(l => l.StartsWith("modular:generation_tokens_total{", StringComparison.Ordinal));
        Assert.True(double.Parse(generated.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture) >= 3);
    }

    [Fact]
    public async Task Prompt_logprobs_match_the_transformers_reference()
    {
        var golden = Golden["cases"]![0]!;
        var ids = golden["prompt_ids"]!.AsArray().Select(x => x!.GetValue<int>()).ToArray();
        var expected = golden["prompt_logprobs"]!.AsArray().Select(x => x!.GetValue<double>()).ToArray();
        var json = await Api.OkAsync(Http, "v1/completions", new { prompt = ids, max_tokens = 1, prompt_logprobs = 1 });
        var pl = json["choices"]![0]!["prompt_logprobs"]!.AsArray();
        Assert.Equal(ids.Length, pl.Count);
        Assert.Null(pl[0]);
        for (int i = 1; i < ids.Length; i++)
        {
            var entry = pl[i]![ids[i].ToString(System.Globalization.CultureInfo.InvariantCulture)]!;
            Assert.Equal(expected[i - 1], entry["logprob"]!.GetValue<double>(), 3);
        }
    }

    [Fact]
    public async Task Logit_bias_and_stop_token_ids_reach_the_sampler()
    {
        // A +100 bias makes token 44 ("I") the greedy choice every step.
        var biased = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", max_tokens = 5, temperature = 0, ignore_eos = true, logit_bias = new Dictionary<string, int> { ["44"] = 100 }, logprobs = 0 });
        Assert.All(biased["choices"]![0]!["logprobs"]!["tokens"]!.AsArray(), t => Assert.Equal("I", t!.GetValue<string>()));

        // Greedy "ROMEO:" continues with ids 202, 44, 1160 ...: stopping on 1160 ends after "\nI".
        var stopped = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", max_tokens = 10, temperature = 0, stop_token_ids = new[] { 1160 } });
        var choice = stopped["choices"]![0]!;
        Assert.Equal("stop", choice["finish_reason"]!.GetValue<string>());
        Assert.Equal(1160, choice["stop_reason"]!.GetValue<int>());
        Assert.Equal("\nI", choice["text"]!.GetValue<string>());
    }

    [Fact]
    public async Task Beam_search_returns_n_distinct_beams_best_first()
    {
        var json = await Api.OkAsync(Http, "v1/completions", new { prompt = "ROMEO:", n = 3, best_of = 3, use_beam_search = true, temperature = 0, max_tokens = 6, ignore_eos = true });
        var texts = json["choices"]!.AsArray().Select(c => c!["text"]!.GetValue<string>()).ToList();
        Assert.Equal(3, texts.Count);
        Assert.Equal(3, texts.Distinct().Count());
        Assert.Equal(18, json["usage"]!["completion_tokens"]!.GetValue<int>());
    }
}
