using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Modular.Engine;
using Modular.Hosting;
using Modular.Server;
using Modular.Server.Engine;
using Modular.Testing;

[assembly: AssemblyFixture(typeof(Modular.Server.Tests.ServerFixture))]

namespace Modular.Server.Tests;

/// <summary>
/// The real server on loopback (Kestrel, port 0) serving bard-2m on the CPU backend, loaded through the repository's
/// plugins.json; shared by the test classes. <see cref="StartAsync"/> starts extra servers for tests that need other
/// limits or stop them.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ApiKey = "sk-modular-test-key";
    public const string ModelName = "bard-2m";
    private static readonly Lazy<PluginRuntime> s_runtime = new(() =>
        PluginRuntime.Open(Path.Combine(Fixtures.RepoRoot, "plugins.json"), "cpu", new Abstractions.BackendOptions(Threads: 2)));

    public ModularServer Server { get; private set; } = null!;
    public Uri BaseUri { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public LogCollector Logs { get; } = new();

    public static EngineOptions Engine => new() { MaxModelLen = 512, NumBlocks = 2048, MaxNumSeqs = 256, MaxNumBatchedTokens = 2048 };

    public async ValueTask InitializeAsync()
    {
        (Server, BaseUri) = await StartAsync(new ServerOptions
        {
            Models = [new ModelSource(ModelName, Fixtures.BundledModel)],
            Host = "127.0.0.1",
            Port = 0,
            ApiKey = ApiKey,
            Engine = Engine,
            MaxQueuedRequests = 1024,
            // The shared server trusts request chat templates (tests render the Qwen3 template through it).
            Limits = new Protocol.ServerLimits { MaxBodyBytes = 1 << 20, TrustRequestChatTemplate = true },
        }, Logs);
        Http = NewClient(BaseUri, ApiKey);
    }

    /// <summary>Loads the models in <paramref name="options"/> and starts a server; returns it and its address.</summary>
    public static async Task<(ModularServer Server, Uri BaseUri)> StartAsync(ServerOptions options, LogCollector? logs = null)
    {
        var models = ModelLoader.Load(options.Models, s_runtime.Value, options.Engine);
        var server = ModularServer.Create(options, models, b =>
        {
            b.SetMinimumLevel(LogLevel.Information);
            b.AddFilter("Microsoft", LogLevel.Warning);
            if (logs is not null) b.AddProvider(logs);
        });
        await server.StartAsync();
        var url = server.Urls.First();
        return (server, new Uri(url.EndsWith('/') ? url : url + "/"));
    }

    public static HttpClient NewClient(Uri baseUri, string? key)
    {
        var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (Server is null) return;
        await Server.StopAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>Keeps formatted log lines for assertions.</summary>
public sealed class LogCollector : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue(formatter(state, exception));
    }
}
