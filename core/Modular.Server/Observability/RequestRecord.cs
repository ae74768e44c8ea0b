using System.Diagnostics;

namespace Modular.Server.Observability;

/// <summary>
/// What one HTTP request did, filled in as it runs: the request log line, the trace spans and the latency
/// histograms all read it.
/// </summary>
public sealed class RequestRecord(string requestId)
{
    /// <summary>The x-request-id (echoed or generated).</summary>
    public string RequestId { get; } = requestId;
    /// <summary>Served model name, once known.</summary>
    public string? Model { get; set; }
    /// <summary>When the HTTP request arrived.</summary>
    public DateTimeOffset HttpArrival { get; } = DateTimeOffset.UtcNow;
    /// <summary>Stopwatch timestamp of the arrival.</summary>
    public long StartTicks { get; } = Stopwatch.GetTimestamp();
    /// <summary>When the engine accepted the (first) prompt.</summary>
    public DateTimeOffset? EngineArrival { get; set; }
    /// <summary>When the first token was generated.</summary>
    public DateTimeOffset? FirstToken { get; set; }
    /// <summary>When the last prompt finished.</summary>
    public DateTimeOffset? Finished { get; set; }
    /// <summary>Prompt tokens over all prompts.</summary>
    public int PromptTokens { get; set; }
    /// <summary>Generated tokens over all samples.</summary>
    public int CompletionTokens { get; set; }
    /// <summary>Prompt tokens served from the prefix cache.</summary>
    public int CachedTokens { get; set; }
    /// <summary>Finish reason of the first choice.</summary>
    public string? FinishReason { get; set; }
    /// <summary>True for streamed responses.</summary>
    public bool Stream { get; set; }
    /// <summary>The error message sent, if any.</summary>
    public string? Error { get; set; }

    /// <summary>Seconds from HTTP arrival to the first token, or null.</summary>
    public double? TimeToFirstTokenSeconds => FirstToken is { } f ? (f - HttpArrival).TotalSeconds : null;
}
