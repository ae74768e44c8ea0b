using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;

namespace Modular.Server.Routing;

/// <summary>
/// The front end's resilience, built from Microsoft.Extensions.Http.Resilience and Polly:
/// <list type="bullet">
/// <item>one named HTTP client per target (IHttpClientFactory) whose resilience handler holds the target's circuit
/// breaker around its attempt timeout; the breaker's state and manual control are the target's <see cref="TargetCircuit"/>;</item>
/// <item>a plain client for health probes and model lists, which must reach a target whatever its circuit says;</item>
/// <item>the failover pipeline, keyed <see cref="FailoverPipeline"/>: Polly's retry around one forwarding attempt
/// (pick a target, send, await the headers, buffer the body or the first streamed event), each attempt picking a
/// target not tried yet. Nothing has reached the client while it runs, so every retry is safe; the stream relayed
/// after it is never retried.</item>
/// </list>
/// </summary>
internal static class RouterResilience
{
    /// <summary>Key of the failover pipeline in Polly's registry.</summary>
    public const string FailoverPipeline = "modular-router-failover";

    /// <summary>Name of the HTTP client for health probes and <c>/v1/models</c>: no breaker, no attempt timeout (callers set their own).</summary>
    public const string ProbeClient = "modular-router-probe";

    /// <summary>Checks the breaker settings against Polly's limits up front, so that a bad value is a startup error that names the option.</summary>
    public static void Validate(RouterFrontEndOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1, nameof(options.MaxAttempts));
        if (!(options.BreakerFailureRatio is > 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(options.BreakerFailureRatio), options.BreakerFailureRatio, "must be in (0, 1]");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BreakerMinimumThroughput, 2, nameof(options.BreakerMinimumThroughput));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BreakerSamplingDuration, TimeSpan.FromMilliseconds(500), nameof(options.BreakerSamplingDuration));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.BreakDuration, TimeSpan.FromMilliseconds(500), nameof(options.BreakDuration));
    }

    /// <summary>Registers the probe client and one client per target with its breaker and attempt timeout.</summary>
    public static void AddTargetClients(IServiceCollection services, IReadOnlyList<ForwardTarget> targets, RouterFrontEndOptions options)
    {
        // The forwarder logs every decision and failure itself; the factory's per-request log lines would only repeat them.
        services.AddHttpClient(ProbeClient, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)
            .RemoveAllLoggers();

        foreach (var target in targets)
        {
            services.AddHttpClient(target.ClientName, c =>
                {
                    c.BaseAddress = target.BaseUri;
                    c.Timeout = Timeout.InfiniteTimeSpan; // streams last as long as generation does; the timeouts are per attempt and per read
                    if (target.ApiKey is { } key) c.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                })
                .ConfigurePrimaryHttpMessageHandler(CreatePrimaryHandler)
                .SetHandlerLifetime(Timeout.InfiniteTimeSpan) // the primary handler recycles its connections itself (PooledConnectionLifetime)
                .RemoveAllLoggers()
                .AddResilienceHandler(target.ClientName, (pipeline, context) =>
                {
                    var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Modular.Router");
                    pipeline.AddCircuitBreaker(BreakerOptions(target, options, logger));
                    // Inside the breaker, so that a target that times out counts as failing.
                    pipeline.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = target.Timeout });
                });
        }
    }

    /// <summary>Registers the failover pipeline (<see cref="FailoverPipeline"/>), whose retries go to other targets.</summary>
    public static void AddFailover(IServiceCollection services, RouterFrontEndOptions options)
    {
        services.AddResiliencePipeline<string, TargetReply>(FailoverPipeline, pipeline =>
        {
            if (options.MaxAttempts < 2) return; // Polly's retry needs at least one retry; one attempt is the bare callback
            pipeline.AddRetry(new RetryStrategyOptions<TargetReply>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                // The next attempt goes to a different target, so there is nothing to wait for.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                ShouldHandle = args => ValueTask.FromResult(!args.Context.CancellationToken.IsCancellationRequested && ShouldTryAnotherTarget(args.Outcome)),
            });
        });
    }

    /// <summary>
    /// Builds each target's client once, which builds its resilience pipeline and so attaches its
    /// <see cref="TargetCircuit"/> to Polly's breaker before the first request or health probe.
    /// </summary>
    public static void Initialize(IHttpClientFactory clients, IReadOnlyList<ForwardTarget> targets)
    {
        foreach (var target in targets) clients.CreateClient(target.ClientName).Dispose();
    }

    /// <summary>
    /// Whether an attempt's outcome sends the request to another target: the target could not be reached, timed out,
    /// broke its answer off before anything was sent on, answered with a retryable error, or its circuit is open or
    /// isolated. A request the client abandoned is not retried (Polly stops on its cancelled token).
    /// </summary>
    public static bool ShouldTryAnotherTarget(Outcome<TargetReply> outcome) => outcome.Exception switch
    {
        null => outcome.Result is { IsRetryableError: true },
        _ => IsAttemptFailure(outcome.Exception),
    };

    /// <summary>Exceptions that mean "this target failed this attempt" (as opposed to the client leaving or a bug).</summary>
    public static bool IsAttemptFailure(Exception e) =>
        e is HttpRequestException or IOException or TimeoutRejectedException or TimeoutException or BrokenCircuitException;

    /// <summary>Words for an attempt failure, for logs and the 503 the client gets when every target failed.</summary>
    public static string Describe(Exception e, ForwardTarget target) => e switch
    {
        TimeoutRejectedException => $"no answer within {target.Timeout.TotalSeconds:0.#} s",
        IsolatedCircuitException => $"circuit isolated ({target.DownReason ?? "health check failing"})",
        BrokenCircuitException => "circuit breaker open",
        _ => e.Message,
    };

    private static HttpCircuitBreakerStrategyOptions BreakerOptions(ForwardTarget target, RouterFrontEndOptions options, ILogger logger) => new()
    {
        FailureRatio = options.BreakerFailureRatio,
        MinimumThroughput = options.BreakerMinimumThroughput,
        SamplingDuration = options.BreakerSamplingDuration,
        BreakDuration = options.BreakDuration,
        // The package's transient predicate (connection errors, timeouts, 5xx, 408, 429), less 429: a busy target is not a broken one.
        ShouldHandle = args => ValueTask.FromResult(
            HttpClientResiliencePredicates.IsTransient(args.Outcome)
            && args.Outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests),
        StateProvider = target.Circuit.StateProvider,
        ManualControl = target.Circuit.ManualControl,
        OnOpened = args =>
        {
            // Manual openings are the health probe's isolation, which logs its own reason.
            if (!args.IsManual)
            {
                target.Circuit.Opened(args.BreakDuration);
                logger.LogWarning("circuit of target {Target} opened for {Seconds:0.#} s after {Outcome}", target.Name, args.BreakDuration.TotalSeconds,
                    args.Outcome.Exception?.Message ?? $"an answer {(int?)args.Outcome.Result?.StatusCode}");
            }
            return default;
        },
        OnHalfOpened = _ =>
        {
            logger.LogInformation("circuit of target {Target} half-open: one trial request", target.Name);
            return default;
        },
        OnClosed = args =>
        {
            if (!args.IsManual) logger.LogInformation("circuit of target {Target} closed: the trial request succeeded", target.Name);
            return default;
        },
    };

    private static SocketsHttpHandler CreatePrimaryHandler() => new()
    {
        // Connections are recycled so that DNS changes of a target are picked up.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };
}
