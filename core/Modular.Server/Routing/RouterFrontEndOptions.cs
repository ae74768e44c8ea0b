using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Modular.Server.Routing;

/// <summary>Everything <c>modular route</c> is configured with.</summary>
public sealed record RouterFrontEndOptions
{
    /// <summary>plugins.json holding the router plugin; its <c>settings.targets</c> are the servers forwarded to.</summary>
    public required string PluginsJson { get; init; }
    /// <summary>Address to listen on.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>Port; 0 picks a free one (see <see cref="RouterFrontEnd.Addresses"/>).</summary>
    public int Port { get; init; } = 8080;
    /// <summary>Bearer token clients must send on <c>/v1/*</c>; null disables the check.</summary>
    public string? ApiKey { get; init; }
    /// <summary>Forwarding attempts per request, each on a different target (the first included).</summary>
    public int MaxAttempts { get; init; } = 3;
    /// <summary>
    /// Per-target timeout when the target's settings give no <c>timeout_seconds</c>: Polly's attempt timeout up to the
    /// response headers, then each read of the body (the whole body of a non-streamed answer, each gap between chunks of a stream).
    /// </summary>
    public TimeSpan TargetTimeout { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>How often each target's <c>/health</c> is checked.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long a health check may take before it counts as failed.</summary>
    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>
    /// Share of failed attempts (connection errors, attempt timeouts, 5xx and 408 answers; not 429) within
    /// <see cref="BreakerSamplingDuration"/> that opens a target's circuit (Polly's <c>FailureRatio</c>).
    /// </summary>
    public double BreakerFailureRatio { get; init; } = 0.5;
    /// <summary>Attempts a target must have had within <see cref="BreakerSamplingDuration"/> before its circuit can open (Polly's <c>MinimumThroughput</c>, at least 2).</summary>
    public int BreakerMinimumThroughput { get; init; } = 3;
    /// <summary>Window over which a target's failure ratio is measured (at least 0.5 s).</summary>
    public TimeSpan BreakerSamplingDuration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>How long an open circuit keeps a target out before one trial request is let through (at least 0.5 s).</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Largest request body accepted, in bytes.</summary>
    public long MaxBodyBytes { get; init; } = 32L << 20;
    /// <summary>Overrides of plugin settings (section <c>plugins:&lt;name&gt;</c>); null for none.</summary>
    public IConfiguration? Configuration { get; init; }
    /// <summary>Replaces the default console logging (tests pass their own).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }
}
