namespace Modular.Server.Protocol;

/// <summary>Upper bounds the server enforces on requests before they reach an engine.</summary>
public sealed record ServerLimits
{
    /// <summary>Largest request body in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 8L << 20;
    /// <summary>Largest <c>n</c> (and <c>best_of</c>).</summary>
    public int MaxN { get; init; } = 32;
    /// <summary>Largest <c>logprobs</c> / <c>top_logprobs</c> / <c>prompt_logprobs</c>.</summary>
    public int MaxLogprobs { get; init; } = 20;
    /// <summary>Most stop strings in one request.</summary>
    public int MaxStopStrings { get; init; } = 64;
    /// <summary>Most prompts (or embedding inputs) in one request.</summary>
    public int MaxBatchInputs { get; init; } = 256;
    /// <summary>Most chat messages in one request.</summary>
    public int MaxMessages { get; init; } = 4096;
    /// <summary>
    /// Accept a per-request <c>chat_template</c> (vLLM's <c>--trust-request-chat-template</c>). Off by default: a
    /// client-supplied template is code the server runs, and a hostile one can spend seconds of CPU per request.
    /// </summary>
    public bool TrustRequestChatTemplate { get; init; }
}
