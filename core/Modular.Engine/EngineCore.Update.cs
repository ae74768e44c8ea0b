using System.Diagnostics;
using Modular.Abstractions;
using Modular.Sampling;

namespace Modular.Engine;

public sealed partial class EngineCore
{
    private void SampleAndUpdate(int vocab)
    {
        int rows = _toSample.Count;
        if (rows == 0) return;
        if (_sampleRows.Length < rows * vocab) _sampleRows = new float[rows * vocab];
        if (_sampled.Length < rows) _sampled = new SampledToken[rows * 2];
        _samplingInputs.Clear();
        _sampledSeqs.Clear();
        int n = 0;
        for (int r = 0; r < rows; r++)
        {
            var (seq, row) = _toSample[r];
            var input = SamplingInputOf(seq, vocab);
            if (input.AllowedMask is { } mask && !AnyAllowed(mask, vocab))
            {
                // A constraint with no way forward fails its own request; the rest of the batch samples on.
                if (!seq.Request.Terminated)
                    Terminate(seq.Request, FinishReasons.Error, "guided decoding: the constraint allows no token after the output so far");
                continue;
            }
            _logits.AsSpan(row * vocab, vocab).CopyTo(_sampleRows.AsSpan(n * vocab, vocab));
            _samplingInputs.Add(input);
            _sampledSeqs.Add(seq);
            n++;
        }
        if (n == 0) return;
        _sampler.Sample(_sampleRows.AsSpan(0, n * vocab), vocab, _samplingInputs, _sampled);

        long now = Stopwatch.GetTimestamp();
        for (int r = 0; r < n; r++)
            if (!_sampledSeqs[r].Request.Terminated) Update(_sampledSeqs[r], _sampled[r], now);
    }

    private static bool AnyAllowed(ulong[] mask, int vocab)
    {
        int words = Math.Min(mask.Length, (vocab + 63) / 64);
        for (int i = 0; i < words; i++)
        {
            ulong w = mask[i];
            if (i == words - 1 && vocab % 64 != 0) w &= (1UL << (vocab % 64)) - 1;
            if (w != 0) return true;
        }
        return false;
    }

    // Rows whose token the device chose: the ids are in _deviceIds in logit-row order. No logprob was computed,
    // and none was asked for (see DeviceSamplingFor). -1 marks a row with no finite logit: that request fails alone.
    private void UpdateFromDeviceIds()
    {
        long now = Stopwatch.GetTimestamp();
        foreach (var (seq, row) in _toSample)
        {
            if (seq.Request.Terminated) continue;
            int id = _deviceIds[row];
            if (id < 0) Terminate(seq.Request, FinishReasons.Error, "sampling: the model produced no finite logit for this sequence (NaN or infinity)");
            else Update(seq, new SampledToken(id, 0f, null), now);
        }
    }

    private SamplingSequence SamplingInputOf(Sequence seq, int vocab)
    {
        var input = seq.SamplingInput ??= new SamplingSequence
        {
            Params = seq.Request.Params, PromptIds = seq.Request.PromptIds, OutputIds = seq.OutputIds, Rng = seq.Rng,
            EosIds = seq.Request.EosIds,
        };
        if (seq.Grammar is { } g)
        {
            seq.Mask ??= new ulong[(vocab + 63) / 64];
            // Tokens still allowed, this one included (the same limits Update applies after sampling).
            int remaining = seq.Request.MaxLength - seq.Length;
            if (seq.Request.Params.MaxTokens is int max) remaining = Math.Min(remaining, max - seq.OutputLength);
            g.FillMask(seq.Mask, remaining);
            input.AllowedMask = seq.Mask;
        }
        return input;
    }

    // Appends the sampled token, then applies vLLM's stop rules in its order: EOS, stop token ids, stop strings
    // (none of them before min_tokens), then max_tokens and the context limit.
    private void Update(Sequence seq, SampledToken t, long now)
    {
        var state = seq.Request;
        var p = state.Params;
        int token = t.TokenId;
        seq.Append(token);
        seq.CumulativeLogprob += t.Logprob;
        seq.Logprobs?.Add(new TokenLogprob(token, t.Logprob, t.Top));
        _touched.Add(state);

        if (seq.OutputLength == 1)
        {
            if (state.FirstTokenTicks == 0)
            {
                state.FirstTokenTicks = now;
                Metrics.ObserveFirstToken(RequestState.Seconds(state.ArrivalTicks, now));
            }
        }
        else Metrics.ObserveInterToken(RequestState.Seconds(seq.LastTokenTicks, now));
        seq.LastTokenTicks = now;

        bool checkStops = seq.OutputLength >= p.MinTokens;
        if (seq.Grammar is { } g && !(Contains(state.EosIds, token) && g.IsComplete) && !g.Accept(token))
        {
            state.Error = $"guided decoding: the grammar rejected sampled token {token}";
            Finish(seq, FinishReasons.Error);
            return;
        }
        if (checkStops && Contains(state.EosIds, token))
        {
            Finish(seq, FinishReasons.Stop);
            return;
        }
        if (checkStops && Contains(p.StopTokenIds, token))
        {
            seq.StopTokenId = token;
            Finish(seq, FinishReasons.Stop);
            return;
        }
        if (seq.Detokenizer is { } detok)
        {
            string? stop = seq.Stops.Append(detok.Add(token), checkStops);
            if (stop is not null)
            {
                seq.StopString = stop;
                Finish(seq, FinishReasons.Stop, flush: false);
                return;
            }
        }
        if ((p.MaxTokens is int max && seq.OutputLength >= max) || seq.Length >= state.MaxLength)
            Finish(seq, FinishReasons.Length);
    }

