namespace Modular.Plugins.Guided.Parsing;

/// <summary>
/// Distance to acceptance: a shortest completion of the output from a cursor (the bytes to append so that it is
/// complete), found with the matcher's own steps (<see cref="Step"/>) so that it is always a real completion, for
/// every constraint kind (open strings, arrays and objects closed, required members added with their shortest values,
/// minLength and minItems honoured) without a second model of the language that could disagree with the mask.
/// <para>
/// The search is an A* over bytes. Bytes that lead to the same lexer state are stepped once, so a node costs a scan of
/// 256 table entries plus one step per distinct successor; cursors whose parser configurations are equal merge; and
/// the open frames left to close bound the rest from below (each needs at least a byte), which keeps the search off
/// the nestings that "any JSON" values offer at every byte. Results are memoized per parser state and lexer state,
/// so the steps inside one string cost a lookup.
/// </para>
/// </summary>
public sealed partial class VocabContext
{
    /// <summary>Distance reported when the search gave up; callers then leave the mask alone.</summary>
    public const int UnknownDistance = int.MaxValue;

    /// <summary>Lexeme ends searched before the search gives up (bounds the cost of one search).</summary>
    public const int MaxSearchNodes = 4_000;

    /// <summary>Fewest bytes from <paramref name="cur"/> to a complete output found (0 when complete), or <see cref="UnknownDistance"/>.</summary>
    public int Distance(in Cursor cur) => Completion(cur)?.Length ?? UnknownDistance;

    /// <summary>A shortest completion from <paramref name="cur"/> (empty when complete), or null when the search gave up. Memoized.</summary>
    public byte[]? Completion(in Cursor cur)
    {
        var key = CompletionKey(cur);
        if (cur.State.Completions.TryGetValue(key, out var done)) return done;
        var found = Search(cur);
        cur.State.Completions.TryAdd(key, found);
        return found;
    }

    /// <summary>
    /// Sets in <paramref name="bits"/> the tokens whose bytes are a prefix of <paramref name="completion"/> (each takes
    /// the output that much closer to complete), or the EOS tokens when the completion is empty.
    /// </summary>
    public void TokensAlong(ReadOnlySpan<byte> completion, Span<ulong> bits)
    {
        bits.Clear();
        if (completion.IsEmpty)
        {
            foreach (var e in _eos) bits[e >> 6] |= 1UL << (e & 63);
            return;
        }
        int node = 0;
        foreach (var b in completion)
        {
            int first = Trie.FirstEdge[node], n = Trie.EdgeCount[node], child = -1;
            for (int k = 0; k < n && child < 0; k++) if (Trie.EdgeByte[first + k] == b) child = Trie.EdgeTarget[first + k];
            if (child < 0) return;
            for (int tok = Trie.TokenAt[child]; tok >= 0; tok = Trie.NextSameBytes[tok]) bits[tok >> 6] |= 1UL << (tok & 63);
            node = child;
        }
    }

    /// <summary>
    /// Memo key of a cursor. The count matters only up to the largest minLength of the alive lexemes: past it a
    /// longer count never helps (the first one found, the smallest, is kept), and without bounds it does not matter.
    /// </summary>
    internal (int, int, bool) CompletionKey(in Cursor cur)
    {
        if (cur.Union < 0) return (cur.Union, 0, cur.AtStart);
        var u = Lexer[cur.Union];
        if (!u.HasCounted) return (cur.Union, 0, cur.AtStart);
        int maxMin = 0;
        foreach (var p in u.Pairs) maxMin = Math.Max(maxMin, Lexer.Table[(int)(p >> 32)].MinCount);
        return (cur.Union, Math.Min(cur.Count, maxMin), cur.AtStart);
    }

    /// <summary>A* over single bytes from <paramref name="start"/> to the nearest complete cursor; null when it gives up.</summary>
    private byte[]? Search(in Cursor start)
    {
        if (IsComplete(start)) return [];
        var nodes = new List<(Cursor At, int Parent, byte Byte, int G)> { (start, -1, 0, 0) };
        var index = new Dictionary<(ConfigSet, (int, int, bool)), int> { [(new ConfigSet(start.State), CompletionKey(start))] = 0 };
        var open = new PriorityQueue<int, (int F, int G)>(); // ties: deeper first (G stored negated)
        var successors = new List<(Cursor, byte)>();
        open.Enqueue(0, (LowerBound(start), -0));
        while (open.TryDequeue(out int node, out var pri))
        {
            var (cur, _, _, g) = nodes[node];
            if (-pri.G != g) continue; // superseded by a shorter way here
            if (node != 0 && IsComplete(cur)) return PathTo(nodes, node);
            ExpandGrouped(cur, successors);
            foreach (var (next, b) in successors)
            {
                var key = (new ConfigSet(next.State), CompletionKey(next));
                if (index.TryGetValue(key, out int j))
                {
                    if (nodes[j].G <= g + 1) continue;
                    nodes[j] = (next, node, b, g + 1);
                }
                else
                {
                    if (nodes.Count >= MaxSearchNodes) return null;
                    j = nodes.Count;
                    nodes.Add((next, node, b, g + 1));
                    index[key] = j;
                }
                open.Enqueue(j, (g + 1 + LowerBound(next), -(g + 1)));
            }
        }
        return null; // no completion at all (cannot happen for a dead-end-free matcher)
    }

    private static byte[] PathTo(List<(Cursor At, int Parent, byte Byte, int G)> nodes, int node)
    {
        var bytes = new byte[nodes[node].G];
        for (int i = node; nodes[i].Parent >= 0; i = nodes[i].Parent) bytes[nodes[i].G - 1] = nodes[i].Byte;
        return bytes;
    }

    /// <summary>
    /// The successors of <paramref name="cur"/> over all 256 bytes, grouped: bytes that reach the same lexer state
    /// (inside the lexeme, or after ending it and starting the next) reach the same cursor, so one is stepped.
    /// </summary>
    private void ExpandGrouped(in Cursor cur, List<(Cursor, byte)> output)
    {
        output.Clear();
        if (cur.Union < 0) return;
        var groups = new HashSet<int>();
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
                group = ~t2; // negative: after the lexeme ended
            }
            if (!groups.Add(group)) continue;
            var c = cur;
            if (Step(ref c, (byte)b)) output.Add((c, (byte)b));
        }
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
}
