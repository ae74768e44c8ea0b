namespace Modular.Abstractions;

/// <summary>One generated token with its log-probability and optional top alternatives.</summary>
/// <param name="TokenId">The chosen token.</param>
/// <param name="Logprob">Its log-probability under the model's distribution (before sampling transforms).</param>
/// <param name="Top">The top alternatives, most likely first, or null when not asked.</param>
public sealed record SampledToken(int TokenId, float Logprob, IReadOnlyList<(int TokenId, float Logprob)>? Top);

/// <summary>What the sampler needs to know about one sequence of the batch.</summary>
public sealed class SamplingSequence
{
    /// <summary>The request's settings.</summary>
    public required SamplingParams Params { get; init; }
    /// <summary>Prompt ids (for repetition penalty).</summary>
    public required IReadOnlyList<int> PromptIds { get; init; }
    /// <summary>Ids generated so far by this sequence (for penalties, min_tokens).</summary>
    public required IReadOnlyList<int> OutputIds { get; init; }
    /// <summary>
    /// Deterministic random stream of this sequence: derived from the request seed and sample index, advanced only
    /// by this sequence's own steps, so results do not depend on batch composition.
    /// </summary>
    public required Random Rng { get; init; }
    /// <summary>Allowed-token bitmask from guided decoding (bit i of word i/64), or null for no constraint.</summary>
    public ulong[]? AllowedMask { get; set; }
    /// <summary>EOS ids to suppress while fewer than MinTokens are generated.</summary>
    public IReadOnlyList<int> EosIds { get; init; } = Array.Empty<int>();
}

/// <summary>
/// Turns a batch of logits rows into tokens: applies logit bias, penalties, masks, temperature, top-k, top-p,
/// min-p, then samples (or takes the argmax), reporting log-probabilities of the unmodified distribution.
/// </summary>
public interface ISampler
{
    /// <summary>
    /// Samples one token per row. <paramref name="logits"/> is [rows, vocab] and may be modified in place.
    /// </summary>
    void Sample(Span<float> logits, int vocabSize, IReadOnlyList<SamplingSequence> sequences, Span<SampledToken> results);
}
