using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Hardening.Tests.Http;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Hardening.Tests.Faults;

/// <summary>
/// The real server with its backend chosen through plugins.json as the FaultyBackend plugin: a request whose step
/// throws gets a 500 with an OpenAI-shaped error body (or an in-band error event when streaming), concurrent
/// requests outside that step complete, /health stays 200 throughout, and the server keeps serving.
/// </summary>
public sealed class ServerFaultTests
{
    private static string Completion(string prompt, bool stream, int maxTokens = 8) => new JsonObject
    {
        ["model"] = TestServer.Model, ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["ignore_eos"] = true, ["stream"] = stream,
    }.ToJsonString();

    [Fact]
    public async Task ThrowingStep_Is500ForItsRequests_OthersComplete_HealthStays200()
    {
        int trigger = FaultyEngine.TriggerToken(HfTokenizer.FromDirectory(Fixtures.BundledModel));
        // Four sequences at a time, so requests queued behind a failing step are outside it.
        await using var server = await TestServer.StartAsync("faulty", new JsonObject { ["triggerToken"] = trigger },
            engine: new() { MaxModelLen = 128, NumBlocks = 512, MaxNumSeqs = 4, MaxNumBatchedTokens = 1024 });
        Assert.Equal("faulty", server.Backend.Name);

        // Non-streaming: the failing request's client gets a 500 with an error body naming the failure.
        var (status, type, body) = await server.PostAsync("v1/completions", Completion("JULIET: ~", stream: false));
        Assert.Equal(500, status);
        var error = TestServer.AssertErrorBody(type, body);
        Assert.Contains("trigger token", error.GetProperty("message").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());

        // Streaming: the error arrives in-band and the stream still ends with [DONE].
        var (sStatus, _, sBody) = await server.PostAsync("v1/completions", Completion("JULIET: ~", stream: true));
        Assert.Equal(200, sStatus);
        Assert.Contains("\"error\"", sBody);
        Assert.EndsWith("data: [DONE]\n\n", sBody);

        // Under load: 16 normal requests, 4 failing ones, /health polled all along.
        using var stop = new CancellationTokenSource();
        var healthStatuses = new List<int>();
        var poller = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                healthStatuses.Add(await server.HealthAsync());
                await Task.Delay(20);
            }
        });
        var normal = Enumerable.Range(0, 16).Select(i => server.PostAsync("v1/completions", Completion("ROMEO:", stream: i % 2 == 0, 16))).ToArray();
        var failing = Enumerable.Range(0, 4).Select(_ => server.PostAsync("v1/completions", Completion("~ JULIET:", stream: false))).ToArray();
        var normalResults = await Task.WhenAll(normal);
        var failingResults = await Task.WhenAll(failing);
        stop.Cancel();
        await poller;

        Assert.All(failingResults, r => Assert.Equal(500, r.Status));
        int completed = 0;
        foreach (var r in normalResults)
        {
            // A normal request either completes or, when it shared a step with a failing one, fails with that step.
            if (r.Status == 200 && !r.Body.Contains("\"error\"", StringComparison.Ordinal)) completed++;
            else if (r.Status == 500) Assert.Contains("engine step failed", TestServer.AssertErrorBody(r.ContentType, r.Body).GetProperty("message").GetString());
            else Assert.Contains("engine step failed", r.Body);
        }
        Assert.True(completed > 0, "no normal request completed while faults were injected");
        Assert.All(healthStatuses, s => Assert.Equal(200, s));
        Assert.NotEmpty(healthStatuses);

        // Afterwards everything completes and every KV block is free again.
        var after = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => server.PostAsync("v1/completions", Completion("ROMEO:", false))));
        Assert.All(after, r => Assert.Equal(200, r.Status));
        using var doc = JsonDocument.Parse(after[0].Body);
        Assert.Equal("length", doc.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(0, await server.MetricAsync("modular:kv_cache_usage_perc"));
    }

    [Fact]
    public async Task AllocationBeyondBudget_Is500_ThenServes()
    {
        await using var server = await TestServer.StartAsync("faulty", new JsonObject { ["maxAllocationBytes"] = 1_600_000 },
            engine: new() { MaxModelLen = 512, NumBlocks = 512, MaxNumBatchedTokens = 1024 });
        var longPrompt = string.Concat(Enumerable.Repeat("ROMEO: what light through yonder window breaks? ", 32));
        var (status, type, body) = await server.PostAsync("v1/completions", Completion(longPrompt, false, 4));
        Assert.Equal(500, status);
        Assert.Contains("out of device memory", TestServer.AssertErrorBody(type, body).GetProperty("message").GetString());
        Assert.Equal(200, await server.HealthAsync());
        var ok = await server.PostAsync("v1/completions", Completion("ROMEO:", false));
        Assert.Equal(200, ok.Status);
    }
}
