using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Modular.Abstractions;
using Modular.Server.Http;
using Polly.Registry;

// The web SDK imports Microsoft.AspNetCore.Routing, which has an IRouter of its own.
using IRouter = Modular.Abstractions.IRouter;

namespace Modular.Server.Routing;

/// <summary>
/// The router-only front end (<c>modular route</c>): an OpenAI-compatible HTTP server with no model of its own. It
/// loads plugins.json, takes the <see cref="IRouter"/> a plugin registered and that plugin's <c>settings.targets</c>
/// (remote servers), and forwards <c>/v1/chat/completions</c>, <c>/v1/completions</c> and <c>/v1/embeddings</c> to
/// the target the router picks (see <see cref="RouteForwarder"/> for retries and streaming), answering with
/// <c>x-modular-routed-to</c>. <c>/v1/models</c> merges the targets' lists, <c>/health</c> is 200 while any target is
/// up, <c>/metrics</c> has the front end's own counters.
/// </summary>
public static class RouterFrontEnd
{
    /// <summary>Builds the front end; start it with <c>StartAsync</c>/<c>RunAsync</c>, read its address with <see cref="Addresses"/>.</summary>
    /// <exception cref="Modular.Hosting.PluginLoadException">plugins.json or a plugin is wrong.</exception>
    /// <exception cref="InvalidOperationException">No router, several, or router settings without usable targets.</exception>
    public static WebApplication Build(RouterFrontEndOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        RouterResilience.Validate(options);

        var loaded = LoadedRouter.Load(options.PluginsJson, options.Configuration);
        try
        {
            var settings = loaded.Plugin.Entry.Settings;
            var targets = ForwardTarget.FromSettings(settings, loaded.Plugins.Config.SourcePath, options);
            var app = CreateApp(options, loaded.Router, targets, Aliases(settings));
            app.Lifetime.ApplicationStopped.Register(loaded.Dispose);
            return app;
        }
        catch
        {
            loaded.Dispose();
            throw;
        }
    }

    /// <summary>The addresses a started front end listens on (port 0 resolved).</summary>
    public static IReadOnlyList<string> Addresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];

    private static WebApplication CreateApp(RouterFrontEndOptions options, IRouter router, List<ForwardTarget> targets, List<string> aliases)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = typeof(RouterFrontEnd).Assembly.GetName().Name });
        builder.WebHost.UseKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = null; // the forwarder enforces MaxBodyBytes with an OpenAI-shaped 413
        });
        builder.WebHost.UseUrls($"http://{(options.Host.Contains(':', StringComparison.Ordinal) && !options.Host.StartsWith('[') ? $"[{options.Host}]" : options.Host)}:{options.Port}");
        builder.Logging.ClearProviders();
        if (options.ConfigureLogging is not null) options.ConfigureLogging(builder.Logging);
        else
        {
            builder.Logging.AddSimpleConsole(c => { c.SingleLine = true; c.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff "; });
            builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
            builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
            // Polly reports every handled attempt and retry as a warning; the router logs those itself, with the target named.
            builder.Logging.AddFilter("Polly", LogLevel.Error);
        }

        // Each target's HTTP client carries its circuit breaker and attempt timeout; the failover pipeline retries on other targets.
        RouterResilience.AddTargetClients(builder.Services, targets, options);
        RouterResilience.AddFailover(builder.Services, options);
        builder.Services.AddSingleton<IHostedService>(sp => new TargetHealthMonitor(targets, sp.GetRequiredService<IHttpClientFactory>(), options,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("Modular.Router.Health")));

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Modular.Router");
        var clients = app.Services.GetRequiredService<IHttpClientFactory>();
        RouterResilience.Initialize(clients, targets);
        var failover = app.Services.GetRequiredService<ResiliencePipelineProvider<string>>().GetPipeline<TargetReply>(RouterResilience.FailoverPipeline);
        var metrics = new RouterMetrics(targets);
        var forwarder = new RouteForwarder(router, targets, clients, failover, metrics, logger, options.MaxBodyBytes);
        var models = new RouterModelsEndpoint(targets, aliases, clients, options);
        var apiKey = options.ApiKey is { Length: > 0 } key ? new ApiKeyCheck(key) : null;

        app.Use(async (context, next) =>
        {
            try
            {
                if (apiKey is not null && ApiKeyCheck.Protects(context.Request.Path)) apiKey.Verify(context);
                await next(context).ConfigureAwait(false);
            }
            catch (ApiException e)
            {
                await ApiErrors.WriteAsync(context, e).ConfigureAwait(false);
            }
            catch (Exception e) when (context.RequestAborted.IsCancellationRequested && e is OperationCanceledException or IOException)
            {
                // the client left
            }
        });

        app.MapPost("/v1/chat/completions", c => forwarder.ForwardAsync(c, "/v1/chat/completions"));
        app.MapPost("/v1/completions", c => forwarder.ForwardAsync(c, "/v1/completions"));
        app.MapPost("/v1/embeddings", c => forwarder.ForwardAsync(c, "/v1/embeddings"));
        app.MapGet("/v1/models", models.HandleAsync);
        app.MapGet("/health", context => Health(context, targets));
        app.MapGet("/metrics", async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.WriteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
        });
        logger.LogInformation("router front end: {Count} targets ({Targets}); routed names: {Aliases}", targets.Count,
            string.Join(", ", targets.Select(t => $"{t.Name}={t.BaseUri}")), string.Join(", ", aliases));
        return app;
    }

    private static Task Health(HttpContext context, List<ForwardTarget> targets)
    {
        foreach (var t in targets)
        {
            if (!t.Available) continue;
            context.Response.StatusCode = 200;
            return Task.CompletedTask;
        }
        var states = string.Join("; ", targets.Select(t => $"{t.Name}: {t.Describe()}"));
        throw new ApiException(503, $"no target is up ({states})", code: "no_target_available");
    }

    private static List<string> Aliases(JsonElement? settings)
    {
        var list = new List<string>();
        if (settings is { ValueKind: JsonValueKind.Object } s && s.TryGetProperty("aliases", out var a))
        {
            if (a.ValueKind == JsonValueKind.String && a.GetString() is { Length: > 0 } one) list.Add(one);
            else if (a.ValueKind == JsonValueKind.Array)
                foreach (var x in a.EnumerateArray())
                    if (x.ValueKind == JsonValueKind.String && x.GetString() is { Length: > 0 } name) list.Add(name);
        }
        if (list.Count == 0) list.Add("auto");
        return list;
    }
}
