using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Modular.Engine;
using Modular.Server.Engine;
using Modular.Server.Observability;

namespace Modular.Server.Protocol;

/// <summary>
/// Submits one engine request per prompt and yields their outputs as they come, tagged with the prompt index,
/// while recording first-token, inter-token and end-to-end latencies. Cancelling aborts every prompt's request.
/// </summary>
internal sealed class GenerationRun(ServedModel model, ServerMetrics metrics, RequestRecord record)
{
    private sealed class PromptClock
    {
        public bool SawFirstToken;
        public int TokensSeen;
        public long LastTicks;
        public bool Finished;
    }

    public async IAsyncEnumerable<(int Prompt, RequestOutput Output)> RunAsync(IReadOnlyList<EngineRequest> requests,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var clocks = new PromptClock[requests.Count];
        for (int i = 0; i < clocks.Length; i++) clocks[i] = new PromptClock();
        if (requests.Count == 1)
        {
            await foreach (var o in model.Engine.GenerateAsync(requests[0], cancellationToken).ConfigureAwait(false))
            {
                Observe(clocks[0], o);
                yield return (0, o);
            }
            yield break;
        }

        // Several prompts: one pump per prompt into a shared channel; the first failure ends the run.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateUnbounded<(int, RequestOutput)>(new UnboundedChannelOptions { SingleReader = true });
        var pumps = new Task[requests.Count];
        for (int i = 0; i < requests.Count; i++)
        {
            int index = i;
            pumps[i] = Task.Run(async () =>
            {
                await foreach (var o in model.Engine.GenerateAsync(requests[index], linked.Token).ConfigureAwait(false))
                    channel.Writer.TryWrite((index, o));
            }, CancellationToken.None);
        }
        _ = Task.WhenAll(pumps).ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        try
        {
            await foreach (var (index, o) in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                Observe(clocks[index], o);
                yield return (index, o);
            }
        }
        finally
        {
            linked.Cancel(); // stops (and so aborts) the prompts still running when the consumer leaves early
        }
    }

    private void Observe(PromptClock clock, RequestOutput o)
    {
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        record.EngineArrival ??= o.Timings.Arrival;
        int tokens = o.Outputs.Count > 0 ? o.Outputs[0].TokenIds.Count : 0;
        if (!clock.SawFirstToken && tokens > 0 && o.Timings.FirstTokenSeconds is double ttft)
        {
            clock.SawFirstToken = true;
            metrics.ObserveFirstToken(model.Name, ttft);
            var first = o.Timings.Arrival + TimeSpan.FromSeconds(ttft);
            if (record.FirstToken is null || first < record.FirstToken) record.FirstToken = first;
        }
        else if (tokens > clock.TokensSeen && clock.TokensSeen > 0)
        {
            int added = tokens - clock.TokensSeen;
            double gap = (now - clock.LastTicks) / (double)System.Diagnostics.Stopwatch.Frequency;
            metrics.ObserveInterToken(model.Name, gap / added, added);
        }
        if (tokens > clock.TokensSeen)
        {
            clock.TokensSeen = tokens;
            clock.LastTicks = now;
        }
        if (o.Finished && !clock.Finished)
        {
            clock.Finished = true;
            string reason = o.Outputs.Count > 0 ? o.Outputs[0].FinishReason ?? FinishReasons.Abort : FinishReasons.Abort;
            double e2e = o.Timings.FinishSeconds ?? (DateTimeOffset.UtcNow - o.Timings.Arrival).TotalSeconds;
            metrics.ObserveFinished(model.Name, reason, e2e, o.Usage.PromptTokens, o.Usage.CompletionTokens);
            record.Finished = DateTimeOffset.UtcNow;
            record.FinishReason ??= reason;
        }
    }
}
