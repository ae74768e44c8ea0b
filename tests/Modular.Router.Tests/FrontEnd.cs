using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Modular.Server.Routing;
using Modular.Testing;

namespace Modular.Router.Tests;

/// <summary>
/// The router front end in this process, loading the router plugin from artifacts/plugins/router through a
/// plugins.json written for the test, with its log lines kept for assertions.
/// </summary>
internal sealed class FrontEnd : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _dir;

    private FrontEnd(WebApplication app, string dir, LogLines logs, Uri baseUri)
    {
        _app = app;
        _dir = dir;
        Logs = logs;
        BaseUri = baseUri;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUri { get; }
    public HttpClient Http { get; }
    public LogLines Logs { get; }

    public static string PluginPath()
    {
        var path = Path.Combine(Fixtures.RepoRoot, "artifacts", "plugins", "router", "Modular.Plugins.Router.dll");
        Assert.True(File.Exists(path), $"router plugin not built at {path}; build tests/Modular.Router.Tests (it references plugins/router)");
        return path;
    }

    public static async Task<FrontEnd> StartAsync(JsonObject settings, int maxAttempts = 3, string? apiKey = null, TimeSpan? breakDuration = null)
    {
        var dir = Directory.CreateTempSubdirectory("modular-route-").FullName;
        var pluginsJson = Path.Combine(dir, "plugins.json");
        var doc = new JsonObject
        {
            ["backend"] = "auto",
            ["plugins"] = new JsonArray(new JsonObject { ["name"] = "router", ["path"] = PluginPath(), ["settings"] = settings }),
        };
        await File.WriteAllTextAsync(pluginsJson, doc.ToJsonString());
        var logs = new LogLines();
        var app = RouterFrontEnd.Build(new RouterFrontEndOptions
        {
            PluginsJson = pluginsJson,
            Port = 0,
            MaxAttempts = maxAttempts,
            ApiKey = apiKey,
            TargetTimeout = TimeSpan.FromSeconds(30),
            HealthInterval = TimeSpan.FromMilliseconds(250),
            HealthTimeout = TimeSpan.FromSeconds(1),
            BreakDuration = breakDuration ?? TimeSpan.FromSeconds(10),
            ConfigureLogging = b =>
            {
                b.SetMinimumLevel(LogLevel.Information);
                b.AddFilter("Microsoft", LogLevel.Warning);
                b.AddFilter("System", LogLevel.Warning);
                b.AddProvider(logs);
            },
        });
        await app.StartAsync();
        var url = RouterFrontEnd.Addresses(app)[0];
        return new FrontEnd(app, dir, logs, new Uri(url.EndsWith('/') ? url : url + "/"));
    }

    public async Task<string> MetricsAsync() => await Http.GetStringAsync("metrics");

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { /* best effort */ }
    }
}

/// <summary>Keeps formatted log lines.</summary>
internal sealed class LogLines : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(LogLines owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)}");
    }
}
