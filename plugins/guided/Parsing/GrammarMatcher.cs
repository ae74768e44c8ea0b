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
