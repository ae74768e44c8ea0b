using System.Diagnostics;
using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>The engine's record of one request: its samples, prompt logprobs, counts and timings.</summary>
internal sealed class RequestState
{
    public RequestState(EngineRequest request, int[] promptIds, long arrivalOrder, IReadOnlyList<int> eosIds, int maxLength)
    {
        Request = request;
        PromptIds = promptIds;
        ArrivalOrder = arrivalOrder;
        EosIds = eosIds;
        MaxLength = maxLength;
        ArrivalTime = DateTimeOffset.UtcNow;
        ArrivalTicks = Stopwatch.GetTimestamp();
        if (request.Params.PromptLogprobs is not null) PromptLogprobs = new List<TokenLogprob?> { null };
    }

    public EngineRequest Request { get; }
    public string RequestId => Request.RequestId;
    public SamplingParams Params => Request.Params;
    public int Priority => Request.Priority;
    public long ArrivalOrder { get; }
    public int[] PromptIds { get; }
    /// <summary>EOS ids that end a sample (empty with ignore_eos).</summary>
    public IReadOnlyList<int> EosIds { get; }
    /// <summary>Most tokens (prompt + output) a sample may reach: max_model_len capped by what the pool can hold.</summary>
    public int MaxLength { get; }
    /// <summary>Samples created so far (1 until the prompt is computed, then n).</summary>
    public List<Sequence> Sequences { get; } = new();
    /// <summary>True until the first sample forks into n at the end of the prompt.</summary>
    public bool ForkPending => Sequences.Count < Params.N;
    /// <summary>Prompt logprobs gathered so far (index = prompt position), or null when not asked.</summary>
    public List<TokenLogprob?>? PromptLogprobs { get; }
    /// <summary>The finished prompt logprobs as sent in outputs.</summary>
    public TokenLogprob?[]? PromptLogprobsSnapshot { get; set; }
    public bool PromptLogprobsDone => PromptLogprobs is null || PromptLogprobs.Count >= PromptIds.Length;
    public int CachedPromptTokens { get; set; } = -1;
    public DateTimeOffset ArrivalTime { get; }
    public long ArrivalTicks { get; }
    public long FirstTokenTicks { get; set; }
    public long FinishTicks { get; set; }
    public string? Error { get; set; }
    /// <summary>Where outputs go (the engine front end's per-request channel).</summary>
    public Action<RequestOutput>? Sink { get; set; }

    /// <summary>Aborted or failed: no more samples will be forked.</summary>
    public bool Terminated { get; set; }

    public bool AllFinished
    {
        get
        {
            if (ForkPending && !Terminated) return false;
            foreach (var s in Sequences) if (!s.IsFinished) return false;
            return true;
        }
    }

    public static double Seconds(long fromTicks, long toTicks) => (toTicks - fromTicks) / (double)Stopwatch.Frequency;
}