    private void Finish(Sequence seq, string reason, bool flush = true)
    {
        if (flush && seq.Detokenizer is { } detok)
        {
            seq.Stops.Append(detok.Flush(), checkStops: false);
            seq.Stops.Flush();
        }
        seq.FinishReason = reason;
        Scheduler.Remove(seq);
        if (seq.Request.AllFinished) seq.Request.FinishTicks = Stopwatch.GetTimestamp();
    }

    private static bool Contains(IReadOnlyList<int> ids, int token)
    {
        for (int i = 0; i < ids.Count; i++) if (ids[i] == token) return true;
        return false;
    }

    private void RecordPromptLogprobs(ScheduledSequence s, int firstRow)
    {
        var seq = s.Sequence;
        var list = seq.Request.PromptLogprobs!;
        int top = seq.Request.Params.PromptLogprobs ?? 0;
        int vocab = Config.VocabSize;
        Span<int> ids = top <= 256 ? stackalloc int[top] : new int[top];
        Span<float> lps = top <= 256 ? stackalloc float[top] : new float[top];
        var prompt = seq.Tokens;
        for (int k = 0; k < s.NumNewTokens; k++)
        {
            int target = s.Start + k + 1;
            if (target >= seq.PromptLength) break;
            if (target < list.Count) continue; // recomputed after a preemption: already recorded
            var row = _logits.AsSpan((firstRow + k) * vocab, vocab);
            float lp = Logprobs.LogProbOf(row, prompt[target]);
            (int, float)[]? alternatives = null;
            if (top > 0)
            {
                int n = Logprobs.TopLogprobs(row, top, ids, lps);
                alternatives = new (int, float)[n];
                for (int j = 0; j < n; j++) alternatives[j] = (ids[j], lps[j]);
            }
            list.Add(new TokenLogprob(prompt[target], lp, alternatives));
        }
    }

    // Sends the request's current state to its sink; retires it when every sample is done.
    private void Emit(RequestState state)
    {
        bool finished = state.AllFinished;
        var outputs = new CompletionOutput[state.Sequences.Count];
        int completion = 0;
        for (int i = 0; i < outputs.Length; i++)
        {
            var seq = state.Sequences[i];
            string text = seq.Stops.Released;
            outputs[i] = new CompletionOutput
            {
                Index = seq.SampleIndex,
                Text = text,
                TextDelta = text[seq.EmittedTextLength..],
                TokenIds = seq.OutputSnapshot(),
                NewTokenCount = seq.OutputLength - seq.EmittedTokenCount,
                Logprobs = seq.Logprobs?.ToArray(),
                CumulativeLogprob = seq.CumulativeLogprob,
                FinishReason = seq.FinishReason,
                StopString = seq.StopString,
                StopTokenId = seq.StopTokenId,
            };
            seq.EmittedTextLength = text.Length;
            seq.EmittedTokenCount = seq.OutputLength;
            completion += seq.OutputLength;
        }
        long now = Stopwatch.GetTimestamp();
        if (finished)
        {
            _requests.Remove(state.RequestId);
            if (state.FinishTicks == 0) state.FinishTicks = now;
            string reason = state.Error is not null ? FinishReasons.Error : state.Sequences.Count > 0 ? state.Sequences[0].FinishReason ?? FinishReasons.Stop : FinishReasons.Abort;
            Metrics.ObserveFinished(RequestState.Seconds(state.ArrivalTicks, state.FinishTicks), reason);
        }
        var first = state.Sequences.Count > 0 ? state.Sequences[0] : null;
        double? itl = first is { OutputLength: > 1 } && state.FirstTokenTicks != 0
            ? RequestState.Seconds(state.FirstTokenTicks, first.LastTokenTicks) / (first.OutputLength - 1) : null;
        var output = new RequestOutput
        {
            RequestId = state.RequestId,
            PromptTokenIds = state.PromptIds,
            PromptLogprobs = state.PromptLogprobsDone ? state.PromptLogprobsSnapshot ??= state.PromptLogprobs?.ToArray() : null,
            Outputs = outputs,
            Finished = finished,
            Usage = new RequestUsage(state.PromptIds.Length, completion, Math.Max(0, state.CachedPromptTokens)),
            Timings = new RequestTimings(state.ArrivalTime,
                state.FirstTokenTicks == 0 ? null : RequestState.Seconds(state.ArrivalTicks, state.FirstTokenTicks),
                finished ? RequestState.Seconds(state.ArrivalTicks, state.FinishTicks) : null, itl),
            Error = state.Error,
        };
        state.Sink?.Invoke(output);
    }
}
