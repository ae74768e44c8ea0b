using System.Text.Json;

namespace Modular.Server.Routing;

/// <summary>
/// A remote OpenAI-compatible server the front end forwards to, with its live state: its circuit (Polly's breaker
/// in the target's HTTP client, isolated by the health probe while <c>/health</c> fails) and the model it serves.
/// </summary>
public sealed class ForwardTarget
{
    private volatile string? _model;

    internal ForwardTarget(string name, Uri baseUri, string? model, string? apiKey, TimeSpan timeout)
    {
        Name = name;
        BaseUri = baseUri;
        _model = model;
        ConfiguredModel = model;
        ApiKey = apiKey;
        Timeout = timeout;
    }

    /// <summary>Target name, as the router's decisions use it.</summary>
    public string Name { get; }
    /// <summary>Base URL (ends with '/').</summary>
    public Uri BaseUri { get; }
    /// <summary>Bearer token sent to the target, or null.</summary>
    public string? ApiKey { get; }
    /// <summary>Per-target timeout (see <see cref="RouterFrontEndOptions.TargetTimeout"/>).</summary>
    public TimeSpan Timeout { get; }
    /// <summary>The model named in settings, or null.</summary>
    public string? ConfiguredModel { get; }
    /// <summary>The model requests are rewritten to: the configured one, else the first one the target lists.</summary>
    public string? Model { get => _model; internal set => _model = value; }
    /// <summary>False while the health probe has the target isolated (its last <c>/health</c> failed).</summary>
    public bool Healthy => Circuit.State != Polly.CircuitBreaker.CircuitState.Isolated;
    /// <summary>Why the target is down, or null.</summary>
    public string? DownReason => Circuit.IsolationReason;
    internal TargetCircuit Circuit { get; } = new(TimeProvider.System);

    /// <summary>Name of the target's HTTP client (IHttpClientFactory), whose resilience handler holds the circuit breaker and the attempt timeout.</summary>
    internal string ClientName => "modular-router-target:" + Name;

    /// <summary>The circuit lets requests through (closed, or open with its break over).</summary>
    public bool Available => Circuit.Available;

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({BaseUri})";

    /// <summary>
    /// Reads the remote targets from the router plugin's plugins.json settings (<c>targets[].name/url/model/api_key/timeout_seconds</c>).
    /// Targets without a url are local models of a serving process and cannot be forwarded to.
    /// </summary>
    internal static List<ForwardTarget> FromSettings(JsonElement? settings, string source, RouterFrontEndOptions options)
    {
        if (settings is not { ValueKind: JsonValueKind.Object } s || !s.TryGetProperty("targets", out var targets) || targets.ValueKind != JsonValueKind.Array)
            throw new InvalidOperationException($"{source}: the router plugin's settings have no \"targets\" array; modular route needs remote targets ({{ \"name\": ..., \"url\": ... }})");
        var list = new List<ForwardTarget>();
        int i = 0;
        foreach (var t in targets.EnumerateArray())
        {
            string at = $"{source}: router settings.targets[{i++}]";
            string name = String(t, "name") ?? throw new InvalidOperationException($"{at}.name is required");
            string url = String(t, "url") ?? throw new InvalidOperationException(
                $"{at} (\"{name}\") has no url: modular route loads no model, so every target must be a remote server");
            if (!Uri.TryCreate(url.EndsWith('/') ? url : url + "/", UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                throw new InvalidOperationException($"{at}.url '{url}' is not an absolute http(s) URL");
            var timeout = options.TargetTimeout;
            if (t.TryGetProperty("timeout_seconds", out var ts))
            {
                if (!ts.TryGetDouble(out var sec) || !(sec > 0))
                    throw new InvalidOperationException($"{at}.timeout_seconds must be a positive number, not {ts.GetRawText()}");
                timeout = TimeSpan.FromSeconds(sec);
            }
            if (list.Exists(x => string.Equals(x.Name, name, StringComparison.OrdinalIgnoreCase)))
                throw new InvalidOperationException($"{at}.name \"{name}\" is used by an earlier target; target names must be unique");
            list.Add(new ForwardTarget(name, uri, String(t, "model"), String(t, "api_key"), timeout));
        }
        if (list.Count == 0) throw new InvalidOperationException($"{source}: router settings.targets is empty");
        return list;
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s.Trim()
        : e.TryGetProperty(name, out v) && v.ValueKind == JsonValueKind.Number ? v.GetRawText() : null;

    internal string Describe() => Circuit.Describe();
}
