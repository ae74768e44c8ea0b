using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>
/// The asynchronous engine front end. One dedicated thread owns the <see cref="EngineCore"/> (scheduler, KV pool,
/// model runner) and loops: take queued commands, run a step, push outputs. Requests and aborts come in through a
/// channel; each request's outputs go out through its own channel. Beam-search requests are driven above the core
/// as vLLM's offline beam search does: each step submits every beam as a one-token request and ranks the
/// continuations, relying on prefix caching for the shared history.
/// </summary>
public sealed class LLMEngine : IDisposable
{
    private abstract record Command;
    private sealed record AddCommand(EngineRequest Request, Channel<RequestOutput> Output) : Command;
    private sealed record AbortCommand(string RequestId) : Command;

    private readonly Channel<Command> _commands = Channel.CreateUnbounded<Command>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _beamSearches = new();
    private readonly Thread _thread;
    private volatile bool _stopping;
    private long _nextInternalId;

    /// <summary>Starts the engine thread over <paramref name="core"/>; the engine owns the core from now on.</summary>
    public LLMEngine(EngineCore core)
    {
        Core = core;
        _thread = new Thread(Loop) { IsBackground = true, Name = "modular-engine" };
        _thread.Start();
    }

    /// <summary>The core. Only its thread-safe members (<see cref="EngineCore.Metrics"/>, options, config) may be used from outside.</summary>
    public EngineCore Core { get; }
    /// <summary>Counters and latencies (safe from any thread).</summary>
    public EngineMetrics Metrics => Core.Metrics;
    /// <summary>Set if the engine loop died; every later request fails with it.</summary>
    public Exception? Fault { get; private set; }

    /// <summary>
    /// Queues a request and returns the reader of its outputs: one per step that advanced it, the last with
    /// Finished set, then the channel completes. Problems that make the request impossible (bad parameters, a
    /// prompt that can never fit) throw <see cref="EngineRequestException"/> here, before anything is queued.
    /// </summary>
    public ChannelReader<RequestOutput> AddRequest(EngineRequest request)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        if (Fault is not null) throw new InvalidOperationException("the engine loop failed: " + Fault.Message, Fault);
        var prepared = Core.Prepare(request);
        var channel = Channel.CreateUnbounded<RequestOutput>(new UnboundedChannelOptions { SingleWriter = true });
        if (prepared.Params.UseBeamSearch)
        {
            var cts = new CancellationTokenSource();
            if (!_beamSearches.TryAdd(prepared.RequestId, cts)) throw new EngineRequestException($"request_id: \"{prepared.RequestId}\" is already in use by a live request");
            _ = RunBeamSearchAsync(prepared, channel.Writer, cts);
            return channel.Reader;
        }
        _commands.Writer.TryWrite(new AddCommand(prepared, channel));
        return channel.Reader;
    }

    /// <summary>Aborts a request at any time; its blocks are freed and its final output says "abort".</summary>
    public void Abort(string requestId)
    {
        if (_beamSearches.TryGetValue(requestId, out var cts)) cts.Cancel();
        else _commands.Writer.TryWrite(new AbortCommand(requestId));
    }

    /// <summary>Streams a request's outputs; cancelling the token aborts the request.</summary>
    public async IAsyncEnumerable<RequestOutput> GenerateAsync(EngineRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var reader = AddRequest(request);
        using var registration = cancellationToken.Register(() => Abort(request.RequestId));
        await foreach (var output in reader.ReadAllAsync(CancellationToken.None))
        {
            yield return output;
            if (output.Finished) yield break;
        }
    }

    /// <summary>Runs a request to completion and returns its final output.</summary>
    public async Task<RequestOutput> GenerateFinalAsync(EngineRequest request, CancellationToken cancellationToken = default)
    {
        RequestOutput? last = null;
        await foreach (var output in GenerateAsync(request, cancellationToken)) last = output;
        return last ?? throw new InvalidOperationException($"request {request.RequestId} ended without output");
    }

    /// <summary>A request id that cannot collide with caller ids (for internal sub-requests).</summary>
    internal string NewInternalId(string prefix) => $"{prefix}#{Interlocked.Increment(ref _nextInternalId)}";

    private async Task RunBeamSearchAsync(EngineRequest request, ChannelWriter<RequestOutput> writer, CancellationTokenSource cts)
    {
        try
        {
            var output = await new BeamSearchDriver(this, request).RunAsync(cts.Token).ConfigureAwait(false);
            writer.TryWrite(output);
        }
        catch (Exception e)
        {
            writer.TryWrite(BeamSearchDriver.Failed(request, e is OperationCanceledException ? FinishReasons.Abort : FinishReasons.Error,
                e is OperationCanceledException ? null : e.Message));
        }
        finally
        {
            _beamSearches.TryRemove(request.RequestId, out _);
            writer.TryComplete();
            cts.Dispose();
        }
    }

    private void Loop()
    {
        var channels = new Dictionary<string, Channel<RequestOutput>>();
        var reader = _commands.Reader;
        while (!_stopping)
        {
            try
            {
                while (reader.TryRead(out var command)) Apply(command, channels);
                if (!Core.HasUnfinishedRequests)
                {
                    // Idle: block until the next command arrives (or the channel closes on dispose).
                    if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) break;
                    continue;
                }
                Core.Step();
            }
            catch (Exception e)
            {
                // A bug in scheduling: fail what is live rather than hang callers, and keep serving.
                Core.FailAll("engine error: " + e.Message);
            }
        }
        Core.FailAll("engine stopped");
    }

    private void Apply(Command command, Dictionary<string, Channel<RequestOutput>> channels)
    {
        switch (command)
        {
            case AddCommand add:
                try
                {
                    var writer = add.Output.Writer;
                    Core.AddRequest(add.Request, output =>
                    {
                        writer.TryWrite(output);
                        if (output.Finished) writer.TryComplete();
                    });
                }
                catch (EngineRequestException e)
                {
                    add.Output.Writer.TryWrite(EngineCore.Rejected(add.Request, e.Message));
                    add.Output.Writer.TryComplete();
                }
                break;
            case AbortCommand abort:
                Core.Abort(abort.RequestId);
                break;
        }
    }

    /// <summary>Stops the loop; unfinished requests end with an error output.</summary>
    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        foreach (var cts in _beamSearches.Values) cts.Cancel();
        _commands.Writer.TryComplete();
        _thread.Join();
    }
}
