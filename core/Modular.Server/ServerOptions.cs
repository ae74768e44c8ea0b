using Modular.Engine;
using Modular.Server.Protocol;

namespace Modular.Server;

/// <summary>A model to serve: the name clients use and its checkpoint folder.</summary>
/// <param name="Name">Name in requests (defaults to the folder name).</param>
/// <param name="Directory">Hugging Face checkpoint folder (with <paramref name="DummyShape"/>: the tokenizer's folder).</param>
/// <param name="DummyShape">
/// When set, no checkpoint is read: random weights of this built-in shape or config.json (<c>--load-format dummy</c>),
/// to measure serving speed on real shapes.
/// </param>
public sealed record ModelSource(string Name, string Directory, string? DummyShape = null)
{
    /// <summary>Parses <c>DIR</c> or <c>NAME=DIR</c> as given to <c>--model</c>.</summary>
    public static ModelSource Parse(string spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        int eq = spec.IndexOf('=');
        // A lone '=' inside a path is unusual; NAME must be non-empty and free of path separators to count as one.
        if (eq > 0 && spec.IndexOfAny(['/', '\\'], 0, eq) < 0)
            return new ModelSource(spec[..eq], spec[(eq + 1)..]);
        return new ModelSource(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(spec))), spec);
    }
}

/// <summary>Everything <c>modular serve</c> is configured with.</summary>
public sealed record ServerOptions
{
    /// <summary>Models to serve (at least one).</summary>
    public required IReadOnlyList<ModelSource> Models { get; init; }
    /// <summary>Address to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>Port; 0 picks a free one (see <see cref="ModularServer.Urls"/>).</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Bearer token clients must send; null disables the check.</summary>
    public string? ApiKey { get; init; }
    /// <summary>plugins.json; null uses the default lookup.</summary>
    public string? PluginsJson { get; init; }
    /// <summary>Backend plugin name; null uses plugins.json's choice.</summary>
    public string? Backend { get; init; }
    /// <summary>CPU backend threads (0 = all cores).</summary>
    public int Threads { get; init; }
    /// <summary>Engine settings applied to every model.</summary>
    public EngineOptions Engine { get; init; } = new();
    /// <summary>Requests allowed to wait beyond those running (429 past it); null for no bound.</summary>
    public int? MaxQueuedRequests { get; init; }
    /// <summary>Request limits.</summary>
    public ServerLimits Limits { get; init; } = new();
    /// <summary>OTLP collector for traces; null disables export.</summary>
    public Uri? OtlpEndpoint { get; init; }
    /// <summary>Serve the small chat page at <c>/</c>.</summary>
    public bool EnableUi { get; init; } = true;
    /// <summary>How long shutdown waits for running requests before aborting them.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
