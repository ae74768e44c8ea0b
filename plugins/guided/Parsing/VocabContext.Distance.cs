namespace Modular.Plugins.Guided.Parsing;

/// <summary>
/// Distance to acceptance: the fewest bytes that take a cursor to a complete output, and the tokens that lie on such
/// a shortest completion. Found by an A* search over the matcher's own byte steps (<see cref="Step"/>), so it is
/// exact for every constraint kind the matcher supports (open strings, arrays and objects closed, required members
/// added with their shortest values, minLength and minItems honoured) without a second model of the language that
/// could disagree with the mask. Bytes that lead to the same lexer state are stepped once, so a node costs a scan of
/// 256 table entries plus one step per distinct successor; cursors with equal parser configurations are merged; and
/// the open frames left to close bound the remaining distance from below, which keeps the search away from the
/// nestings that "any JSON" values would otherwise offer at every byte.
/// </summary>
public sealed partial class VocabContext
{
    /// <summary>Distance reported when the search gave up (too many states); callers then leave the mask alone.</summary>
    public const int UnknownDistance = int.MaxValue;

    /// <summary>Search nodes after which a distance is reported unknown (bounds the cost of one search).</summary>
    public const int MaxSearchNodes = 20_000;

    /// <summary>Fewest bytes from <paramref name="cur"/> to a complete output (0 when complete), or <see cref="UnknownDistance"/>.</summary>
    public int Distance(in Cursor cur)
    {
        var key = DistanceKey(cur);
        if (cur.State.Distances.TryGetValue(key, out int d)) return d;
        d = Search(cur);
        cur.State.Distances.TryAdd(key, d);
        return d;
    }

    /// <summary>
    /// Keeps in <paramref name="mask"/> only tokens every byte of which lies on a shortest completion from
    /// <paramref name="cur"/> (each such token brings the output its own length closer to complete), or only EOS
    /// when the output is complete already. False (mask unchanged) when the search gave up or no token qualifies.
    /// </summary>
    public bool RestrictToShortest(in Cursor cur, Span<ulong> mask)
    {
        var key = DistanceKey(cur);
        if (!cur.State.ShortestMasks.TryGetValue(key, out var shortest))
        {
            shortest = ShortestTokens(cur);
            cur.State.ShortestMasks.TryAdd(key, shortest);
        }
        if (shortest is null) return false;
        bool any = false;
        for (int i = 0; i < mask.Length && i < shortest.Length; i++) any |= (mask[i] & shortest[i]) != 0;
        if (!any) return false;
        for (int i = 0; i < mask.Length; i++) mask[i] &= i < shortest.Length ? shortest[i] : 0;
        return true;
    }

    // Count only matters where some alive lexeme has a length bound; elsewhere one key serves every count.
    private (int, int, bool) DistanceKey(in Cursor cur) =>
        (cur.Union, cur.Union >= 0 && !Lexer[cur.Union].HasCounted ? 0 : cur.Count, cur.AtStart);

    private ulong[]? ShortestTokens(in Cursor cur)
    {
        int d = Distance(cur);
        if (d == UnknownDistance) return null;
        var bits = new ulong[MaskWords];
        if (d == 0)
        {
            foreach (var e in _eos) bits[e >> 6] |= 1UL << (e & 63);
            return bits;
        }
        WalkShortest(cur, d, 0, bits);
        return bits;
    }

    /// <summary>Follows the trie along bytes that each shorten the distance by one; every token met qualifies.</summary>
    private void WalkShortest(in Cursor cur, int distance, int trieNode, ulong[] bits)
    {
        int first = Trie.FirstEdge[trieNode], n = Trie.EdgeCount[trieNode];
        for (int k = 0; k < n; k++)
        {
            var c = cur;
            if (!Step(ref c, Trie.EdgeByte[first + k])) continue;
            int d = Distance(c);
            if (d != distance - 1) continue;
            int child = Trie.EdgeTarget[first + k];
            for (int tok = Trie.TokenAt[child]; tok >= 0; tok = Trie.NextSameBytes[tok]) bits[tok >> 6] |= 1UL << (tok & 63);
            if (d > 0 && Trie.EdgeCount[child] > 0) WalkShortest(c, d, child, bits);
        }
    }

