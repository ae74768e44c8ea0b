using Modular.Engine;

namespace Modular.Server.Engine;

/// <summary>
/// What the HTTP layer needs from a running engine. The production implementation wraps <c>LLMEngine</c>; the
/// seam keeps the endpoints independent of how the engine schedules its thread.
/// </summary>
public interface IServingEngine : IAsyncDisposable
{
    /// <summary>Longest prompt plus output, in tokens.</summary>
    int MaxModelLen { get; }

    /// <summary>False once the engine loop has died (the model threw); /health then answers 503.</summary>
    bool IsAlive { get; }

    /// <summary>Why the engine died, or null.</summary>
    string? DeathReason { get; }

    /// <summary>
    /// Submits a request and streams its outputs; the last has <see cref="RequestOutput.Finished"/> set.
    /// Cancelling <paramref name="cancellationToken"/> aborts the request in the engine (its blocks are freed).
    /// </summary>
    /// <exception cref="EngineRequestException">The request can never run.</exception>
    IAsyncEnumerable<RequestOutput> GenerateAsync(EngineRequest request, CancellationToken cancellationToken);

    /// <summary>Counters, gauges and latency histograms.</summary>
    EngineMetricsSnapshot Metrics();

    /// <summary>KV blocks free and in total.</summary>
    (int Free, int Total) KvBlocks();

    /// <summary>
    /// Runs <paramref name="work"/> on the engine's thread between steps (forward passes that must not overlap the
    /// engine's, such as embeddings).
    /// </summary>
    Task<T> RunExclusiveAsync<T>(Func<T> work, CancellationToken cancellationToken);

    /// <summary>Starts the engine loop.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops the engine loop; live requests are aborted.</summary>
    Task StopAsync(CancellationToken cancellationToken);
}
