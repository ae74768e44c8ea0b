using System.Net;
using Microsoft.Extensions.Logging;
using Modular.Engine;
using Modular.Server;
using Modular.Server.Engine;
using Modular.Testing;

namespace Modular.Console.Tests;

/// <summary>
/// The real server routes the console: <c>/</c> is the console page with its files under <c>/console/</c>, open even
/// under <c>--api-key</c> (as vLLM leaves its UI-less paths open); with the UI turned off (<c>--no-ui</c>) both are
/// gone while the API stays.
/// </summary>
public sealed class ServerWiringTests(ConsoleServers servers)
{
    [Fact]
    public async Task Server_serves_the_console_at_root_without_the_key()
    {
        using var http = new HttpClient { BaseAddress = servers.KeyedUri, Timeout = TimeSpan.FromSeconds(10) };
        using var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("content=\"modular-console\"", await page.Content.ReadAsStringAsync());
        using var script = await http.GetAsync("/console/app.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        using var models = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode); // the key still guards the API
    }

    [Fact]
    public async Task No_ui_leaves_root_and_console_files_unrouted()
    {
        var options = new ServerOptions
        {
            Models = [new ModelSource(ConsoleServers.ModelName, Fixtures.BundledModel)],
            Host = "127.0.0.1",
            Port = 0,
            EnableUi = false,
            Engine = new EngineOptions { MaxModelLen = 256, NumBlocks = 64, MaxNumSeqs = 4, MaxNumBatchedTokens = 256 },
        };
        var models = ModelLoader.Load(options.Models, servers.Runtime, options.Engine);
        await using var server = ModularServer.Create(options, models, b => b.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Urls.First()), Timeout = TimeSpan.FromSeconds(10) };
        foreach (string path in new[] { "/", "/console/app.js" })
        {
            using var r = await http.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.NotFound, $"{path} with the UI off: expected 404, got {(int)r.StatusCode}");
        }
        using var api = await http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.OK, api.StatusCode);
        await server.StopAsync();
    }
}
