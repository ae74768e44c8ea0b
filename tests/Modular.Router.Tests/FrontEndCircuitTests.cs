using System.Net;
using System.Text.Json.Nodes;

namespace Modular.Router.Tests;

/// <summary>
/// The per-target circuits (Polly's breaker in each target's HTTP client) as the router sees them: isolated and
/// closed again by the health probe, opened by failing requests and closed by a trial after the break, and left
/// closed by a busy (429) target.
/// </summary>
public sealed class FrontEndCircuitTests
{
    private static JsonObject RoundRobin => new() { ["type"] = "load", ["strategy"] = "round_robin" };

    private static async Task<string> PostAsync(FrontEnd fe, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var r = await fe.Http.PostAsync("v1/completions", FakeTargets.Json(new { model = "auto", prompt = "x" }));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expected, $"{(int)r.StatusCode}: {text}");
        return r.Headers.TryGetValues("x-modular-routed-to", out var t) ? t.Single() : text;
    }

    private static async Task WaitForLogAsync(FrontEnd fe, string text)
    {
        for (int i = 0; i < 100 && !fe.Logs.Lines.Any(l => l.Contains(text, StringComparison.Ordinal)); i++)
            await Task.Delay(100, TestContext.Current.CancellationToken);
        Assert.Contains(fe.Logs.Lines, l => l.Contains(text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_health_probe_isolates_the_target_until_it_passes_again()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["good", "alt"], RoundRobin));

        fake.HealthStatus["alt"] = 503;
        await WaitForLogAsync(fe, "target alt is down: /health answered 503");
        Assert.Contains("modular_router_target_up{target=\"alt\"} 0", await fe.MetricsAsync());
        int altPosts = fake.Posts.GetValueOrDefault("alt");
        for (int i = 0; i < 6; i++) Assert.Equal("good", await PostAsync(fe));
        Assert.Equal(altPosts, fake.Posts.GetValueOrDefault("alt")); // isolated: not even tried
        using (var health = await fe.Http.GetAsync("health")) Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // Both isolated: the front end is unhealthy and says why; a request is refused by both circuits without reaching either.
        fake.HealthStatus["good"] = 503;
        await WaitForLogAsync(fe, "target good is down");
        using (var health = await fe.Http.GetAsync("health"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            Assert.Contains("alt: down: /health answered 503", await health.Content.ReadAsStringAsync());
        }
        var refused = await PostAsync(fe, HttpStatusCode.ServiceUnavailable);
        Assert.Contains("circuit isolated", refused);
        Assert.Equal(altPosts, fake.Posts.GetValueOrDefault("alt"));

        // Passing probes close the circuits again.
        fake.HealthStatus.Clear();
        await WaitForLogAsync(fe, "target alt is up");
        await WaitForLogAsync(fe, "target good is up");
        var answered = new HashSet<string>();
        for (int i = 0; i < 4; i++) answered.Add(await PostAsync(fe));
        Assert.Contains("alt", answered);
    }

    [Fact]
    public async Task An_open_circuit_lets_one_trial_through_after_its_break_and_closes_when_it_succeeds()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["good", "alt"], RoundRobin), breakDuration: TimeSpan.FromSeconds(3));

        fake.PostStatus["alt"] = 500;
        for (int i = 0; i < 8; i++) Assert.Equal("good", await PostAsync(fe));
        // Three failures out of three open the circuit (ratio 0.5, throughput 3); the 3 s break outlasts the loop even on a loaded machine.
        Assert.Equal(3, fake.Posts["alt"]);
        await WaitForLogAsync(fe, "circuit of target alt opened");
        Assert.Contains("modular_router_target_up{target=\"alt\"} 0", await fe.MetricsAsync());

        fake.PostStatus.Clear();
        await Task.Delay(3200, TestContext.Current.CancellationToken); // the break is over: the next request to alt is the trial
        Assert.Contains("modular_router_target_up{target=\"alt\"} 1", await fe.MetricsAsync());
        var answered = new HashSet<string>();
        for (int i = 0; i < 4; i++) answered.Add(await PostAsync(fe));
        Assert.Contains("alt", answered);
        await WaitForLogAsync(fe, "circuit of target alt half-open");
        await WaitForLogAsync(fe, "circuit of target alt closed");
    }

    [Fact]
    public async Task A_busy_target_is_retried_elsewhere_but_its_circuit_stays_closed()
    {
        await using var fake = await FakeTargets.StartAsync();
        await using var fe = await FrontEnd.StartAsync(fake.Settings(["good", "alt"], RoundRobin));

        fake.PostStatus["alt"] = 429;
        for (int i = 0; i < 10; i++) Assert.Equal("good", await PostAsync(fe));
        // A breaker that counted 429 would have stopped at 3.
        Assert.True(fake.Posts["alt"] > 3, $"alt was tried {fake.Posts["alt"]} times");
        var metrics = await fe.MetricsAsync();
        Assert.Contains("modular_router_target_up{target=\"alt\"} 1", metrics);
        Assert.DoesNotContain(fe.Logs.Lines, l => l.Contains("circuit of target alt opened", StringComparison.Ordinal));
    }
}
