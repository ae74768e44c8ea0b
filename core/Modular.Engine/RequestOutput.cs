namespace Modular.Engine;

/// <summary>Log-probability of one token, with the most likely alternatives when they were asked for.</summary>
/// <param name="TokenId">The token.</param>
/// <param name="Logprob">Its log-probability under the model's raw distribution.</param>
/// <param name="Top">Most likely tokens at that position, best first, or null.</param>
public sealed record TokenLogprob(int TokenId, float Logprob, IReadOnlyList<(int TokenId, float Logprob)>? Top);

/// <summary>Finish reasons as the OpenAI API and vLLM spell them.</summary>
public static class FinishReasons
{
    /// <summary>EOS, a stop token or a stop string.</summary>
    public const string Stop = "stop";
    /// <summary>max_tokens or the model's context length.</summary>
    public const string Length = "length";
    /// <summary>Aborted by the caller.</summary>
    public const string Abort = "abort";
    /// <summary>Failed inside the engine.</summary>
    public const string Error = "error";
}

/// <summary>The state of one sample (completion) of a request after a step.</summary>
public sealed record CompletionOutput
{
    /// <summary>Sample index in [0, n).</summary>
    public required int Index { get; init; }
    /// <summary>Text generated so far (stop strings withheld).</summary>
    public required string Text { get; init; }
    /// <summary>Text added by this step.</summary>
    public required string TextDelta { get; init; }
    /// <summary>All generated token ids so far (a final EOS or stop token included).</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }
    /// <summary>Number of ids at the end of <see cref="TokenIds"/> that this step added.</summary>
    public int NewTokenCount { get; init; }
    /// <summary>Per-token log-probabilities when <c>logprobs</c> was asked for, else null.</summary>
    public IReadOnlyList<TokenLogprob>? Logprobs { get; init; }
    /// <summary>Sum of the generated tokens' log-probabilities.</summary>
    public double CumulativeLogprob { get; init; }
    /// <summary>"stop", "length", "abort" or "error"; null while generating.</summary>
    public string? FinishReason { get; init; }
    /// <summary>The stop string that ended the sample, if any.</summary>
    public string? StopString { get; init; }
    /// <summary>The stop token id (from stop_token_ids) that ended the sample, if any (EOS gives null, as in vLLM).</summary>
    public int? StopTokenId { get; init; }
    /// <summary>True once <see cref="FinishReason"/> is set.</summary>
    public bool Finished => FinishReason is not null;
}

/// <summary>Token counts of a request.</summary>
/// <param name="PromptTokens">Prompt length.</param>
/// <param name="CompletionTokens">Generated tokens over all samples.</param>
/// <param name="CachedPromptTokens">Prompt tokens found in the prefix cache at first admission.</param>
public sealed record RequestUsage(int PromptTokens, int CompletionTokens, int CachedPromptTokens)
{
    /// <summary>Prompt plus completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>Latency facts of a request, in seconds from arrival.</summary>
/// <param name="Arrival">Wall-clock arrival time.</param>
/// <param name="FirstTokenSeconds">Time to the first generated token (TTFT), or null before it.</param>
/// <param name="FinishSeconds">End-to-end latency, or null while running.</param>
/// <param name="MeanInterTokenSeconds">Mean gap between consecutive tokens of sample 0 (ITL), or null.</param>
public sealed record RequestTimings(DateTimeOffset Arrival, double? FirstTokenSeconds, double? FinishSeconds, double? MeanInterTokenSeconds);

/// <summary>One update of a request: emitted after each step that advanced it, the last one with Finished set.</summary>
public sealed record RequestOutput
{
    /// <summary>The request's id.</summary>
    public required string RequestId { get; init; }
    /// <summary>Prompt token ids.</summary>
    public required IReadOnlyList<int> PromptTokenIds { get; init; }
    /// <summary>Log-probabilities of prompt tokens (entry 0 is null: nothing precedes it) when asked for.</summary>
    public IReadOnlyList<TokenLogprob?>? PromptLogprobs { get; init; }
    /// <summary>Every sample's state, by index.</summary>
    public required IReadOnlyList<CompletionOutput> Outputs { get; init; }
    /// <summary>True on the last output of the request.</summary>
    public required bool Finished { get; init; }
    /// <summary>Token counts.</summary>
    public required RequestUsage Usage { get; init; }
    /// <summary>Latencies.</summary>
    public required RequestTimings Timings { get; init; }
    /// <summary>Why the request failed (finish reason "error"), or null.</summary>
    public string? Error { get; init; }
}

/// <summary>Thrown by AddRequest for a request that can never run; the message names the field and limit.</summary>
public sealed class EngineRequestException(string message) : Exception(message);
