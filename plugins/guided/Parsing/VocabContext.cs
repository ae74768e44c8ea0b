using System.Buffers;
using Modular.Abstractions;
using Modular.Plugins.Guided.Lexing;

namespace Modular.Plugins.Guided.Parsing;

/// <summary>
/// Everything shared by the constraints compiled for one vocabulary: the token trie (built once), the interned
/// lexemes, the union lexer and its per-state mask entries. Thread-safe.
/// </summary>
public sealed partial class VocabContext
{
    private readonly int[] _eos;

    /// <summary>Builds the trie and empty caches for <paramref name="vocabulary"/>.</summary>
    public VocabContext(ITokenVocabulary vocabulary, int maxWhitespace)
    {
        Vocabulary = vocabulary;
        Trie = new TokenTrie(vocabulary);
        Classes = new TokenClasses(Trie);
        Table = new LexemeTable(maxWhitespace);
        Lexer = new Lexer(Table);
        _eos = vocabulary.EosIds.Where(i => i >= 0 && i < vocabulary.Count).ToArray();
    }

    /// <summary>The vocabulary.</summary>
    public ITokenVocabulary Vocabulary { get; }
    /// <summary>Byte trie of the tokens.</summary>
    public TokenTrie Trie { get; }
    /// <summary>Token classes for free-text states.</summary>
    public TokenClasses Classes { get; }
    /// <summary>Interned lexemes.</summary>
    public LexemeTable Table { get; }
    /// <summary>Union lexer.</summary>
    public Lexer Lexer { get; }
    /// <summary>End-of-sequence ids.</summary>
    public IReadOnlyList<int> EosIds => _eos;
    /// <summary>Mask length in 64-bit words.</summary>
    public int MaskWords => (Vocabulary.Count + 63) >> 6;

    private MaskEntry Entry(int union)
    {
        var s = Lexer[union];
        return s.Entry ??= MaskEntryBuilder.Build(Lexer, Trie, Classes, union);
    }

    /// <summary>Advances <paramref name="cur"/> by one byte; false (cursor unchanged) when the byte is not allowed.</summary>
    public bool Step(ref Cursor cur, byte b)
    {
        if (cur.Union < 0) return false;
        int t = Lexer.Step(cur.Union, b);
        if (t >= 0) return Enter(ref cur, cur.State, t, cur.Count);
        if (cur.AtStart || Lexer[cur.Union].Accepting.Length == 0) return false;
        var next = cur.State.Complete(Lexer, cur.Union, cur.Count);
        if (next is null || next.StartUnion < 0) return false;
        t = Lexer.Step(next.StartUnion, b);
        return t >= 0 && Enter(ref cur, next, t, 0);
    }

    private bool Enter(ref Cursor cur, ParseState state, int t, int count)
    {
        int nu = t & Automata.ByteDfa.StateMask;
        int nc = count + ((t & Automata.ByteDfa.CountFlag) != 0 ? 1 : 0);
        if (!Lexer.Viable(nu, nc)) return false;
        if (Lexer[nu].Terminal && !EndsWell(state, nu, nc)) return false;
        cur = new Cursor(state, nu, nc, false);
        return true;
    }

    /// <summary>True when the lexeme ending in terminal state <paramref name="union"/> is accepted by the parser.</summary>
    private bool EndsWell(ParseState state, int union, int count)
    {
        if (Lexer[union].HasCounted && !Lexer.AcceptsWithCount(union, count)) return false;
        var next = state.Complete(Lexer, union, count);
        return next is not null && (next.StartUnion >= 0 || next.HasDone);
    }

    /// <summary>True when the output so far is complete.</summary>
    public bool IsComplete(in Cursor cur)
    {
        if (cur.AtStart) return cur.State.HasDone;
        if (Lexer[cur.Union].Accepting.Length == 0) return false;
        return cur.State.Complete(Lexer, cur.Union, cur.Count)?.HasDone == true;
    }

    /// <summary>True when only EOS can follow.</summary>
    public bool IsTerminated(in Cursor cur)
    {
        if (cur.AtStart) return cur.State.HasDone && cur.State.StartUnion < 0;
        if (!Lexer[cur.Union].Terminal) return false;
        var next = cur.State.Complete(Lexer, cur.Union, cur.Count);
        return next is not null && next.HasDone && next.StartUnion < 0;
    }

