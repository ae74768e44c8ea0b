using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Modular.Testing;

namespace Modular.Router.Tests;

/// <summary>
/// Two real <c>modular serve</c> processes (bard-2m as "bard"; tiny-llama3-rope as "coder" when the shared fixtures
/// are present, else a second bard-2m) behind the router front end, all on loopback.
/// </summary>
public sealed class RoutingClusterTests
{
    private static Task<EngineProcess> StartBard() => EngineProcess.StartAsync(IntentData.Bard, Fixtures.BundledModel);

    private static Task<EngineProcess> StartCoder()
    {
        var llama = Fixtures.SharedRoot is { } root ? Path.Combine(root, "models", "tiny-llama3-rope") : null;
        return llama is not null && Directory.Exists(llama)
            ? EngineProcess.StartAsync(IntentData.Coder, llama, maxModelLen: 256)
            : EngineProcess.StartAsync(IntentData.Coder, Fixtures.BundledModel);
    }

    /// <summary>Router settings over the two engines: "bard" names its model, "coder" leaves it to discovery via /v1/models.</summary>
    private static JsonObject Settings(EngineProcess bard, EngineProcess coder, params JsonNode[] rules)
    {
        var settings = RouterFactory.Settings(new JsonArray(rules), bardUrl: bard.BaseUri.ToString(), coderUrl: coder.BaseUri.ToString());
        settings["targets"]![0]!["model"] = bard.Name;
        return settings;
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    [Fact]
    public async Task Intent_rule_routes_the_labelled_prompts_to_their_targets_through_the_front_end()
    {
        await using var bard = await StartBard();
        await using var coder = await StartCoder();
        await using var fe = await FrontEnd.StartAsync(Settings(bard, coder, IntentData.IntentRule()));

        int right = 0;
        var counts = new Dictionary<string, int> { ["bard"] = 0, ["coder"] = 0 };
        foreach (var (prompt, target) in IntentData.Labelled)
        {
            using var r = await fe.Http.PostAsync("v1/completions", Json(new JsonObject { ["model"] = "auto", ["prompt"] = prompt, ["max_tokens"] = 2, ["temperature"] = 0 }));
            var text = await r.Content.ReadAsStringAsync();
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"'{prompt}': {(int)r.StatusCode} {text}");
            var routedTo = Assert.Single(r.Headers.GetValues("x-modular-routed-to"));
            counts[routedTo]++;
            // The model was rewritten from "auto" to the target's own (coder's learned from its /v1/models).
            Assert.Equal(routedTo, JsonNode.Parse(text)!["model"]!.GetValue<string>());
            if (routedTo == target) right++;
        }
        double accuracy = (double)right / IntentData.Labelled.Length;
        TestContext.Current.TestOutputHelper?.WriteLine($"[router] front-end intent accuracy {right}/{IntentData.Labelled.Length} = {accuracy:P1}");
        TestContext.Current.SendDiagnosticMessage($"front-end intent accuracy {right}/{IntentData.Labelled.Length} = {accuracy:P1}");
        Assert.True(accuracy >= 0.9, $"routing accuracy {accuracy:P1} is below 90%");

        // Decisions and reasons are logged; the front end counts requests per target.
        Assert.Contains(fe.Logs.Lines, l => l.Contains("model=auto -> coder: intent: code-maths (", StringComparison.Ordinal));
        var metrics = await fe.MetricsAsync();
        Assert.Equal(counts["bard"], PrometheusSample(metrics, "modular_router_routed_requests_total{target=\"bard\"}"));
        Assert.Equal(counts["coder"], PrometheusSample(metrics, "modular_router_routed_requests_total{target=\"coder\"}"));

        // /v1/models: the alias first, then both engines' models.
        var models = JsonNode.Parse(await fe.Http.GetStringAsync("v1/models"))!["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(["auto", "bard", "coder"], models);

        // A model name a target serves is forwarded there directly.
        using var direct = await fe.Http.PostAsync("v1/completions", Json(new JsonObject { ["model"] = "coder", ["prompt"] = "a sonnet", ["max_tokens"] = 1 }));
        Assert.Equal(HttpStatusCode.OK, direct.StatusCode);
        Assert.Equal("coder", Assert.Single(direct.Headers.GetValues("x-modular-routed-to")));
        using var unknown = await fe.Http.PostAsync("v1/completions", Json(new JsonObject { ["model"] = "gpt-5", ["prompt"] = "x" }));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Killing_an_engine_under_load_fails_no_request()
    {
        await using var bard = await StartBard();
        await using var coder = await StartCoder();
        await using var fe = await FrontEnd.StartAsync(Settings(bard, coder, new JsonObject { ["type"] = "load", ["strategy"] = "round_robin" }));

        const int total = 48, concurrency = 6, killAfter = 12;
        int next = -1, done = 0;
        var results = new (int Status, string Target, long StartedMs, string Error)[total];
        var clock = Stopwatch.StartNew();
        long killedAtMs = -1;
        var killed = new TaskCompletionSource();

        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                long started = clock.ElapsedMilliseconds;
                var body = new JsonObject
                {
                    ["model"] = "auto", ["prompt"] = $"ROMEO {i}:", ["max_tokens"] = 24, ["ignore_eos"] = true, ["temperature"] = 0.8, ["seed"] = i,
                };
                try
                {
                    using var r = await fe.Http.PostAsync("v1/completions", Json(body));
                    var text = await r.Content.ReadAsStringAsync();
                    results[i] = ((int)r.StatusCode, r.Headers.TryGetValues("x-modular-routed-to", out var t) ? t.First() : "?", started,
                        r.IsSuccessStatusCode ? "" : text);
                }
                catch (Exception e)
                {
                    results[i] = (-1, "?", started, e.Message);
                }
                if (Interlocked.Increment(ref done) == killAfter)
                {
                    coder.Kill();
                    killedAtMs = clock.ElapsedMilliseconds;
                    killed.SetResult();
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(Worker)));
        Assert.True(killed.Task.IsCompleted, "the engine was never killed");

        var failed = results.Where(r => r.Status != 200).Select(r => $"{r.Status} {r.Error}").ToList();
        var metrics = await fe.MetricsAsync();
        double retries = PrometheusSample(metrics, "modular_router_retries_total");
        double coderFailures = PrometheusSample(metrics, "modular_router_attempt_failures_total{target=\"coder\"}");
        int toCoderBefore = results.Count(r => r.Target == "coder");
        var summary = $"kill test: {total - failed.Count}/{total} requests succeeded; {toCoderBefore} answered by coder before it died at {killedAtMs} ms; " +
                      $"{retries} retries, {coderFailures} failed attempts on coder";
        TestContext.Current.TestOutputHelper?.WriteLine("[router] " + summary);
        TestContext.Current.SendDiagnosticMessage(summary);

        Assert.Empty(failed);
        Assert.True(toCoderBefore > 0, "no request reached coder before the kill: the test did not exercise both targets");
        // Requests sent a second after the kill (health checks run every 250 ms) must all have gone to the survivor.
        Assert.All(results.Where(r => r.StartedMs > killedAtMs + 1000), r => Assert.Equal("bard", r.Target));
        // The outage is logged by whichever notices it first: a failed forward ("target coder failed") or the health
        // monitor ("target coder is down"; it stays quiet when a failed forward already marked the target down).
        static bool Noticed(string l) => l.Contains("target coder is down", StringComparison.Ordinal) || l.Contains("target coder failed", StringComparison.Ordinal);
        for (int i = 0; i < 40 && !fe.Logs.Lines.Any(Noticed); i++)
            await Task.Delay(250, TestContext.Current.CancellationToken);
        Assert.Contains(fe.Logs.Lines, Noticed);
    }

    [Fact]
    public async Task Streams_on_a_killed_engine_end_with_an_error_event_instead_of_hanging()
    {
        await using var bard = await StartBard();
        await using var coder = await StartCoder();
        await using var fe = await FrontEnd.StartAsync(Settings(bard, coder, new JsonObject { ["type"] = "load", ["strategy"] = "round_robin" }));

        // Asking for "bard" by name sends every stream to the bard engine, which is then killed.
        const int streams = 4;
        var firstEvent = new TaskCompletionSource[streams];
        for (int i = 0; i < streams; i++) firstEvent[i] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var tasks = new Task<List<string>>[streams];
        for (int i = 0; i < streams; i++)
        {
            int k = i;
            tasks[i] = Task.Run(async () =>
            {
                var body = new JsonObject
                {
                    ["model"] = "bard", ["prompt"] = "ROMEO:", ["max_tokens"] = 480, ["ignore_eos"] = true, ["stream"] = true, ["seed"] = k,
                };
                using var request = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = Json(body) };
                using var r = await fe.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Equal("bard", Assert.Single(r.Headers.GetValues("x-modular-routed-to")));
                var events = new List<string>();
                using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
                string? line;
                while ((line = await reader.ReadLineAsync()) is not null)
                {
                    if (line.Length == 0) continue;
                    Assert.StartsWith("data: ", line);
                    events.Add(line["data: ".Length..]);
                    firstEvent[k].TrySetResult();
                }
                firstEvent[k].TrySetResult();
                return events;
            });
        }

        await Task.WhenAll(firstEvent.Select(t => t.Task)).WaitAsync(TimeSpan.FromSeconds(60));
        bard.Kill();

        // Each stream must end promptly: a hang would trip this timeout.
        var all = await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(30));
        int broken = 0, finished = 0;
        foreach (var events in all)
        {
            Assert.Equal("[DONE]", events[^1]);
            var last = JsonNode.Parse(events[^2])!;
            if (last["error"] is { } error)
            {
                broken++;
                Assert.Equal("upstream_stream_broken", error["code"]!.GetValue<string>());
                Assert.Contains("bard", error["message"]!.GetValue<string>());
                // Everything before the error is whole, parseable chunks: no half event leaked through.
                foreach (var e in events.Take(events.Count - 2)) Assert.NotNull(JsonNode.Parse(e)!["choices"]);
            }
            else finished++;
        }
        var summary = $"stream kill test: {broken} of {streams} streams ended with an error event, {finished} had finished before the kill";
        TestContext.Current.TestOutputHelper?.WriteLine("[router] " + summary);
        TestContext.Current.SendDiagnosticMessage(summary);
        Assert.True(broken > 0, "every stream finished before the kill; the test needs longer streams to prove anything");

        var metrics = await fe.MetricsAsync();
        Assert.Equal(broken, PrometheusSample(metrics, "modular_router_stream_errors_total{target=\"bard\"}"));

        // The front end carries on: "auto" now lands on the survivor.
        using var after = await fe.Http.PostAsync("v1/completions", Json(new JsonObject { ["model"] = "auto", ["prompt"] = "x", ["max_tokens"] = 1 }));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal("coder", Assert.Single(after.Headers.GetValues("x-modular-routed-to")));
    }

    /// <summary>One sample's value by its exact series text (name with labels).</summary>
    private static double PrometheusSample(string text, string series)
    {
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
                return double.Parse(line[(series.Length + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Fail($"series {series} not found in /metrics:\n{text}");
        return 0;
    }
}
