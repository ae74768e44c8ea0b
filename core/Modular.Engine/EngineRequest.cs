using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>One generation request as the engine receives it: a prompt (text or token ids) and its settings.</summary>
public sealed record EngineRequest
{
    /// <summary>Caller-chosen id, unique among live requests; outputs and <see cref="LLMEngine.Abort"/> use it.</summary>
    public required string RequestId { get; init; }
    /// <summary>Prompt text, tokenized with the model's tokenizer; ignored when <see cref="PromptTokenIds"/> is set.</summary>
    public string? Prompt { get; init; }
    /// <summary>Prompt as token ids (already tokenized, special tokens included as wanted).</summary>
    public IReadOnlyList<int>? PromptTokenIds { get; init; }
    /// <summary>Whether text prompts get the tokenizer's BOS/EOS framing (false for chat-templated text).</summary>
    public bool AddSpecialTokens { get; init; } = true;
    /// <summary>Sampling and stopping settings.</summary>
    public SamplingParams Params { get; init; } = new();
    /// <summary>Lower values are served first under the priority policy.</summary>
    public int Priority { get; init; }
    /// <summary>Requests with different salts never share prefix-cache blocks.</summary>
    public string? CacheSalt { get; init; }
    /// <summary>
    /// Creates the guided-decoding matcher of one sample (called once per sample); its mask constrains every
    /// step and each sampled token is fed to it. Null for unconstrained output.
    /// </summary>
    public Func<IGrammarMatcher>? GrammarFactory { get; init; }
}
