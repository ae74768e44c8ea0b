using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Modular.Server.Routing;

namespace Modular.Router.Tests;

/// <summary>
/// Scripted upstream servers on one loopback port, each under its own path prefix (<c>/good/</c>, <c>/flaky/</c>,
/// ...), for front-end behaviour a real engine cannot be made to show on cue.
/// <list type="bullet">
/// <item><c>good</c>: answers everything; streams 5 events then [DONE].</item>
/// <item><c>flaky</c>: 503 on every POST.</item>
/// <item><c>cut</c>: streams 2 events and half of a third, then drops the connection.</item>
/// <item><c>early</c>: drops the connection before its first event.</item>
/// <item><c>slow</c>: never answers within a test's patience (sleeps 30 s).</item>
/// </list>
/// Embeddings: 2-d vectors, [1, 0] for text mentioning "code" and [0, 1] otherwise; <c>flaky</c> fails them too.
/// Any target can be switched at run time: <see cref="HealthStatus"/> sets what its <c>/health</c> answers,
/// <see cref="PostStatus"/> makes its completions answer an error status.
/// </summary>
internal sealed class FakeTargets : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeTargets(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public string BaseUrl { get; }
    public ConcurrentDictionary<string, int> Posts { get; } = new();
    /// <summary>Status a target's <c>/health</c> answers (200 when unset).</summary>
    public ConcurrentDictionary<string, int> HealthStatus { get; } = new();
    /// <summary>Error status a target's completions answer with, when set.</summary>
    public ConcurrentDictionary<string, int> PostStatus { get; } = new();

    public string Url(string name) => $"{BaseUrl}/{name}/";

    public static async Task<FakeTargets> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeTargets? self = null;
        app.MapGet("/{name}/health", (string name) => Results.StatusCode(self!.HealthStatus.GetValueOrDefault(name, 200)));
        app.MapGet("/{name}/v1/models", (string name) => Results.Json(new { @object = "list", data = new[] { new { id = name + "-model", @object = "model" } } }));
        app.MapPost("/{name}/v1/embeddings", async (string name, HttpContext c) =>
        {
            self!.Posts.AddOrUpdate(name + "/embeddings", 1, (_, n) => n + 1);
            if (name == "flaky") return Results.StatusCode(500);
            var body = (await JsonNode.ParseAsync(c.Request.Body))!;
            var data = new JsonArray();
            int i = 0;
            foreach (var input in body["input"]!.AsArray())
            {
                bool code = input!.GetValue<string>().Contains("code", StringComparison.OrdinalIgnoreCase);
                data.Add(new JsonObject { ["index"] = i++, ["object"] = "embedding", ["embedding"] = new JsonArray(code ? 1.0 : 0.0, code ? 0.0 : 1.0) });
            }
            return Results.Json(new JsonObject { ["object"] = "list", ["data"] = data });
        });
        app.MapPost("/{name}/v1/completions", async (string name, HttpContext c) =>
        {
            self!.Posts.AddOrUpdate(name, 1, (_, n) => n + 1);
            var body = (await JsonNode.ParseAsync(c.Request.Body))!;
            bool stream = body["stream"]?.GetValue<bool>() ?? false;
            if (self.PostStatus.TryGetValue(name, out var status))
            {
                c.Response.StatusCode = status;
                await c.Response.WriteAsJsonAsync(new { error = new { message = $"{name} answers {status}", type = "server_error" } });
                return;
            }
            switch (name)
            {
                case "flaky":
                    c.Response.StatusCode = 503;
                    await c.Response.WriteAsJsonAsync(new { error = new { message = "flaky is overloaded", type = "service_unavailable" } });
                    return;
                case "slow":
                    await Task.Delay(TimeSpan.FromSeconds(30), c.RequestAborted);
                    return;
                case "early":
                    c.Abort();
                    return;
            }
            if (!stream)
            {
                await c.Response.WriteAsJsonAsync(new { id = "cmpl-1", @object = "text_completion", model = body["model"]!.GetValue<string>(), choices = new[] { new { index = 0, text = "hi", finish_reason = "stop" } } });
                return;
            }
            c.Response.ContentType = "text/event-stream";
            int events = name == "cut" ? 2 : 5;
            for (int i = 0; i < events; i++)
            {
                await c.Response.WriteAsync($"data: {{\"choices\":[{{\"index\":0,\"text\":\"t{i}\"}}]}}\n\n");
                await c.Response.Body.FlushAsync();
            }
            if (name == "cut")
            {
                await c.Response.WriteAsync("data: {\"choices\":[{\"ind");
                await c.Response.Body.FlushAsync();
                await Task.Delay(100);
                c.Abort();
                return;
            }
            await c.Response.WriteAsync("data: [DONE]\n\n");
        });
        await app.StartAsync();
        var fake = new FakeTargets(app, RouterFrontEnd.Addresses(app)[0].TrimEnd('/'));
        self = fake;
        return fake;
    }

    /// <summary>Router settings over the named fake targets.</summary>
    public JsonObject Settings(string[] targets, params JsonNode[] rules)
    {
        var list = new JsonArray();
        foreach (var t in targets) list.Add(new JsonObject { ["name"] = t, ["url"] = Url(t), ["timeout_seconds"] = 3 });
        return new JsonObject { ["aliases"] = new JsonArray("auto"), ["default"] = targets[0], ["targets"] = list, ["rules"] = new JsonArray(rules) };
    }

    public static StringContent Json(object body) => new(body as string ?? System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
