namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// A state of the union lexer: the set of (lexeme, automaton state) pairs still alive for the current lexeme.
/// States are interned per vocabulary, so the same set reached from different schemas shares one cached mask.
/// </summary>
public sealed class UnionState
{
    internal UnionState(int id, long[] pairs, LexemeTable table)
    {
        Id = id;
        Pairs = pairs;
        Trans = new int[256];
        Array.Fill(Trans, Lexer.Unknown);
        var acc = new List<int>();
        bool terminal = true;
        int maxCount = 0;
        bool counted = false;
        foreach (var p in pairs)
        {
            var lex = table[(int)(p >> 32)];
            int sub = (int)p;
            if (lex.Dfa.Accept[sub]) acc.Add(lex.Id);
            if (!lex.Dfa.Terminal[sub]) terminal = false;
            maxCount = Math.Max(maxCount, lex.MaxCount);
            counted |= lex.Counted;
        }
        Accepting = acc.ToArray();
        Terminal = terminal;
        MaxCount = maxCount;
        HasCounted = counted;
    }

    /// <summary>Interned id.</summary>
    public int Id { get; }
    /// <summary>(lexeme id &lt;&lt; 32) | automaton state, sorted.</summary>
    public long[] Pairs { get; }
    /// <summary>Lazily filled transitions (<see cref="Lexer.Unknown"/>, -1 dead, else id with optional count flag).</summary>
    internal int[] Trans { get; }
    /// <summary>Lexemes that may end here.</summary>
    public int[] Accepting { get; }
    /// <summary>No byte continues any alive lexeme.</summary>
    public bool Terminal { get; }
    /// <summary>Largest maxLength among alive lexemes (int.MaxValue when one is unbounded).</summary>
    public int MaxCount { get; }
    /// <summary>Some alive lexeme has a count bound.</summary>
    public bool HasCounted { get; }
    /// <summary>Cached token mask data (see <see cref="MaskEntry"/>).</summary>
    internal MaskEntry? Entry;
    /// <summary>Singleton states of each pair (for masks computed per lexeme), filled lazily.</summary>
    internal int[]? Singles;
    /// <summary>Tokens that end or leave the lexeme while several pairs are still alive (checked exactly).</summary>
    internal int[]? MultiRegionTokens;
    /// <summary>Safe bytes, computed lazily (see <see cref="Lexer.Safe"/>).</summary>
    internal LoopBytes? Safe;
    /// <summary>Loop bytes, computed lazily (see <see cref="Lexer.Loop"/>).</summary>
    internal LoopBytes? Loop;
    /// <summary>Multi-lexeme state masked through its own entry (see VocabContext), decided lazily.</summary>
    internal bool? Direct;
    /// <summary>Bytes that continue some alive lexeme, filled lazily.</summary>
    internal byte[]? ContinueBytes;
}

/// <summary>The union lexer over interned lexemes for one vocabulary.</summary>
public sealed class Lexer
{
    /// <summary>Marker for a transition not computed yet.</summary>
    public const int Unknown = -2;

    private readonly object _gate = new();
    private readonly Dictionary<PairKey, int> _ids = new();
    private UnionState[] _states = new UnionState[64];
    private int _count;

    /// <summary>Creates a lexer over <paramref name="table"/>.</summary>
    public Lexer(LexemeTable table) => Table = table;

    /// <summary>The lexemes.</summary>
    public LexemeTable Table { get; }

    /// <summary>Number of interned states.</summary>
    public int StateCount => Volatile.Read(ref _count);

    /// <summary>State by id.</summary>
    public UnionState this[int id] => Volatile.Read(ref _states)[id];

    /// <summary>The start state for a set of expected lexemes; -1 when the set is empty.</summary>
    public int Start(IReadOnlyList<int> lexemes)
    {
        if (lexemes.Count == 0) return -1;
        var pairs = new long[lexemes.Count];
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (long)lexemes[i] << 32;
        Array.Sort(pairs);
        return Intern(pairs);
    }

    /// <summary>Transition from <paramref name="state"/> on <paramref name="b"/>: -1 dead, else id | optional count flag.</summary>
    public int Step(int state, byte b)
    {
        var s = Volatile.Read(ref _states)[state];
        int t = s.Trans[b];
        if (t != Unknown) return t;
        t = Compute(s, b);
        s.Trans[b] = t;
        return t;
    }

