using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Modular.Engine;

namespace Modular.Server.Engine;

/// <summary>
/// Drives an <see cref="EngineCore"/> on one dedicated thread: requests, aborts and exclusive work arrive as commands
/// through a queue; each request's outputs flow back through its own channel. When a step throws, every live request
/// fails with the error and the loop stops (the engine is dead: /health answers 503).
/// </summary>
public sealed class EngineLoop : IServingEngine
{
    private readonly EngineCore _core;
    private readonly Queue<(Action Run, Action? Fallback)> _commands = new();
    private readonly object _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private volatile bool _alive = true;
    private volatile string? _death;
    private volatile int _freeBlocks;
    private int _started;

    /// <summary>Wraps <paramref name="core"/>; call <see cref="StartAsync"/> to run it.</summary>
    public EngineLoop(EngineCore core, string name)
    {
        _core = core;
        _freeBlocks = core.Allocator.FreeBlocks;
        _thread = new Thread(Run) { IsBackground = true, Name = "engine " + name };
    }

    /// <inheritdoc />
    public int MaxModelLen => _core.MaxModelLen;
    /// <inheritdoc />
    public bool IsAlive => _alive;
    /// <inheritdoc />
    public string? DeathReason => _death;
    /// <summary>The engine core (touch only from the engine thread).</summary>
    internal EngineCore Core => _core;

    /// <inheritdoc />
    public EngineMetricsSnapshot Metrics() => _core.Metrics.Snapshot();

    /// <inheritdoc />
    public (int Free, int Total) KvBlocks() => (_freeBlocks, _core.Allocator.TotalBlocks);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0) _thread.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        _wake.Release();
        if (_started == 0) return;
        await Task.Run(() => _thread.Join(TimeSpan.FromSeconds(30)), CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RequestOutput> GenerateAsync(EngineRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<RequestOutput>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            try
            {
                _core.AddRequest(request, o =>
                {
                    channel.Writer.TryWrite(o);
                    if (o.Finished) channel.Writer.TryComplete();
                });
                accepted.TrySetResult();
            }
            catch (Exception e)
            {
                accepted.TrySetException(e);
                channel.Writer.TryComplete();
            }
        }, () => accepted.TrySetException(new InvalidOperationException(_death ?? "the engine is stopped")));
        await accepted.Task.ConfigureAwait(false);

        bool finished = false;
        try
        {
            while (true)
            {
                RequestOutput output;
                try
                {
                    if (!await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false)) break;
                    if (!channel.Reader.TryRead(out output!)) continue;
                }
                catch (OperationCanceledException) { yield break; }
                if (output.Finished) finished = true;
                yield return output;
                if (finished) yield break;
            }
        }
        finally
        {
            // Disconnected client, cancelled token or a consumer that stopped early: free the request's blocks now.
            if (!finished) Post(() => _core.Abort(request.RequestId), null);
        }
    }

    /// <inheritdoc />
    public Task<T> RunExclusiveAsync<T>(Func<T> work, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        Post(() =>
        {
            if (cancellationToken.IsCancellationRequested) { done.TrySetCanceled(cancellationToken); return; }
            try { done.TrySetResult(work()); }
            catch (Exception e) { done.TrySetException(e); }
        }, () => done.TrySetException(new InvalidOperationException(_death ?? "the engine is stopped")));
        return done.Task;
    }

    // Queues a command; when the loop is gone, runs the fallback instead so no caller waits forever.
    private void Post(Action command, Action? whenStopped)
    {
        lock (_gate)
        {
            if (_alive)
            {
                _commands.Enqueue((command, whenStopped));
                _wake.Release();
                return;
            }
        }
        whenStopped?.Invoke();
    }

    private bool TryTake(out Action command)
    {
        lock (_gate)
        {
            if (_commands.TryDequeue(out var c)) { command = c.Run; return true; }
        }
        command = null!;
        return false;
    }

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                while (TryTake(out var command)) command();
                if (_core.HasUnfinishedRequests)
                {
                    _core.Step();
                    _freeBlocks = _core.Allocator.FreeBlocks;
                }
                else
                {
                    _freeBlocks = _core.Allocator.FreeBlocks;
                    _core.Step(); // refreshes the gauges while idle
                    _wake.Wait(TimeSpan.FromMilliseconds(250));
                }
            }
            _core.FailAll("the server is shutting down");
        }
        catch (Exception e)
        {
            _death = $"engine step failed: {e.GetType().Name}: {e.Message}";
            try { _core.FailAll(_death); } catch (Exception) { /* already failing: the requests still get their final output below */ }
        }
        finally
        {
            _freeBlocks = _core.Allocator.FreeBlocks;
            List<Action> fallbacks = new();
            lock (_gate)
            {
                _alive = false;
                while (_commands.TryDequeue(out var c)) if (c.Fallback is not null) fallbacks.Add(c.Fallback);
            }
            // Commands that raced with the exit get their "engine stopped" answer instead of waiting forever.
            foreach (var f in fallbacks) f();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _wake.Dispose();
    }
}
