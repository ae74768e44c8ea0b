using System.Net;
using System.Text.Json.Nodes;

namespace Modular.Router.Tests;

/// <summary>Front-end failover, circuit breaking and stream relaying against scripted upstreams.</summary>
public sealed class FrontEndFaultTests
{
    private static JsonObject RoundRobin => new() { ["type"] = "load", ["strategy"] = "round_robin" };

    private static async Task<List<string>> ReadEventsAsync(HttpResponseMessage r)
    {
        var events = new List<string>();
        using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
        string? line;
        while ((line = await reader.ReadLineAsync()) is not null)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line);
            events.Add(line["data: ".Length..]);
        }
        return events;
    }

    [Fact]
    public async Task Failing_targets_are_retried_elsewhere_and_their_breaker_opens()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["flaky", "good"], RoundRobin));
        for (int i = 0; i < 10; i++)
        {
            using var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" }));
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("good", Assert.Single(r.Headers.GetValues("x-modular-routed-to")));
            // "auto" was rewritten to the model good listed at /v1/models.
            Assert.Equal("good-model", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["model"]!.GetValue<string>());
        }
        // Three failures open flaky's breaker (default threshold); it is then left out for the 10 s break.
        Assert.Equal(3, fake.Posts["flaky"]);
        var metrics = await fe.MetricsAsync();
        Assert.Contains("modular_router_attempt_failures_total{target=\"flaky\"} 3", metrics);
        Assert.Contains("modular_router_target_up{target=\"flaky\"} 0", metrics);
        Assert.Contains("modular_router_routed_requests_total{target=\"good\"} 10", metrics);
    }

    [Fact]
    public async Task When_every_target_fails_the_last_upstream_error_is_passed_on()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["flaky"], RoundRobin));
        using var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" }));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Contains("flaky is overloaded", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_target_timing_out_is_retried_on_another()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["slow", "good"], new JsonObject { ["type"] = "keyword", ["patterns"] = new JsonArray(new JsonObject { ["regex"] = ".", ["target"] = "slow" }), ["timeout_ms"] = 5000 }));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        using var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" }));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("good", Assert.Single(r.Headers.GetValues("x-modular-routed-to")));
        Assert.InRange(sw.Elapsed.TotalSeconds, 2.5, 20); // the 3 s per-target timeout, then the retry
    }

    [Fact]
    public async Task A_stream_that_dies_before_its_first_event_is_retried()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["early", "good"], RoundRobin));
        // Round-robin may start at either target; two requests make sure one starts on "early".
        for (int i = 0; i < 2; i++)
        {
            using var again = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = FakeTargets.Json(new { model = "auto", prompt = "x", stream = true }) };
            using var r = await fe.Http.SendAsync(again, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            Assert.Equal("good", Assert.Single(r.Headers.GetValues("x-modular-routed-to")));
            var events = await ReadEventsAsync(r);
            Assert.Equal(6, events.Count);
            Assert.Equal("[DONE]", events[^1]);
        }
        Assert.True(fake.Posts.GetValueOrDefault("early") >= 1);
    }

    [Fact]
    public async Task A_stream_cut_mid_event_ends_with_whole_events_an_error_event_and_done()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["cut", "good"], RoundRobin));
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = FakeTargets.Json(new { model = "cut-model", prompt = "x", stream = true }) };
        using var r = await fe.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("cut", Assert.Single(r.Headers.GetValues("x-modular-routed-to")));
        var events = await ReadEventsAsync(r).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(4, events.Count); // t0, t1, the error, [DONE]: the half third event is dropped
        Assert.Equal("t0", JsonNode.Parse(events[0])!["choices"]![0]!["text"]!.GetValue<string>());
        Assert.Equal("t1", JsonNode.Parse(events[1])!["choices"]![0]!["text"]!.GetValue<string>());
        var error = JsonNode.Parse(events[2])!["error"]!;
        Assert.Equal("upstream_stream_broken", error["code"]!.GetValue<string>());
        Assert.Equal("[DONE]", events[3]);
        Assert.Equal(1, fake.Posts["cut"]); // never retried once streaming
    }

    [Fact]
    public async Task Intent_can_use_a_targets_embeddings_and_falls_back_to_ngrams_when_they_fail()
    {
        await using var fake = await FakeTargets.StartAsync();
        foreach (var (embedder, via) in new[] { ("good", "embeddings of good"), ("flaky", "n-gram fallback") })
        {
            var intent = new JsonObject
            {
                ["type"] = "intent", ["threshold"] = 0.05,
                ["embeddings"] = new JsonObject { ["target"] = embedder },
                ["intents"] = new JsonArray(
                    new JsonObject { ["label"] = "code", ["target"] = "good", ["examples"] = new JsonArray("write code", "review my code") },
                    new JsonObject { ["label"] = "chat", ["target"] = "flaky", ["examples"] = new JsonArray("tell me a story") }),
            };
            var router = RouterFactory.Create(fake.Settings(["good", "flaky"], intent));
            var d = RouterFactory.Route(router, RouterFactory.Request("please fix this code of mine"));
            Assert.Contains(via, d.Reason);
            if (embedder == "good") Assert.Equal("good", d.Target); // [1,0] · [1,0]
        }
        // Examples are embedded once (one call) and each request once more.
        Assert.Equal(2, fake.Posts["good/embeddings"]);
    }

    [Fact]
    public async Task Front_end_checks_its_api_key_and_bad_bodies()
    {
        await using var fake = await FakeTargets.StartAsync();
        var settings = fake.Settings(["good"], RoundRobin);
        await using var fe = await FrontEnd.StartAsync(settings, apiKey: "sk-router");
        using (var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" })))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        fe.Http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "sk-router");
        using (var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json("[1,2]")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("JSON object", await r.Content.ReadAsStringAsync());
        }
        using (var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { prompt = "x" })))
            Assert.Contains("\"param\":\"model\"", await r.Content.ReadAsStringAsync());
        using (var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" })))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await fe.Http.GetAsync("health"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }
}