    /// <summary>
    /// Lower bound on the distance: every open frame but the top one needs at least one more byte to close (a lexeme
    /// never ends empty), and the top one too unless its lexeme may end where it is.
    /// </summary>
    private static int LowerBound(in Cursor cur)
    {
        int best = int.MaxValue;
        foreach (var config in cur.State.Configs)
        {
            int depth = 0;
            for (var f = config; f is not null && depth < best; f = Parent(f)) depth++;
            best = Math.Min(best, depth);
        }
        return best == int.MaxValue ? 0 : Math.Max(0, best - (cur.AtStart ? 0 : 1));
    }

    private static Frame? Parent(Frame f) => f switch
    {
        Json.ValueFrame v => v.Parent,
        Json.ObjectFrame o => o.Parent,
        Json.ArrayFrame a => a.Parent,
        Grammar.SeqFrame s => s.Parent,
        LexemeFrame l => l.Parent,
        _ => null, // unknown frame kind: count it alone (still a valid lower bound)
    };

    /// <summary>A* from <paramref name="start"/> to the nearest complete cursor; <see cref="UnknownDistance"/> when it gives up.</summary>
    private int Search(in Cursor start)
    {
        if (IsComplete(start)) return 0;
        var cursors = new List<Cursor>();
        var best = new List<int>();
        var index = new Dictionary<(ConfigSet, (int, int, bool)), int>();
        var open = new PriorityQueue<int, (int F, int G)>();
        var successors = new Dictionary<int, Cursor>();
        cursors.Add(start);
        best.Add(0);
        index[(new ConfigSet(start.State), DistanceKey(start))] = 0;
        open.Enqueue(0, (LowerBound(start), 0));
        while (open.TryDequeue(out int node, out var pri))
        {
            if (pri.G != best[node]) continue; // superseded by a shorter way here
            var cur = cursors[node];
            if (node != 0 && IsComplete(cur)) return pri.G;
            ExpandGrouped(cur, successors);
            foreach (var next in successors.Values)
            {
                int g = pri.G + 1;
                var key = (new ConfigSet(next.State), DistanceKey(next));
                if (index.TryGetValue(key, out int j))
                {
                    if (best[j] <= g) continue;
                    best[j] = g;
                }
                else
                {
                    if (cursors.Count >= MaxSearchNodes) return UnknownDistance;
                    j = cursors.Count;
                    cursors.Add(next);
                    best.Add(g);
                    index[key] = j;
                }
                open.Enqueue(j, (g + LowerBound(next), g));
            }
        }
        return UnknownDistance; // no completion at all (cannot happen for a dead-end-free matcher)
    }

    /// <summary>Parser states compared by their configurations, so equal states reached by different texts merge.</summary>
    private readonly struct ConfigSet(ParseState state) : IEquatable<ConfigSet>
    {
        private readonly ParseState _state = state;

        public bool Equals(ConfigSet other)
        {
            if (ReferenceEquals(_state, other._state)) return true;
            var a = _state.Configs;
            var b = other._state.Configs;
            if (a.Length != b.Length) return false;
            for (int i = 0; i < a.Length; i++) if (!Equals(a[i], b[i])) return false;
            return true;
        }

        public override bool Equals(object? obj) => obj is ConfigSet c && Equals(c);

        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var c in _state.Configs) h.Add(c);
            return h.ToHashCode();
        }
    }

    /// <summary>
    /// The successors of <paramref name="cur"/> over all 256 bytes, grouped: bytes that reach the same lexer state
    /// (inside the lexeme, or after ending it and starting the next) reach the same cursor, so one is stepped.
    /// </summary>
    private void ExpandGrouped(in Cursor cur, Dictionary<int, Cursor> output)
    {
        output.Clear();
        if (cur.Union < 0) return;
        var groups = new Dictionary<int, int>(); // group -> its first byte
        bool canEnd = !cur.AtStart && Lexer[cur.Union].Accepting.Length > 0;
        ParseState? next = null;
        bool nextDone = false;
        for (int b = 0; b < 256; b++)
        {
            int t = Lexer.Step(cur.Union, (byte)b);
            int group;
            if (t >= 0) group = t; // lexer state with its count flag
            else
            {
                if (!canEnd) continue;
                if (!nextDone) { next = cur.State.Complete(Lexer, cur.Union, cur.Count); nextDone = true; }
                if (next is null || next.StartUnion < 0) continue;
                int t2 = Lexer.Step(next.StartUnion, (byte)b);
                if (t2 < 0) continue;
                group = ~t2; // negative: after the lexeme ended (t2 keeps its count flag, so groups stay distinct)
            }
            groups.TryAdd(group, b);
        }
        foreach (var (group, b) in groups)
        {
            var c = cur;
            if (Step(ref c, (byte)b)) output[group] = c;
        }
    }
}
