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
