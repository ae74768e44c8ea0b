using System.Reflection;
using Microsoft.AspNetCore.Http;
using Modular.Server.Http;

namespace Modular.Server.Endpoints;

/// <summary>GET /v1/models, /health, /version and /metrics.</summary>
internal sealed class InfoEndpoints(ServerContext server)
{
    /// <summary>The server's version (assembly informational version without the commit suffix).</summary>
    public static string Version { get; } = ReadVersion();

    public Task ModelsAsync(HttpContext context) => JsonResponse.WriteAsync(context, w =>
    {
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        foreach (var m in server.Models)
        {
            w.WriteStartObject();
            w.WriteString("id", m.Name);
            w.WriteString("object", "model");
            w.WriteNumber("created", m.Created);
            w.WriteString("owned_by", "modular");
            w.WriteString("root", m.Directory);
            w.WriteNull("parent");
            w.WriteNumber("max_model_len", m.Engine.MaxModelLen);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    public async Task HealthAsync(HttpContext context)
    {
        foreach (var m in server.Models)
            if (!m.Engine.IsAlive)
                throw new ApiException(503, $"the engine of model {m.Name} is not running: {m.Engine.DeathReason ?? "stopped"}", code: "engine_dead");
        if (server.Gate.Draining) throw Http.AdmissionGate.ShuttingDown();
        context.Response.StatusCode = 200;
        context.Response.ContentLength = 0;
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public Task VersionAsync(HttpContext context) => JsonResponse.WriteAsync(context, w =>
    {
        w.WriteStartObject();
        w.WriteString("version", Version);
        w.WriteEndObject();
    });

    public async Task MetricsAsync(HttpContext context)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await server.Metrics.WriteAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static string ReadVersion()
    {
        var v = typeof(InfoEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        int plus = v.IndexOf('+');
        return plus > 0 ? v[..plus] : v;
    }
}