    /// <summary>The singleton states {pair} of each alive pair of <paramref name="state"/>.</summary>
    public int[] Singles(int state)
    {
        var s = this[state];
        if (s.Singles is { } done) return done;
        var singles = new int[s.Pairs.Length];
        for (int i = 0; i < singles.Length; i++) singles[i] = s.Pairs.Length == 1 ? state : Intern([s.Pairs[i]]);
        s.Singles = singles;
        return singles;
    }

    /// <summary>The bytes on which <paramref name="state"/> loops (cached).</summary>
    public LoopBytes Loop(int state)
    {
        var s = this[state];
        if (s.Loop is { } done) return done;
        var loop = LoopBytes.Of(this, state);
        s.Loop = loop;
        return loop;
    }

    /// <summary>The safe bytes of <paramref name="state"/> (cached; empty for states with a maxLength).</summary>
    public LoopBytes Safe(int state)
    {
        var s = this[state];
        if (s.Safe is { } done) return done;
        var safe = SafeBytes.Of(this, state);
        s.Safe ??= safe;
        return safe;
    }

    /// <summary>
    /// The byte set whose tokens a mask takes wholesale from <paramref name="state"/>: its safe bytes, or for a state
    /// with a maxLength its loop bytes (then each token's count delta is its code point count).
    /// </summary>
    public LoopBytes Free(int state) =>
        this[state].MaxCount == int.MaxValue ? Safe(state) : Loop(state);

    /// <summary>Bytes on which <paramref name="state"/> has a transition.</summary>
    public byte[] ContinueBytes(int state)
    {
        var s = this[state];
        if (s.ContinueBytes is { } done) return done;
        var list = new List<byte>();
        for (int b = 0; b < 256; b++) if (Step(state, (byte)b) >= 0) list.Add((byte)b);
        return s.ContinueBytes = list.ToArray();
    }

    private int Compute(UnionState s, byte b)
    {
        var next = new List<long>(s.Pairs.Length);
        bool counted = false;
        foreach (var p in s.Pairs)
        {
            int lexId = (int)(p >> 32);
            var dfa = Table[lexId].Dfa;
            int raw = dfa.Next[(int)p * 256 + b];
            if (raw < 0) continue;
            counted |= (raw & Automata.ByteDfa.CountFlag) != 0;
            next.Add(((long)lexId << 32) | (uint)(raw & Automata.ByteDfa.StateMask));
        }
        if (next.Count == 0) return -1;
        int id = Intern(next.ToArray());
        return counted ? id | Automata.ByteDfa.CountFlag : id;
    }

    private int Intern(long[] pairs)
    {
        var key = new PairKey(pairs);
        lock (_gate)
        {
            if (_ids.TryGetValue(key, out int id)) return id;
            id = _count;
            if (id == _states.Length)
            {
                var bigger = new UnionState[_states.Length * 2];
                Array.Copy(_states, bigger, _states.Length);
                Volatile.Write(ref _states, bigger);
            }
            _states[id] = new UnionState(id, pairs, Table);
            _ids[key] = id;
            Volatile.Write(ref _count, id + 1);
            return id;
        }
    }

    /// <summary>True when some lexeme accepting in <paramref name="state"/> allows <paramref name="count"/> code points.</summary>
    public bool AcceptsWithCount(int state, int count)
    {
        var s = this[state];
        foreach (var lexId in s.Accepting)
        {
            var lex = Table[lexId];
            if (count >= lex.MinCount && count <= lex.MaxCount) return true;
        }
        return false;
    }

    /// <summary>True when a state may be entered with <paramref name="count"/> (count within bounds; a terminal state must accept it).</summary>
    public bool Viable(int state, int count)
    {
        var s = this[state];
        if (count > s.MaxCount) return false;
        return !s.Terminal || !s.HasCounted || AcceptsWithCount(state, count);
    }

    private readonly struct PairKey(long[] pairs) : IEquatable<PairKey>
    {
        private readonly long[] _pairs = pairs;
        private readonly int _hash = HashOf(pairs);

        private static int HashOf(long[] p)
        {
            var h = new HashCode();
            foreach (var x in p) h.Add(x);
            return h.ToHashCode();
        }

        public bool Equals(PairKey other) => _hash == other._hash && _pairs.AsSpan().SequenceEqual(other._pairs);
        public override bool Equals(object? obj) => obj is PairKey k && Equals(k);
        public override int GetHashCode() => _hash;
    }
}
