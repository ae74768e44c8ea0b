using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Modular.Abstractions;
using Modular.Engine;
using Modular.Hosting;
using Modular.Server;
using Modular.Server.Engine;
using Modular.Server.Protocol;
using Modular.Testing;

namespace Modular.Hardening.Tests.Http;

/// <summary>
/// A real server on loopback serving bard-2m, with its backend chosen through a plugins.json written for the test:
/// the CPU backend (plus the guided plugin when built) or the fault-injecting backend with the given settings.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly PluginRuntime _runtime;
    private readonly string _folder;

    private TestServer(PluginRuntime runtime, ModularServer server, Uri baseUri, string folder)
    {
        _runtime = runtime;
        Server = server;
        BaseUri = baseUri;
        _folder = folder;
        Http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(120) };
    }

    /// <summary>The served model's name.</summary>
    public const string Model = "bard-2m";
    /// <summary>The server.</summary>
    public ModularServer Server { get; }
    /// <summary>Its address.</summary>
    public Uri BaseUri { get; }
    /// <summary>A client for it.</summary>
    public HttpClient Http { get; }
    /// <summary>The opened backend (the faulty one when asked for).</summary>
    public IBackend Backend => _runtime.Backend;

    /// <summary>The guided plugin's path when it has been built.</summary>
    public static string GuidedPlugin => Path.Combine(Fixtures.RepoRoot, "artifacts", "plugins", "guided", "Modular.Plugins.Guided.dll");
    /// <summary>The CPU plugin's path.</summary>
    public static string CpuPlugin => Path.Combine(Fixtures.RepoRoot, "artifacts", "plugins", "cpu", "Modular.Backends.Cpu.dll");
    /// <summary>The fault-injecting backend plugin's path.</summary>
    public static string FaultyPlugin => Path.Combine(Fixtures.RepoRoot, "tests", "plugins", "bin", "Modular.TestPlugins.FaultyBackend", "Modular.TestPlugins.FaultyBackend.dll");

    /// <summary>Writes a plugins.json with cpu, guided (if built) and faulty (with <paramref name="faultSettings"/>) into <paramref name="folder"/>.</summary>
    public static string WritePluginsJson(string folder, string backend, JsonObject? faultSettings)
    {
        var plugins = new JsonArray { new JsonObject { ["name"] = "cpu", ["path"] = CpuPlugin } };
        if (File.Exists(GuidedPlugin)) plugins.Add(new JsonObject { ["name"] = "guided", ["path"] = GuidedPlugin });
        plugins.Add(new JsonObject { ["name"] = "faulty", ["path"] = FaultyPlugin, ["settings"] = faultSettings ?? new JsonObject() });
        var path = Path.Combine(folder, "plugins.json");
        File.WriteAllText(path, new JsonObject { ["backend"] = backend, ["plugins"] = plugins }.ToJsonString());
        return path;
    }

    /// <summary>Starts a server on <paramref name="backend"/> ("cpu" or "faulty").</summary>
    public static async Task<TestServer> StartAsync(string backend = "cpu", JsonObject? faultSettings = null, ServerLimits? limits = null,
        EngineOptions? engine = null, int? maxQueued = 4096)
    {
        var folder = Path.Combine(Path.GetTempPath(), "modular-hardening-server-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        var runtime = PluginRuntime.Open(WritePluginsJson(folder, backend, faultSettings), backend, new BackendOptions(Threads: 2));
        try
        {
            var options = new ServerOptions
            {
                Models = [new ModelSource(Model, Fixtures.BundledModel)],
                Host = "127.0.0.1",
                Port = 0,
                Engine = engine ?? new EngineOptions { MaxModelLen = 128, NumBlocks = 512, MaxNumSeqs = 64, MaxNumBatchedTokens = 1024 },
                MaxQueuedRequests = maxQueued,
                Limits = limits ?? new ServerLimits(),
                EnableUi = false,
                DrainTimeout = TimeSpan.FromSeconds(2),
            };
            var models = ModelLoader.Load(options.Models, runtime, options.Engine);
            var server = ModularServer.Create(options, models, b => b.SetMinimumLevel(LogLevel.Critical));
            await server.StartAsync();
            var url = server.Urls.First();
            return new TestServer(runtime, server, new Uri(url.EndsWith('/') ? url : url + "/"), folder);
        }
        catch
        {
            runtime.Dispose();
            throw;
        }
    }

    /// <summary>POSTs a JSON body; returns status, content type and body text.</summary>
    public async Task<(int Status, string? ContentType, string Body)> PostAsync(string path, string json, CancellationToken ct = default)
    {
        using var content = new StringContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await Http.PostAsync(path, content, ct);
        return ((int)response.StatusCode, response.Content.Headers.ContentType?.MediaType, await response.Content.ReadAsStringAsync(ct));
    }

    /// <summary>GET /health's status.</summary>
    public async Task<int> HealthAsync() => (int)(await Http.GetAsync("health")).StatusCode;

    /// <summary>The value of a Prometheus sample whose line starts with <paramref name="prefix"/>, or null.</summary>
    public async Task<double?> MetricAsync(string prefix)
    {
        var text = await Http.GetStringAsync("metrics");
        foreach (var line in text.Split('\n'))
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        return null;
    }

    /// <summary>Asserts an OpenAI-shaped error body: {"error":{"message": string, "type": string, ...}}; returns the error object.</summary>
    public static JsonElement AssertErrorBody(string? contentType, string body)
    {
        Assert.Equal("application/json", contentType);
        using var doc = JsonDocument.Parse(body);
        var error = doc.RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("message").ValueKind);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        return error.Clone();
    }

    /// <summary>Stops the server and frees the backend.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
        _runtime.Dispose();
        try { Directory.Delete(_folder, true); } catch (IOException) { }
    }
}

/// <summary>One CPU server with small, known limits shared by the HTTP fuzz and limit tests.</summary>
public sealed class LimitedServer : IAsyncLifetime
{
    /// <summary>The limits the server runs with (each test names the one it crosses).</summary>
    public static readonly ServerLimits Limits = new()
    {
        MaxBodyBytes = 1 << 20, MaxN = 4, MaxLogprobs = 5, MaxStopStrings = 4, MaxBatchInputs = 4, MaxStopTokenIds = 8,
        MaxTools = 4, MaxToolParametersBytes = 4096, MaxLogitBias = 16, MaxContentParts = 8,
        MaxHeaderBytes = 8192, MaxHeaderCount = 50, MaxRequestLineBytes = 2048,
    };

    /// <summary>The server.</summary>
    public TestServer Server { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => Server = await TestServer.StartAsync(limits: Limits);

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await Server.DisposeAsync();
}
