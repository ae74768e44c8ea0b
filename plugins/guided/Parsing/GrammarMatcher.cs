using Modular.Abstractions;

namespace Modular.Plugins.Guided.Parsing;

/// <summary>A compiled constraint: the initial parser state within its vocabulary context.</summary>
public sealed class CompiledConstraint
{
    /// <summary>Creates a compiled constraint.</summary>
    public CompiledConstraint(VocabContext context, ParseState initial)
    {
        Context = context;
        Initial = initial;
    }

    /// <summary>Shared vocabulary context.</summary>
    public VocabContext Context { get; }
    /// <summary>Parser state before any output.</summary>
    public ParseState Initial { get; }

    /// <summary>A fresh matcher.</summary>
    public GrammarMatcher CreateMatcher() => new(Context, new Cursor(Initial, Initial.StartUnion, 0, true));
}

/// <summary>Per-sequence matcher: advances token by token and fills allowed-token masks.</summary>
public sealed class GrammarMatcher : IGrammarMatcher
{
    private readonly VocabContext _context;
    private Cursor _cursor;
    private bool _ended;

    internal GrammarMatcher(VocabContext context, Cursor start)
    {
        _context = context;
        _cursor = start;
    }

    /// <inheritdoc />
    public void FillMask(Span<ulong> bitmask)
    {
        if (_ended) { bitmask.Clear(); return; }
        var words = _context.MaskWords;
        if (bitmask.Length < words) throw new ArgumentException($"bitmask has {bitmask.Length} words; the vocabulary needs {words}", nameof(bitmask));
        _context.FillMask(_cursor, bitmask[..words]);
        bitmask[words..].Clear();
    }

    /// <summary>
    /// Tokens of slack kept beyond the shortest completion before the mask narrows. With exact distances no slack is
    /// needed once narrowed (every allowed token shortens the completion by its length); the slack absorbs the one
    /// token before that, which may open something long (an object with many required members) at the budget's edge.
    /// </summary>
    public const int BudgetMargin = 8;

    /// <summary>
    /// Budget-aware mask. While <paramref name="remainingTokens"/> exceeds the shortest completion (in bytes, an
    /// upper bound on tokens since every byte has a token of its own in a byte-level vocabulary) plus one token for
    /// EOS plus <see cref="BudgetMargin"/>, the mask is exactly <see cref="FillMask(Span{ulong})"/>'s. From there on
    /// only tokens made entirely of bytes on a shortest completion stay allowed, and EOS alone once the output is
    /// complete, so a budget of at least the shortest completion plus one always ends in a complete output. A
    /// smaller budget is not refused: the mask still heads for the nearest completion and the request ends
    /// "length" if the budget runs out first (as it would without this), since multi-byte tokens often make it.
    /// </summary>
    public void FillMask(Span<ulong> bitmask, int remainingTokens)
    {
        FillMask(bitmask);
        if (_ended || remainingTokens > MaxNarrowingBudget) return;
        int d = _context.Distance(_cursor);
        if (d == VocabContext.UnknownDistance || (long)d + 1 + BudgetMargin < remainingTokens) return;
        _context.RestrictToShortest(_cursor, bitmask[.._context.MaskWords]);
    }

    /// <summary>Budgets above this are treated as unlimited (no distance search at all): no context is this long.</summary>
    private const int MaxNarrowingBudget = 1 << 24;

    /// <summary>Fewest bytes still needed for a complete output (0 when complete), or <see cref="VocabContext.UnknownDistance"/>.</summary>
    public int DistanceToComplete => _ended ? 0 : _context.Distance(_cursor);

    /// <inheritdoc />
    public bool Accept(int tokenId)
    {
        if (_ended || tokenId < 0 || tokenId >= _context.Vocabulary.Count) return false;
        foreach (var e in _context.EosIds)
            if (e == tokenId)
            {
                if (!_context.IsComplete(_cursor)) return false;
                _ended = true;
                return true;
            }
        var bytes = _context.Trie.Bytes[tokenId];
        if (bytes is null) return false;
        var c = _cursor;
        foreach (var b in bytes)
            if (!_context.Step(ref c, b)) return false;
        _cursor = c;
        return true;
    }

    /// <summary>Feeds raw bytes (tests, forced text); false and unchanged when they leave the language.</summary>
    public bool AcceptBytes(ReadOnlySpan<byte> bytes)
    {
        var c = _cursor;
        foreach (var b in bytes)
            if (!_context.Step(ref c, b)) return false;
        _cursor = c;
        return true;
    }

    /// <summary>Current position (diagnostics).</summary>
    internal Cursor CurrentCursor => _cursor;

    /// <inheritdoc />
    public bool IsComplete => _ended || _context.IsComplete(_cursor);

    /// <inheritdoc />
    public bool IsTerminated => _ended || _context.IsTerminated(_cursor);
}