    /// <summary>Sets the bits of every token allowed from <paramref name="cur"/> (EOS included when complete).</summary>
    public void FillMask(in Cursor cur, Span<ulong> mask)
    {
        var key = (cur.Union, cur.Count, cur.AtStart);
        if (cur.State.Masks.TryGetValue(key, out var cached)) { cached.AsSpan().CopyTo(mask); return; }
        FillMaskUncached(cur, mask);
        // Bounded: past the budget new positions are computed every time (still exact, just not remembered).
        if (Interlocked.Add(ref _cachedMaskWords, mask.Length) <= MaxCachedMaskWords) cur.State.Masks.TryAdd(key, mask.ToArray());
        else Interlocked.Add(ref _cachedMaskWords, -mask.Length);
    }

    /// <summary>Words of mask memory kept by the per-state mask caches of this vocabulary (64 MiB).</summary>
    private const long MaxCachedMaskWords = 8L << 20;
    private long _cachedMaskWords;

    private void FillMaskUncached(in Cursor cur, Span<ulong> mask)
    {
        mask.Clear();
        AddMask(cur.State, cur.Union, cur.Count, cur.AtStart, mask);
        if (IsComplete(cur))
            foreach (var e in _eos) mask[e >> 6] |= 1UL << (e & 63);
    }

    private void AddMask(ParseState state, int union, int count, bool atStart, Span<ulong> mask)
    {
        if (union < 0) return;
        var singles = Lexer.Singles(union);
        if (singles.Length > 1 && !DirectEntry(union))
        {
            AddMaskOfUnion(state, union, singles, count, atStart, mask);
            return;
        }
        AddMaskOfSingle(state, union, count, mask);
        if (!atStart && Lexer[union].Accepting.Length > 0) AddAfterLexeme(state, union, count, mask);
    }

    /// <summary>Tokens that stay in, or end part-way through, the lexeme of a one-lexeme state.</summary>
    private void AddMaskOfSingle(ParseState state, int union, int count, Span<ulong> mask)
    {
        var entry = Entry(union);
        if (entry.LoopBits is { } loop)
        {
            if (!entry.LoopCounted) Or(mask, loop);
            else
            {
                int room = Lexer[union].MaxCount - count;
                if (room >= 0) OrAnd(mask, loop, Classes.AtMostCodePoints(room));
            }
        }
        if (entry.AlwaysBits is { } bits) Or(mask, bits);
        else foreach (var t in entry.AlwaysList!) mask[t >> 6] |= 1UL << (t & 63);

        if (entry.CheckedBits is { } cb)
        {
            if (count <= entry.MinSlack) Or(mask, cb);
            else
                for (int i = 0; i < entry.CheckedTokens.Length; i++)
                {
                    var (e, d) = entry.CheckedInfo[i];
                    if (count + d <= Lexer[e].MaxCount) { int t = entry.CheckedTokens[i]; mask[t >> 6] |= 1UL << (t & 63); }
                }
        }
        foreach (var (end, delta, tokens) in entry.TerminalGroups)
        {
            if (!EndsWell(state, end, count + delta)) continue;
            foreach (var t in tokens) mask[t >> 6] |= 1UL << (t & 63);
        }
        foreach (var (exit, delta, root) in entry.Exits)
        {
            var next = state.Complete(Lexer, exit, count + delta);
            if (next is null || next.StartUnion < 0) continue;
            WalkRemainder(root, new Cursor(next, next.StartUnion, 0, true), mask);
        }
    }

