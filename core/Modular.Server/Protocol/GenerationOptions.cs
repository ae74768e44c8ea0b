using Modular.Abstractions;

namespace Modular.Server.Protocol;

/// <summary>What the chat and completions requests share: sampling settings plus the serving options around them.</summary>
internal sealed record GenerationOptions
{
    public required SamplingParams Sampling { get; init; }
    /// <summary>True when max_tokens was left unset (it then defaults to the remaining context).</summary>
    public bool MaxTokensDefaulted { get; init; }
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public bool ContinuousUsage { get; init; }
    public int Priority { get; init; }
    public string? CacheSalt { get; init; }
    public string? User { get; init; }
}
