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
    /// Tokens of slack kept beyond the shortest completion before the mask narrows. Once narrowed no slack is needed
    /// (every allowed token shortens the completion by its length); the slack absorbs the token before that, which
    /// may open something long (an object with many required members) at the budget's edge.
    /// </summary>
    public const int BudgetMargin = 16;

    /// <summary>
    /// Budgets above this never narrow, so no search runs for them: a completion the search finds is shorter than its
    /// node cap (each byte of it is a node), so it cannot come within EOS plus the margin of a larger budget. Requests
    /// without a tight max_tokens (the budget is then the context left) pay nothing for budget awareness.
    /// </summary>
    private const int MaxNarrowingBudget = VocabContext.MaxSearchNodes + 1 + BudgetMargin;

    // The completion being followed since the mask narrowed (what is left of it), so that a later search that finds
    // a longer one (it stops at a node cap) can never undo progress. Narrowing, once begun, stays: released after a
    // long token took the completion well under the budget, the model could open something longer again (bard-2m
    // did: a second key of ten bytes where the completion had five left) and run out after all.
    private byte[]? _plan;
    private ulong[]? _along;
    private int _planAt;
    private bool _narrowing;

    /// <summary>
    /// Budget-aware mask. While <paramref name="remainingTokens"/> exceeds the shortest completion (in bytes, an
    /// upper bound on tokens: a byte-level vocabulary has a token for every byte) plus one token for EOS plus
    /// <see cref="BudgetMargin"/>, the mask is exactly <see cref="FillMask(Span{ulong})"/>'s. From there on only
    /// tokens that spell a prefix of that completion (or of a shorter one found later) stay allowed, to the end of the
    /// output, and EOS alone once the output is complete, so a
    /// budget of the shortest completion plus one always ends in a complete output. A smaller budget is not refused:
    /// the mask still heads for the completion and the request ends "length" if the budget runs out first (as it
    /// would without this), since multi-byte tokens often make it in time. When the search gives up (its node cap)
    /// the mask is left as it is.
    /// </summary>
    public void FillMask(Span<ulong> bitmask, int remainingTokens)
    {
        FillMask(bitmask);
        if (_ended || (!_narrowing && remainingTokens > MaxNarrowingBudget)) return;
        var found = _context.Completion(_cursor);
        bool keepPlan = _plan is { } plan && (found is null || plan.Length - _planAt < found.Length);
        if (!keepPlan && found is null) return;
        ReadOnlySpan<byte> completion = keepPlan ? _plan.AsSpan(_planAt) : found;
        if (!_narrowing && (long)completion.Length + 1 + BudgetMargin < remainingTokens) return;
        int words = _context.MaskWords;
        var along = _along ??= new ulong[words];  // reused: narrowing runs every step to the end of the output
        _context.TokensAlong(completion, along);
        bool any = false;
        for (int i = 0; i < words; i++) any |= (bitmask[i] & along[i]) != 0;
        if (!any) return; // cannot happen (the completion's first byte is a token); keep the exact mask
        for (int i = 0; i < words; i++) bitmask[i] &= along[i];
        // Memoized completions are never written, so the found one is followed in place rather than copied.
        if (!keepPlan) (_plan, _planAt) = (found, 0);
        _narrowing = true;
    }

    /// <summary>Fewest bytes still needed for a complete output that the search found (0 when complete), or <see cref="VocabContext.UnknownDistance"/>.</summary>
    public int DistanceToComplete => _ended ? 0 : _context.Distance(_cursor);

    private void Followed(ReadOnlySpan<byte> bytes)
    {
        if (_plan is not { } plan) return;
        if (plan.AsSpan(_planAt).StartsWith(bytes)) _planAt += bytes.Length;
        else _plan = null;
    }

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
        Followed(bytes);
        return true;
    }

    /// <summary>Feeds raw bytes (tests, forced text); false and unchanged when they leave the language.</summary>
    public bool AcceptBytes(ReadOnlySpan<byte> bytes)
    {
        var c = _cursor;
        foreach (var b in bytes)
            if (!_context.Step(ref c, b)) return false;
        _cursor = c;
        Followed(bytes);
        return true;
    }

    /// <summary>Current position (diagnostics).</summary>
    internal Cursor CurrentCursor => _cursor;

    /// <inheritdoc />
    public bool IsComplete => _ended || _context.IsComplete(_cursor);

    /// <inheritdoc />
    public bool IsTerminated => _ended || _context.IsTerminated(_cursor);
}
