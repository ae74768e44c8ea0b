using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Modular.Server.WebConsole;

/// <summary>
/// Routes for the web console: the page at <c>/</c> and its files at <c>/console/{file}</c>, served from embedded
/// resources. The page talks to the server's own OpenAI endpoints and <c>/metrics</c>; nothing comes from elsewhere.
/// </summary>
/// <remarks>
/// The namespace is <c>WebConsole</c> rather than the folder's name <c>Console</c>: a <c>Modular.Server.Console</c>
/// namespace would shadow <see cref="System.Console"/> for every file under <c>Modular.Server</c>.
/// </remarks>
public static class ConsoleEndpoints
{
    /// <summary>Path prefix of the console's scripts and styles.</summary>
    public const string AssetPrefix = "/console/";

    // The page loads scripts and styles from this origin only and talks only to this origin: a strict policy costs
    // nothing and rules out both injected script and accidental calls to third-party hosts.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

    /// <summary>Maps <c>GET/HEAD /</c> and <c>GET/HEAD /console/{file}</c>.</summary>
    /// <param name="app">The endpoint route builder (the <c>WebApplication</c>).</param>
    /// <returns><paramref name="app"/>, for chaining.</returns>
    public static IEndpointRouteBuilder MapWebConsole(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        _ = ConsoleAssets.All; // fail at startup, not on the first page view, when the resources were not embedded
        string[] methods = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", methods, context => WriteAsync(context, ConsoleAssets.IndexName));
        app.MapMethods(AssetPrefix + "{file}", methods, context =>
            WriteAsync(context, context.Request.RouteValues["file"] as string ?? ""));
        return app;
    }

    private static async Task WriteAsync(HttpContext context, string name)
    {
        var response = context.Response;
        if (!ConsoleAssets.TryGet(name, out var asset))
        {
            // Left without a body so the server's error middleware writes its usual 404 shape.
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var headers = response.Headers;
        headers.ETag = asset.ETag;
        // no-cache = store but revalidate every time: a new build is picked up on reload, and an unchanged file
        // costs one 304 round trip on loopback.
        headers.CacheControl = "no-cache";
        headers.XContentTypeOptions = "nosniff";
        if (name.EndsWith(".html", StringComparison.Ordinal))
        {
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers["Referrer-Policy"] = "no-referrer";
        }

        if (IfNoneMatchHits(context.Request, asset.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = asset.ContentType;
        response.ContentLength = asset.Content.Length;
        if (HttpMethods.IsHead(context.Request.Method)) return;
        await response.Body.WriteAsync(asset.Content, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IfNoneMatchHits(HttpRequest request, string etag)
    {
        foreach (string? value in request.Headers.IfNoneMatch)
        {
            if (value is null) continue;
            foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                // Weak comparison (RFC 9110 §13.1.2): a W/ prefix added by a proxy still matches.
                string tag = part.StartsWith("W/", StringComparison.Ordinal) ? part[2..] : part;
                if (tag == "*" || tag == etag) return true;
            }
        }
        return false;
    }
}
