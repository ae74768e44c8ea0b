using System.Runtime.CompilerServices;
using Modular.Engine;

namespace Modular.Server.Engine;

/// <summary>
/// <see cref="IServingEngine"/> over the engine team's <see cref="LLMEngine"/> (its own thread, per-request output
/// channels, aborts, beam search). The engine thread starts when the engine is constructed; stopping disposes it,
/// which ends any request still live with an error output.
/// </summary>
/// <remarks>
/// <see cref="LLMEngine"/> has no hook to run work on its thread, so <see cref="RunExclusiveAsync"/> runs on a pool
/// thread beside the engine loop: fine for the CPU backend, whose kernels share no scratch state; a GPU backend
/// sharing one stream would want such a hook.
/// </remarks>
public sealed class LlmServingEngine : IServingEngine
{
    private readonly LLMEngine _engine;
    private volatile bool _stopped;

    /// <summary>Wraps a running engine (the wrapper owns it).</summary>
    public LlmServingEngine(LLMEngine engine) => _engine = engine;

    /// <inheritdoc />
    public int MaxModelLen => _engine.Core.MaxModelLen;

    /// <inheritdoc />
    public bool IsAlive => !_stopped && _engine.Fault is null;

    /// <inheritdoc />
    public string? DeathReason => _engine.Fault?.Message ?? (_stopped ? "the engine is stopped" : null);

    /// <inheritdoc />
    public EngineMetricsSnapshot Metrics() => _engine.Metrics.Snapshot();

    /// <inheritdoc />
    /// <remarks>Read from outside the engine thread: a momentary value, exact once the engine is idle.</remarks>
    public (int Free, int Total) KvBlocks() => (_engine.Core.Allocator.FreeBlocks, _engine.Core.Allocator.TotalBlocks);

    /// <inheritdoc />
    public async IAsyncEnumerable<RequestOutput> GenerateAsync(EngineRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!IsAlive) throw new InvalidOperationException(DeathReason);
        await foreach (var o in _engine.GenerateAsync(request, cancellationToken).ConfigureAwait(false))
        {
            yield return o;
            // A consumer that has gone (client disconnected) needs no abort output; the engine already aborted.
            if (cancellationToken.IsCancellationRequested) yield break;
        }
    }

    /// <inheritdoc />
    public Task<T> RunExclusiveAsync<T>(Func<T> work, CancellationToken cancellationToken) => Task.Run(work, cancellationToken);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopped) return Task.CompletedTask;
        _stopped = true;
        return Task.Run(_engine.Dispose, CancellationToken.None);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None).ConfigureAwait(false);
}
