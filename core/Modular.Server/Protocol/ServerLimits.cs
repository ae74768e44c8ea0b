namespace Modular.Server.Protocol;

/// <summary>
/// Upper bounds the server enforces on requests before they reach an engine. Every client-controlled size or count
/// has one; crossing it is a 400 (413 for the body, 431 for headers, 414 for the request line) whose OpenAI-shaped
/// error names the field. The <c>Default*</c> constants are the defaults <c>modular serve</c>'s flags start from.
/// </summary>
public sealed record ServerLimits
{
    /// <summary>Default of <see cref="MaxBodyBytes"/> (8 MiB).</summary>
    public const long DefaultMaxBodyBytes = 8L << 20;
    /// <summary>Default of <see cref="MaxN"/>.</summary>
    public const int DefaultMaxN = 32;
    /// <summary>Default of <see cref="MaxLogprobs"/> (vLLM's <c>--max-logprobs</c> default).</summary>
    public const int DefaultMaxLogprobs = 20;
    /// <summary>Default of <see cref="MaxStopStrings"/>.</summary>
    public const int DefaultMaxStopStrings = 64;
    /// <summary>Default of <see cref="MaxStopTokenIds"/>.</summary>
    public const int DefaultMaxStopTokenIds = 256;
    /// <summary>Default of <see cref="MaxBatchInputs"/>.</summary>
    public const int DefaultMaxBatchInputs = 256;
    /// <summary>Default of <see cref="MaxMessages"/>.</summary>
    public const int DefaultMaxMessages = 4096;
    /// <summary>Default of <see cref="MaxContentParts"/>.</summary>
    public const int DefaultMaxContentParts = 256;
    /// <summary>Default of <see cref="MaxTools"/>.</summary>
    public const int DefaultMaxTools = 128;
    /// <summary>Default of <see cref="MaxToolParametersBytes"/> (64 KiB).</summary>
    public const int DefaultMaxToolParametersBytes = 64 << 10;
    /// <summary>Default of <see cref="MaxLogitBias"/>.</summary>
    public const int DefaultMaxLogitBias = 1024;
    /// <summary>Default of <see cref="MaxHeaderBytes"/> (Kestrel's own default, 32 KiB).</summary>
    public const int DefaultMaxHeaderBytes = 32 << 10;
    /// <summary>Default of <see cref="MaxHeaderCount"/> (Kestrel's own default).</summary>
    public const int DefaultMaxHeaderCount = 100;
    /// <summary>Default of <see cref="MaxRequestLineBytes"/> (Kestrel's own default, 8 KiB).</summary>
    public const int DefaultMaxRequestLineBytes = 8 << 10;

    /// <summary>Largest request body in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = DefaultMaxBodyBytes;
    /// <summary>Largest <c>n</c> (and <c>best_of</c>).</summary>
    public int MaxN { get; init; } = DefaultMaxN;
    /// <summary>Largest <c>logprobs</c> / <c>top_logprobs</c> / <c>prompt_logprobs</c>.</summary>
    public int MaxLogprobs { get; init; } = DefaultMaxLogprobs;
    /// <summary>Most stop strings in one request.</summary>
    public int MaxStopStrings { get; init; } = DefaultMaxStopStrings;
    /// <summary>Most entries of <c>stop_token_ids</c>.</summary>
    public int MaxStopTokenIds { get; init; } = DefaultMaxStopTokenIds;
    /// <summary>Most prompts (or embedding inputs) in one request.</summary>
    public int MaxBatchInputs { get; init; } = DefaultMaxBatchInputs;
    /// <summary>Most chat messages in one request.</summary>
    public int MaxMessages { get; init; } = DefaultMaxMessages;
    /// <summary>Most content parts in one chat message's <c>content</c> array.</summary>
    public int MaxContentParts { get; init; } = DefaultMaxContentParts;
    /// <summary>Most entries of <c>tools</c>.</summary>
    public int MaxTools { get; init; } = DefaultMaxTools;
    /// <summary>Largest JSON Schema of one tool's <c>function.parameters</c>, in UTF-8 bytes as sent.</summary>
    public int MaxToolParametersBytes { get; init; } = DefaultMaxToolParametersBytes;
    /// <summary>Most entries of <c>logit_bias</c> (it is also bounded by the vocabulary, whose ids are its keys).</summary>
    public int MaxLogitBias { get; init; } = DefaultMaxLogitBias;
    /// <summary>
    /// Largest total size of the request headers in bytes (each counted as name, value and 4 bytes of separators).
    /// Beyond it the answer is an OpenAI-shaped 431. Kestrel's own hard limit sits above it (see
    /// <see cref="KestrelHardLimit"/>); a request beyond that still gets Kestrel's empty 431.
    /// </summary>
    public int MaxHeaderBytes { get; init; } = DefaultMaxHeaderBytes;
    /// <summary>Most request header lines (431 beyond).</summary>
    public int MaxHeaderCount { get; init; } = DefaultMaxHeaderCount;
    /// <summary>Largest request line (method, target and version) in bytes (414 beyond).</summary>
    public int MaxRequestLineBytes { get; init; } = DefaultMaxRequestLineBytes;
    /// <summary>
    /// Accept a per-request <c>chat_template</c> (vLLM's <c>--trust-request-chat-template</c>). Off by default: a
    /// client-supplied template is code the server runs, and a hostile one can spend seconds of CPU per request.
    /// </summary>
    public bool TrustRequestChatTemplate { get; init; }

    /// <summary>
    /// The limit given to Kestrel for a configured header/line limit: four times it, and at least 64 KiB more, so
    /// requests somewhat beyond the configured limit reach the server's middleware, which answers with a body
    /// naming the limit, while Kestrel still bounds what one connection may buffer.
    /// </summary>
    public static int KestrelHardLimit(int configured) => (int)Math.Min(int.MaxValue, Math.Max(4L * configured, configured + (64L << 10)));

    /// <summary>The first limit that is not positive, as "flag: message"; null when all are usable.</summary>
    public string? Validate()
    {
        (string Flag, long Value)[] all =
        [
            ("--max-request-bytes", MaxBodyBytes), ("--max-n", MaxN), ("--max-stop-strings", MaxStopStrings),
            ("--max-stop-token-ids", MaxStopTokenIds), ("--max-batch-inputs", MaxBatchInputs), ("--max-messages", MaxMessages),
            ("--max-content-parts", MaxContentParts), ("--max-tools", MaxTools), ("--max-tool-parameters-bytes", MaxToolParametersBytes),
            ("--max-logit-bias", MaxLogitBias), ("--max-header-bytes", MaxHeaderBytes), ("--max-header-count", MaxHeaderCount),
            ("--max-request-line-bytes", MaxRequestLineBytes),
        ];
        foreach (var (flag, value) in all)
            if (value < 1) return $"{flag}: must be at least 1, got {value}";
        if (MaxLogprobs < 0) return $"--max-logprobs: must not be negative, got {MaxLogprobs}";
        return null;
    }
}
