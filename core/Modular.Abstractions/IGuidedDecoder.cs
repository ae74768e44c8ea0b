namespace Modular.Abstractions;

/// <summary>Kinds of output constraints.</summary>
public enum GuidedKind
{
    /// <summary>A JSON Schema (text of the schema).</summary>
    JsonSchema,
    /// <summary>Any JSON object.</summary>
    JsonObject,
    /// <summary>A regular expression the whole output must match.</summary>
    Regex,
    /// <summary>One of a list of strings (JSON array text).</summary>
    Choice,
    /// <summary>A context-free grammar (GBNF / Lark-style EBNF).</summary>
    Grammar,
}

/// <summary>A constraint as the request states it.</summary>
/// <param name="Kind">Kind of constraint.</param>
/// <param name="Text">Schema, regex, grammar, or JSON array of choices.</param>
public sealed record GuidedSpec(GuidedKind Kind, string Text);

/// <summary>Thrown when a constraint cannot be compiled; the message names the keyword and its JSON path.</summary>
public sealed class GuidedSpecException(string message) : Exception(message);

/// <summary>The per-sequence state of a compiled constraint.</summary>
public interface IGrammarMatcher
{
    /// <summary>Sets bit i of <paramref name="bitmask"/> for every token i allowed next (others cleared).</summary>
    void FillMask(Span<ulong> bitmask);
    /// <summary>
    /// Budget-aware mask (contract 1.3). <paramref name="remainingTokens"/> is how many tokens the request may still
    /// sample, this one included: min(max_tokens - generated, max_model_len - sequence length). A matcher that knows
    /// the shortest completion of its language may narrow the mask as the budget runs out, so the output can still be
    /// completed (and ended with EOS) within it; with a budget that leaves room it must set exactly the bits of
    /// <see cref="FillMask(Span{ulong})"/>. The default ignores the budget (matchers written against contract 1.2).
    /// </summary>
    void FillMask(Span<ulong> bitmask, int remainingTokens) => FillMask(bitmask);
    /// <summary>Advances by a sampled token; false when the token is not allowed (state unchanged).</summary>
    bool Accept(int tokenId);
    /// <summary>True when the output so far is a complete sentence of the language.</summary>
    bool IsComplete { get; }
    /// <summary>True when nothing but EOS can follow.</summary>
    bool IsTerminated { get; }
}

/// <summary>Compiles constraints once (cached by text) and creates matchers from them.</summary>
public interface IGuidedDecoder
{
    /// <summary>Compiles <paramref name="spec"/> for <paramref name="vocabulary"/>; throws <see cref="GuidedSpecException"/>.</summary>
    IGrammarMatcher Create(GuidedSpec spec, ITokenVocabulary vocabulary);
}
