using Modular.Plugins.Guided.Automata;

namespace Modular.Plugins.Guided.Lexing;

/// <summary>A terminal of the constraint: a byte automaton plus optional code point count bounds.</summary>
public sealed class Lexeme
{
    /// <summary>Index in its <see cref="LexemeTable"/>.</summary>
    public required int Id { get; init; }
    /// <summary>Interning key (describes the language).</summary>
    public required string Key { get; init; }
    /// <summary>The automaton (whitespace prefix included).</summary>
    public required ByteDfa Dfa { get; init; }
    /// <summary>Minimum decoded code points (minLength).</summary>
    public int MinCount { get; init; }
    /// <summary>Maximum decoded code points (maxLength), or int.MaxValue.</summary>
    public int MaxCount { get; init; } = int.MaxValue;
    /// <summary>True when a count bound applies.</summary>
    public bool Counted => MinCount > 0 || MaxCount != int.MaxValue;
}

/// <summary>
/// Interns lexemes by the language they describe, so equal terminals from different schemas (or different parts of
/// one schema) share automaton states and therefore cached token masks.
/// </summary>
public sealed class LexemeTable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Lexeme> _byKey = new();
    private Lexeme[] _all = [];
    private readonly Dictionary<string, ByteDfa> _contentCache = new();

    /// <summary>Whitespace allowed before each JSON lexeme.</summary>
    public int MaxWhitespace { get; }

    /// <summary>Creates an empty table.</summary>
    public LexemeTable(int maxWhitespace)
    {
        MaxWhitespace = maxWhitespace;
        OpenBrace = Literal("{");
        CloseBrace = Literal("}");
        OpenBracket = Literal("[");
        CloseBracket = Literal("]");
        Colon = Literal(":");
        Comma = Literal(",");
        True = Literal("true");
        False = Literal("false");
        Null = Literal("null");
    }

    /// <summary>Punctuation and keyword lexeme ids.</summary>
    public int OpenBrace { get; }
    /// <summary>}</summary>
    public int CloseBrace { get; }
    /// <summary>[</summary>
    public int OpenBracket { get; }
    /// <summary>]</summary>
    public int CloseBracket { get; }
    /// <summary>:</summary>
    public int Colon { get; }
    /// <summary>,</summary>
    public int Comma { get; }
    /// <summary>true</summary>
    public int True { get; }
    /// <summary>false</summary>
    public int False { get; }
    /// <summary>null</summary>
    public int Null { get; }

    /// <summary>Lexeme by id.</summary>
    public Lexeme this[int id] => Volatile.Read(ref _all)[id];

    /// <summary>Number of lexemes.</summary>
    public int Count => Volatile.Read(ref _all).Length;

    /// <summary>Interns a lexeme; <paramref name="build"/> runs only for a new key (whitespace prefix added here).</summary>
    public int Intern(string key, Func<ByteDfa> build, int minCount = 0, int maxCount = int.MaxValue, bool whitespace = true)
    {
        string full = $"{key}|{minCount}|{maxCount}|{whitespace}";
        lock (_gate)
        {
            if (_byKey.TryGetValue(full, out var found)) return found.Id;
        }
        var dfa = build();
        if (whitespace) dfa = DfaOps.WithLeadingWhitespace(dfa, MaxWhitespace);
        lock (_gate)
        {
            if (_byKey.TryGetValue(full, out var found)) return found.Id;
            var lex = new Lexeme { Id = _all.Length, Key = full, Dfa = dfa, MinCount = minCount, MaxCount = maxCount };
            _byKey[full] = lex;
            var next = new Lexeme[_all.Length + 1];
            _all.CopyTo(next, 0);
            next[^1] = lex;
            Volatile.Write(ref _all, next);
            return lex.Id;
        }
    }

    /// <summary>A literal byte string (JSON text such as <c>"name"</c> or <c>true</c>).</summary>
    public int Literal(string text, bool whitespace = true) =>
        Intern("lit:" + text, () => DfaBuilder.Literals([System.Text.Encoding.UTF8.GetBytes(text)]), whitespace: whitespace);

    /// <summary>Content automata are cached too (compiling a pattern is the costly part).</summary>
    public ByteDfa Content(string key, Func<ByteDfa> build)
    {
        lock (_gate)
        {
            if (_contentCache.TryGetValue(key, out var d)) return d;
        }
        var dfa = build();
        lock (_gate) _contentCache[key] = dfa;
        return dfa;
    }
}