    /// <summary>Tokens that end the current lexeme at their first byte: the mask of the state after it.</summary>
    private void AddAfterLexeme(ParseState state, int union, int count, Span<ulong> mask)
    {
        {
            var next = state.Complete(Lexer, union, count);
            if (next is null || next.StartUnion < 0) return;
            var rented = ArrayPool<ulong>.Shared.Rent(mask.Length);
            var tmp = rented.AsSpan(0, mask.Length);
            tmp.Clear();
            AddMask(next, next.StartUnion, 0, true, tmp);
            // Maximal munch: a byte that continues the current lexeme cannot start the next one.
            foreach (var b in Lexer.ContinueBytes(union))
                foreach (var t in Trie.ByFirstByte[b]) tmp[t >> 6] &= ~(1UL << (t & 63));
            Or(mask, tmp);
            ArrayPool<ulong>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Mask of a state where several lexemes are alive: tokens that stay inside some lexeme come from each lexeme's
    /// own cached entry (shared widely: "any string" is one entry per vocabulary); tokens that end a lexeme inside the
    /// token are few and are checked exactly, byte by byte, against the whole union (which decides, for example,
    /// that a declared key wins over "any other key").
    /// </summary>
    private void AddMaskOfUnion(ParseState state, int union, int[] singles, int count, bool atStart, Span<ulong> mask)
    {
        // Each lexeme's own entry is exact for tokens whose path leaves the multi-lexeme region before ending;
        // the few tokens that end (or leave their lexeme) while several lexemes are alive are redone exactly.
        foreach (var s in singles) AddMaskOfSingle(state, s, count, mask);
        var start = new Cursor(state, union, count, atStart);
        foreach (var t in MultiRegion(union))
        {
            mask[t >> 6] &= ~(1UL << (t & 63));
            CheckToken(start, t, mask);
        }
        if (!atStart && Lexer[union].Accepting.Length > 0) AddAfterLexeme(state, union, count, mask);
    }

    /// <summary>
    /// True when a multi-lexeme state gets its own mask entry instead of per-lexeme entries plus exact checks: only
    /// when the exact-check region is large (two overlapping free-text lexemes: a key pattern and "any other key", or
    /// anyOf string branches). A declared key beside "any other key" is not such a case even though the union loops on
    /// free text: only the tokens that follow the key's own spelling are in the region, and the per-lexeme entries
    /// ("any string" is one entry per vocabulary) are shared, where an entry of its own would cost a whole trie walk
    /// for every key and character position. The mask is exact either way.
    /// </summary>
    private bool DirectEntry(int union)
    {
        var u = Lexer[union];
        if (u.Direct is { } d) return d;
        bool direct = MultiRegion(union).Length > 512;
        u.Direct = direct;
        return direct;
    }

    private int[] MultiRegion(int union)
    {
        var u = Lexer[union];
        if (u.MultiRegionTokens is { } done) return done;
        var tokens = new List<int>();
        var stack = new Stack<(int Node, int U)>();
        stack.Push((0, union));
        while (stack.Count > 0 && tokens.Count <= 512)
        {
            var (node, w) = stack.Pop();
            var ws = Lexer[w];
            int first = Trie.FirstEdge[node], n = Trie.EdgeCount[node];
            for (int k = 0; k < n; k++)
            {
                int child = Trie.EdgeTarget[first + k];
                int t = Lexer.Step(w, Trie.EdgeByte[first + k]);
                if (t < 0)
                {
                    if (node != 0 && ws.Accepting.Length > 0) Trie.CollectSubtree(child, tokens);
                    continue;
                }
                int nw = t & Automata.ByteDfa.StateMask;
                if (Lexer[nw].Pairs.Length < 2) continue;
                for (int tok = Trie.TokenAt[child]; tok >= 0; tok = Trie.NextSameBytes[tok]) tokens.Add(tok);
                if (tokens.Count > 512) break; // large: the caller masks this state through its own entry
                if (Trie.EdgeCount[child] > 0) stack.Push((child, nw));
            }
        }
        return u.MultiRegionTokens = tokens.ToArray();
    }

    private void CheckToken(Cursor start, int token, Span<ulong> mask)
    {
        if ((mask[token >> 6] & (1UL << (token & 63))) != 0) return;
        var c = start;
        foreach (var b in Trie.Bytes[token]!)
            if (!Step(ref c, b)) return;
        mask[token >> 6] |= 1UL << (token & 63);
    }

    private void CheckSubtree(Cursor start, RemainderNode node, Span<ulong> mask)
    {
        foreach (var t in node.Tokens) CheckToken(start, t, mask);
        foreach (var child in node.Children) CheckSubtree(start, child, mask);
    }

    private void WalkRemainder(RemainderNode node, Cursor cur, Span<ulong> mask)
    {
        for (int i = 0; i < node.Labels.Length; i++)
        {
            var c = cur;
            if (!Step(ref c, node.Labels[i])) continue;
            var child = node.Children[i];
            foreach (var t in child.Tokens) mask[t >> 6] |= 1UL << (t & 63);
            if (child.Labels.Length > 0) WalkRemainder(child, c, mask);
        }
    }

    private static void OrAnd(Span<ulong> mask, ReadOnlySpan<ulong> a, ReadOnlySpan<ulong> b)
    {
        int n = Math.Min(mask.Length, Math.Min(a.Length, b.Length));
        for (int i = 0; i < n; i++) mask[i] |= a[i] & b[i];
    }

    private static void Or(Span<ulong> mask, ReadOnlySpan<ulong> bits)
    {
        int n = Math.Min(mask.Length, bits.Length);
        for (int i = 0; i < n; i++) mask[i] |= bits[i];
    }
}

/// <summary>Position inside a constrained output: parser state plus the lexer state of the current lexeme.</summary>
/// <param name="State">Parser configurations at the start of the current lexeme.</param>
/// <param name="Union">Union lexer state (-1: nothing can follow).</param>
/// <param name="Count">Code points of the current lexeme so far (for length bounds).</param>
/// <param name="AtStart">No byte of the current lexeme consumed yet.</param>
public readonly record struct Cursor(ParseState State, int Union, int Count, bool AtStart);
