using System.Text.Json.Nodes;
using Modular.Server.Http;
using Modular.Testing;

namespace Modular.Server.Tests;

/// <summary>Bounded queue (429), graceful shutdown, admission gate and model naming.</summary>
public sealed class OperationsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        var (server, uri) = await ServerFixture.StartAsync(new ServerOptions
        {
            Models = [ModelSource.Parse(Fixtures.BundledModel)],
            Port = 0,
            Engine = ServerFixture.Engine with { MaxNumSeqs = 1 },
            MaxQueuedRequests = 1,
            EnableUi = false,
        });
        await using var _ = server;
        using var http = ServerFixture.NewClient(uri, null);
        var body = new { prompt = "ROMEO:", max_tokens = 500, ignore_eos = true };
        var first = Enumerable.Range(0, 2).Select(_ => http.PostAsync("v1/completions", Api.Json(body), Ct)).ToArray();
        // Wait until both are admitted, then a third must be refused.
        for (int i = 0; i < 500 && server.InFlight < 2; i++) await Task.Delay(10, Ct);
        Assert.Equal(2, server.InFlight);
        using var third = await http.PostAsync("v1/completions", Api.Json(body), Ct);
        Assert.Equal(429, (int)third.StatusCode);
        Assert.True(third.Headers.RetryAfter is not null);
        Api.AssertOpenAiError(JsonNode.Parse(await third.Content.ReadAsStringAsync(Ct)), "429");
        foreach (var t in first) Assert.Equal(200, (int)(await t).StatusCode);
        Assert.Equal("bard-2m", server.Models[0].Name); // the folder name
        using var ui = await http.GetAsync("", Ct);
        Assert.Equal(404, (int)ui.StatusCode); // --no-ui
        Api.AssertOpenAiError(JsonNode.Parse(await ui.Content.ReadAsStringAsync(Ct)), "no ui");

        // A dead engine: /health and generation answer 503.
        await server.Models[0].Engine.StopAsync(Ct);
        using var health = await http.GetAsync("health", Ct);
        Assert.Equal(503, (int)health.StatusCode);
        using var refused = await http.PostAsync("v1/completions", Api.Json(new { prompt = "KING:", max_tokens = 2 }), Ct);
        Assert.Equal(503, (int)refused.StatusCode);
        Api.AssertOpenAiError(JsonNode.Parse(await refused.Content.ReadAsStringAsync(Ct)), "dead engine");
        await server.StopAsync(Ct);
    }

    [Fact]
    public async Task Shutdown_drains_a_running_stream_and_then_refuses()
    {
        var (server, uri) = await ServerFixture.StartAsync(new ServerOptions
        {
            Models = [new ModelSource("bard", Fixtures.BundledModel)],
            Port = 0,
            Engine = ServerFixture.Engine,
            DrainTimeout = TimeSpan.FromSeconds(20),
        });
        await using var _ = server;
        using var http = ServerFixture.NewClient(uri, null);
        using var page = await http.GetAsync("", Ct);
        Assert.Equal(200, (int)page.StatusCode); // the web console
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);

        var body = new { model = "bard", prompt = "ROMEO:", max_tokens = 300, ignore_eos = true, stream = true };
        using var r = await http.SendAsync(Api.StreamRequest("v1/completions", body), HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal(200, (int)r.StatusCode);
        var reading = Api.ReadEventsAsync(r, Ct);
        await Task.Delay(50, Ct);
        var stopping = server.StopAsync(Ct);
        var events = await reading;
        await stopping;
        Assert.Equal("[DONE]", events[^1]);
        var last = JsonNode.Parse(events[^2])!;
        Assert.Equal("length", last["choices"]![0]!["finish_reason"]!.GetValue<string>());
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetAsync("health", Ct));
    }

    [Fact]
    public void Admission_gate_bounds_and_drains()
    {
        var gate = new AdmissionGate(running: 2, maxQueued: 1);
        var a = gate.Enter();
        var b = gate.Enter();
        var c = gate.Enter();
        var e = Assert.Throws<ApiException>(() => gate.Enter());
        Assert.Equal(429, e.Status);
        Assert.NotNull(e.RetryAfterSeconds);
        a.Dispose();
        a.Dispose(); // idempotent
        using (gate.Enter()) { }
        gate.BeginDrain();
        Assert.Equal(503, Assert.Throws<ApiException>(() => gate.Enter()).Status);
        b.Dispose();
        c.Dispose();
        Assert.Equal(0, gate.InFlight);
    }

    [Fact]
    public void Model_specs_parse_name_and_folder()
    {
        Assert.Equal(new ModelSource("bard", "/models/x"), ModelSource.Parse("bard=/models/x"));
        Assert.Equal("bard-2m", ModelSource.Parse("/work/models/bard-2m/").Name);
        Assert.Equal("a=b", ModelSource.Parse("/data/a=b").Name);
    }

    [Fact]
    public async Task Request_chat_templates_and_message_counts_are_limited_by_default_flags()
    {
        var (server, uri) = await ServerFixture.StartAsync(new ServerOptions
        {
            Models = [ModelSource.Parse(Fixtures.BundledModel)],
            Port = 0,
            Engine = ServerFixture.Engine,
            Limits = new Protocol.ServerLimits { MaxMessages = 3 },
            EnableUi = false,
        });
        await using var _ = server;
        using var http = ServerFixture.NewClient(uri, null);
        var user = new { role = "user", content = "Speak." };
        // A request-supplied template is code the server would run: refused unless --trust-request-chat-template.
        using var templated = await http.PostAsync("v1/chat/completions", Api.Json(new
        {
            messages = new[] { user }, max_tokens = 2, chat_template = "{{ [1] * 9999999 }}",
        }), Ct);
        Assert.Equal(400, (int)templated.StatusCode);
        var err = JsonNode.Parse(await templated.Content.ReadAsStringAsync(Ct));
        Api.AssertOpenAiError(err, "request chat_template");
        Assert.Equal("chat_template", err!["error"]!["param"]!.GetValue<string>());

        using var many = await http.PostAsync("v1/chat/completions", Api.Json(new { messages = new[] { user, user, user, user }, max_tokens = 2 }), Ct);
        Assert.Equal(400, (int)many.StatusCode);
        Assert.Equal("messages", JsonNode.Parse(await many.Content.ReadAsStringAsync(Ct))!["error"]!["param"]!.GetValue<string>());

        using var ok = await http.PostAsync("v1/chat/completions", Api.Json(new { messages = new[] { user }, max_tokens = 2 }), Ct);
        Assert.Equal(200, (int)ok.StatusCode);
    }
}
