using Microsoft.Extensions.Logging;
using Modular.Engine;
using Modular.Hosting;
using Modular.Server;
using Modular.Server.Engine;
using Modular.Testing;

[assembly: AssemblyFixture(typeof(Modular.Console.Tests.ConsoleServers))]
// One Chromium at a time: the machine is small, and the dashboard assertions read server-wide counters.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]

namespace Modular.Console.Tests;

/// <summary>
/// Two real servers on loopback (Kestrel, port 0) serving the bundled bard-2m on the CPU backend, loaded through the
/// repository's plugins.json the way <c>modular serve</c> does: one open, one started with an API key.
/// </summary>
public sealed class ConsoleServers : IAsyncLifetime
{
    public const string ApiKey = "sk-console-test-key";
    public const string ModelName = "bard-2m";

    private PluginRuntime? _runtime;

    /// <summary>The plugin runtime (CPU backend) the servers were loaded with; tests may load more models from it.</summary>
    public PluginRuntime Runtime => _runtime!;

    public ModularServer Open { get; private set; } = null!;
    public Uri OpenUri { get; private set; } = null!;
    public ModularServer Keyed { get; private set; } = null!;
    public Uri KeyedUri { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _runtime = PluginRuntime.Open(Path.Combine(Fixtures.RepoRoot, "plugins.json"), "cpu", new Abstractions.BackendOptions(Threads: 2));
        (Open, OpenUri) = await StartAsync(apiKey: null);
        (Keyed, KeyedUri) = await StartAsync(ApiKey);
    }

    private async Task<(ModularServer, Uri)> StartAsync(string? apiKey)
    {
        var options = new ServerOptions
        {
            Models = [new ModelSource(ModelName, Fixtures.BundledModel)],
            Host = "127.0.0.1",
            Port = 0,
            ApiKey = apiKey,
            Engine = new EngineOptions { MaxModelLen = 512, NumBlocks = 512, MaxNumSeqs = 16, MaxNumBatchedTokens = 1024 },
        };
        var models = ModelLoader.Load(options.Models, _runtime!, options.Engine);
        var server = ModularServer.Create(options, models, b => b.SetMinimumLevel(LogLevel.Warning));
        await server.StartAsync();
        string url = server.Urls.First();
        return (server, new Uri(url.EndsWith('/') ? url : url + "/"));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in new[] { Open, Keyed })
        {
            if (s is null) continue;
            await s.StopAsync();
            await s.DisposeAsync();
        }
        _runtime?.Dispose();
        await Browser.ShutdownAsync();
    }
}
