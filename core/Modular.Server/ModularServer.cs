using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Modular.Server.Endpoints;
using Modular.Server.Engine;
using Modular.Server.Http;
using Modular.Server.Observability;
using Modular.Server.Protocol;
using Modular.Server.WebConsole;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Modular.Server;

/// <summary>
/// The OpenAI-compatible HTTP server: ASP.NET Core minimal APIs over one engine per model, each engine a hosted
/// service. Build it with <see cref="Create"/>, then <see cref="StartAsync"/> (tests) or <see cref="RunAsync"/>
/// (until SIGTERM / Ctrl+C, draining running requests first).
/// </summary>
public sealed class ModularServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServerContext _context;
    private readonly IReadOnlyList<ServedModel> _models;
    private int _started;

    private ModularServer(WebApplication app, ServerContext context, IReadOnlyList<ServedModel> models)
    {
        _app = app;
        _context = context;
        _models = models;
    }

    /// <summary>The models served (the server disposes them).</summary>
    public IReadOnlyList<ServedModel> Models => _models;

    /// <summary>Generation requests admitted and not finished.</summary>
    public int InFlight => _context.Gate.InFlight;

    /// <summary>Addresses the server listens on (after start; port 0 resolved).</summary>
    public IReadOnlyList<string> Urls =>
        _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    /// <summary>Builds the server for already loaded <paramref name="models"/>.</summary>
    /// <param name="options">Server settings.</param>
    /// <param name="models">Models to serve; owned by the server from here on.</param>
    /// <param name="configureLogging">Replaces the default console logging (tests pass their own).</param>
    public static ModularServer Create(ServerOptions options, IReadOnlyList<ServedModel> models, Action<ILoggingBuilder>? configureLogging = null)
    {
        if (options.Limits.Validate() is string badLimit) throw new ArgumentException(badLimit, nameof(options));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = typeof(ModularServer).Assembly.GetName().Name });
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // RequestBody enforces the limit with an OpenAI-shaped 413
            // HeaderLimits enforces the configured header/line limits with an OpenAI-shaped 431/414; Kestrel keeps a
            // hard limit above them (its own refusals have no body).
            var limits = options.Limits;
            k.Limits.MaxRequestHeadersTotalSize = ServerLimits.KestrelHardLimit(limits.MaxHeaderBytes);
            k.Limits.MaxRequestLineSize = ServerLimits.KestrelHardLimit(limits.MaxRequestLineBytes);
            k.Limits.MaxRequestHeaderCount = (int)Math.Min(int.MaxValue, Math.Max(4L * limits.MaxHeaderCount, limits.MaxHeaderCount + 100L));
        });
        builder.WebHost.UseUrls($"http://{FormatHost(options.Host)}:{options.Port}");
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout);
        builder.Logging.ClearProviders();
        if (configureLogging is not null) configureLogging(builder.Logging);
        else
        {
            builder.Logging.AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff "; });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        }
        foreach (var m in models) builder.Services.AddSingleton<IHostedService>(new EngineHostedService(m));
        if (options.OtlpEndpoint is { } otlp)
        {
            builder.Services.AddOpenTelemetry()
                .ConfigureResource(r => r.AddService("modular", serviceVersion: InfoEndpoints.Version))
                .WithTracing(t => t.AddSource(RequestTracing.SourceName).AddOtlpExporter(o => o.Endpoint = otlp));
        }

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Modular.Server");
        var context = new ServerContext(models, options, logger);
        app.Lifetime.ApplicationStopping.Register(context.Gate.BeginDrain);

        var pipeline = new RequestPipeline(context, options.ApiKey is { Length: > 0 } key ? new ApiKeyCheck(key) : null);
        app.Use(pipeline.InvokeAsync);

        var chat = new ChatCompletionsEndpoint(context);
        var completions = new CompletionsEndpoint(context);
        var embeddings = new EmbeddingsEndpoint(context);
        var tokenize = new TokenizeEndpoints(context);
        var info = new InfoEndpoints(context);
        app.MapPost("/v1/chat/completions", chat.HandleAsync);
        app.MapPost("/v1/completions", completions.HandleAsync);
        app.MapPost("/v1/embeddings", embeddings.HandleAsync);
        app.MapGet("/v1/models", info.ModelsAsync);
        app.MapPost("/tokenize", tokenize.TokenizeAsync);
        app.MapPost("/detokenize", tokenize.DetokenizeAsync);
        app.MapGet("/health", info.HealthAsync);
        app.MapGet("/version", info.VersionAsync);
        app.MapGet("/metrics", info.MetricsAsync);
        if (options.EnableUi) app.MapWebConsole();
        return new ModularServer(app, context, models);
    }

    /// <summary>Starts the engines and the listener.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0) await _app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops gracefully: refuses new requests, drains running ones (bounded by the drain timeout), stops engines.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Starts (when not yet started) and runs until the process is asked to stop (SIGTERM, Ctrl+C) or the token fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken).ConfigureAwait(false);
        await _app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops the host and frees the models.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        foreach (var m in _models) await m.DisposeAsync().ConfigureAwait(false);
    }

    private static string FormatHost(string host) =>
        host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
}
