using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Plugins.Router.Load;
using Modular.Server.Routing;

namespace Modular.Router.Tests;

public sealed class LoadMetricsTests
{
    [Fact]
    public void Prometheus_samples_are_summed_over_labels_and_names_match_exactly()
    {
        const string text = """
            # HELP modular:num_requests_running Number of sequences running.
            # TYPE modular:num_requests_running gauge
            modular:num_requests_running{model_name="a"} 3
            modular:num_requests_running{model_name="b,c}"} 2 1700000000
            modular:num_requests_running_extra 100
            modular:kv_cache_usage_perc{model_name="a"} 0.25
            modular:kv_cache_usage_perc{model_name="b"} 0.5
            """;
        Assert.Equal(5, PrometheusText.Sum(text, "modular:num_requests_running"));
        Assert.Equal(0.5, PrometheusText.Max(text, "modular:kv_cache_usage_perc"));
        Assert.Null(PrometheusText.Sum(text, "modular:num_requests_waiting"));
    }

    /// <summary>Two fake targets on one port publishing fixed metrics; the router must read them.</summary>
    [Fact]
    public async Task Load_strategies_follow_the_targets_metrics()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var app = builder.Build();
        // bard: busy but with free KV cache; coder: idle but its KV cache nearly full.
        app.MapGet("/bard/metrics", () => Results.Text("modular:num_requests_running{model_name=\"m\"} 6\nmodular:num_requests_waiting{model_name=\"m\"} 2\nmodular:kv_cache_usage_perc{model_name=\"m\"} 0.1\n"));
        app.MapGet("/coder/metrics", () => Results.Text("modular:num_requests_running{model_name=\"m\"} 1\nmodular:num_requests_waiting{model_name=\"m\"} 0\nmodular:kv_cache_usage_perc{model_name=\"m\"} 0.9\n"));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var baseUrl = RouterFrontEnd.Addresses(app)[0];

        foreach (var (strategy, expected, reason) in new[] { ("least_outstanding", "coder", "least outstanding (1)"), ("kv_usage", "bard", "lowest KV usage (0.1") })
        {
            var settings = RouterFactory.Settings(new JsonArray(new JsonObject { ["type"] = "load", ["strategy"] = strategy, ["metrics_interval_ms"] = 60_000 }),
                bardUrl: baseUrl + "/bard", coderUrl: baseUrl + "/coder");
            var router = RouterFactory.Create(settings);
            await router.RefreshLoadAsync();
            var d = RouterFactory.Route(router, RouterFactory.Request("x"));
            Assert.Equal(expected, d.Target);
            Assert.Contains(reason, d.Reason);
        }

        // Routed requests count until the next scrape: 7 more to coder make it as loaded as bard (8), then they alternate.
        var lo = RouterFactory.Create(RouterFactory.Settings(new JsonArray(new JsonObject { ["type"] = "load", ["metrics_interval_ms"] = 60_000 }),
            bardUrl: baseUrl + "/bard", coderUrl: baseUrl + "/coder"));
        await lo.RefreshLoadAsync();
        var targets = new List<string>();
        for (int i = 0; i < 9; i++) targets.Add(RouterFactory.Route(lo, RouterFactory.Request("x")).Target);
        Assert.All(targets.Take(7), t => Assert.Equal("coder", t));
        Assert.Contains("bard", targets.Skip(7));
    }

    [Fact]
    public async Task Unreachable_targets_count_as_infinitely_loaded()
    {
        var settings = RouterFactory.Settings(new JsonArray(new JsonObject { ["type"] = "load", ["metrics_interval_ms"] = 60_000 }),
            bardUrl: "http://127.0.0.1:9/", coderUrl: null); // port 9 (discard) has no listener
        var router = RouterFactory.Create(settings);
        await router.RefreshLoadAsync();
        for (int i = 0; i < 4; i++) Assert.Equal("coder", RouterFactory.Route(router, RouterFactory.Request("x")).Target);
    }
}
