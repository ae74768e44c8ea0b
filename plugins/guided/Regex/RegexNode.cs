namespace Modular.Plugins.Guided.Regex;

/// <summary>Abstract syntax of the regular subset the guided decoder supports (no backreferences, no lookaround).</summary>
public abstract record RegexNode
{
    /// <summary>The empty string.</summary>
    public static readonly RegexNode Empty = new RegexConcat([]);
}

/// <summary>One code point from a set.</summary>
public sealed record RegexChars(CharSet Set) : RegexNode;

/// <summary>Concatenation.</summary>
public sealed record RegexConcat(IReadOnlyList<RegexNode> Items) : RegexNode;

/// <summary>Alternation.</summary>
public sealed record RegexAlt(IReadOnlyList<RegexNode> Items) : RegexNode;

/// <summary>Bounded or unbounded repetition; <paramref name="Max"/> is -1 for unbounded.</summary>
public sealed record RegexRepeat(RegexNode Item, int Min, int Max) : RegexNode;

/// <summary>^ or $ as written; only allowed at the edges of the pattern.</summary>
public sealed record RegexAnchor(bool Start) : RegexNode;
