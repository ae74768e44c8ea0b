using Modular.Abstractions;
using Modular.Sampling;

namespace Modular.Engine;

/// <summary>
/// Beam search the way vLLM's offline <c>LLM.beam_search</c> runs it: every step submits each live beam (prompt +
/// its tokens) as a greedy one-token request asking for the top 2·width logprobs, ranks all continuations with
/// <see cref="BeamSearch"/>, and keeps the best width. Finished (EOS) hypotheses are pooled with the live ones at the
/// end and the best width are returned, best first. Prefix caching keeps the shared history from being recomputed.
/// </summary>
internal sealed class BeamSearchDriver(LLMEngine engine, EngineRequest request)
{
    private sealed record Beam(int[] Tokens, float CumLogprob, TokenLogprob[] Logprobs);

    public async Task<RequestOutput> RunAsync(CancellationToken ct)
    {
        var core = engine.Core;
        var p = request.Params;
        var prompt = (int[])request.PromptTokenIds!;
        int width = p.BestOf ?? p.N;
        int vocab = core.Config.VocabSize;
        IReadOnlyList<int> eos = p.IgnoreEos ? Array.Empty<int>() : core.Config.EosTokenIds;
        var search = new BeamSearch(width, p.LengthPenalty, eos);
        int maxTokens = Math.Min(p.MaxTokens ?? int.MaxValue, core.MaxModelLen - prompt.Length);
        var arrival = DateTimeOffset.UtcNow;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        double? firstToken = null;

        var live = new List<Beam> { new([], 0f, []) };
        var finished = new List<Beam>();
        var step = new SamplingParams { Temperature = 0, MaxTokens = 1, Logprobs = 2 * width, IgnoreEos = true };
        for (int t = 0; t < maxTokens && live.Count > 0; t++)
        {
            var pending = new Task<RequestOutput>[live.Count];
            for (int b = 0; b < live.Count; b++)
            {
                var sub = new EngineRequest
                {
                    RequestId = engine.NewInternalId(request.RequestId + "#beam"),
                    PromptTokenIds = [.. prompt, .. live[b].Tokens],
                    Params = step, Priority = request.Priority, CacheSalt = request.CacheSalt,
                };
                pending[b] = engine.GenerateFinalAsync(sub, ct);
            }
            var results = await Task.WhenAll(pending).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            firstToken ??= System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;

            var cum = new float[live.Count];
            var lengths = new int[live.Count];
            var rows = new float[live.Count * vocab];
            Array.Fill(rows, float.NegativeInfinity);
            for (int b = 0; b < live.Count; b++)
            {
                if (results[b].Error is string error) throw new InvalidOperationException(error);
                cum[b] = live[b].CumLogprob;
                lengths[b] = prompt.Length + live[b].Tokens.Length;
                // Only the top 2·width tokens can be chosen, so a row holding just those ranks exactly as the full one.
                foreach (var (id, lp) in results[b].Outputs[0].Logprobs![0].Top!) rows[b * vocab + id] = lp;
            }
            var next = search.Step(cum, lengths, rows, vocab);
            foreach (var c in next.Finished) finished.Add(Extend(live[c.BeamIndex], c, rows, vocab));
            var nextLive = new List<Beam>(next.Live.Count);
            foreach (var c in next.Live) nextLive.Add(Extend(live[c.BeamIndex], c, rows, vocab));
            live = nextLive;
        }

        var pool = new List<Beam>(finished);
        pool.AddRange(live);
        var cums = new float[pool.Count];
        var lens = new int[pool.Count];
        var endsEos = new bool[pool.Count];
        for (int i = 0; i < pool.Count; i++)
        {
            cums[i] = pool[i].CumLogprob;
            lens[i] = prompt.Length + pool[i].Tokens.Length;
            endsEos[i] = pool[i].Tokens.Length > 0 && eos.Contains(pool[i].Tokens[^1]);
        }
        var best = search.SelectBest(cums, lens, endsEos);
        var outputs = new CompletionOutput[best.Length];
        int completion = 0;
        for (int i = 0; i < best.Length; i++)
        {
            var beam = pool[best[i]];
            string text = core.Tokenizer?.Decode(beam.Tokens, p.SkipSpecialTokens) ?? "";
            outputs[i] = new CompletionOutput
            {
                Index = i, Text = text, TextDelta = text, TokenIds = beam.Tokens, NewTokenCount = beam.Tokens.Length,
                Logprobs = p.Logprobs is null ? null : beam.Logprobs, CumulativeLogprob = beam.CumLogprob,
                FinishReason = endsEos[best[i]] ? FinishReasons.Stop : FinishReasons.Length,
            };
            completion += beam.Tokens.Length;
        }
        double total = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        return new RequestOutput
        {
            RequestId = request.RequestId, PromptTokenIds = prompt, Outputs = outputs, Finished = true,
            Usage = new RequestUsage(prompt.Length, completion, 0),
            Timings = new RequestTimings(arrival, firstToken, total, null),
        };
    }

    private static Beam Extend(Beam parent, BeamCandidate c, float[] rows, int vocab)
    {
        float lp = rows[c.BeamIndex * vocab + c.TokenId];
        return new Beam([.. parent.Tokens, c.TokenId], c.CumLogprob, [.. parent.Logprobs, new TokenLogprob(c.TokenId, lp, null)]);
    }

    /// <summary>The final output of a beam search that was aborted or failed.</summary>
    public static RequestOutput Failed(EngineRequest request, string reason, string? error) => new()
    {
        RequestId = request.RequestId,
        PromptTokenIds = request.PromptTokenIds ?? Array.Empty<int>(),
        Outputs = [new CompletionOutput { Index = 0, Text = "", TextDelta = "", TokenIds = Array.Empty<int>(), FinishReason = reason }],
        Finished = true,
        Usage = new RequestUsage(request.PromptTokenIds?.Count ?? 0, 0, 0),
        Timings = new RequestTimings(DateTimeOffset.UtcNow, null, null, null),
        Error = error,
    };
}
