namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// What the vocabulary trie walk from one <see cref="UnionState"/> found, independent of the parser: tokens that stay
/// inside the current lexeme (always allowed, or allowed subject to a code point count check), and tokens that end
/// the lexeme part-way, grouped by where they end, with their remaining bytes in a small trie that the parser
/// checks at mask time. Tokens that end the lexeme at their first byte are not stored: they are the mask of the
/// state after the lexeme (computed recursively).
/// </summary>
internal sealed class MaskEntry
{
    /// <summary>Tokens allowed whatever the count (sparse form), or null.</summary>
    public int[]? AlwaysList;
    /// <summary>Tokens allowed whatever the count (dense form), or null.</summary>
    public ulong[]? AlwaysBits;
    /// <summary>Tokens that stay in a bounded lexeme: allowed when count + delta ≤ MaxCount(end).</summary>
    public int[] CheckedTokens = [];
    /// <summary>Largest count for which every checked token is allowed.</summary>
    public int MinSlack = int.MaxValue;
    /// <summary>Checked tokens as bits (used when the count is at most <see cref="MinSlack"/>).</summary>
    public ulong[]? CheckedBits;
    /// <summary>Per checked token: (end union state, delta).</summary>
    public (int End, int Delta)[] CheckedInfo = [];
    /// <summary>Tokens ending exactly where a bounded lexeme must end: grouped by (end state, delta).</summary>
    public (int End, int Delta, int[] Tokens)[] TerminalGroups = [];
    /// <summary>Tokens that end the lexeme inside the token.</summary>
    public (int Exit, int Delta, RemainderNode Root)[] Exits = [];
    /// <summary>Bytes that continue the current lexeme (tokens starting with them do not end it at offset 0).</summary>
    public byte[] ContinueBytes = [];
    /// <summary>Tokens made only of bytes on which the state loops (shared per byte set), or null; not in the lists above.</summary>
    public ulong[]? LoopBits;
    /// <summary>The state has a maxLength: loop tokens are allowed when count + code points ≤ MaxCount.</summary>
    public bool LoopCounted;
}

/// <summary>Trie of the bytes that follow a lexeme's end inside tokens.</summary>
internal sealed class RemainderNode
{
    public byte[] Labels = [];
    public RemainderNode[] Children = [];
    public int[] Tokens = [];

    private Dictionary<byte, RemainderNode>? _build;
    private List<int>? _buildTokens;

    public void Add(ReadOnlySpan<byte> rest, int token)
    {
        var node = this;
        foreach (var b in rest)
        {
            node._build ??= new Dictionary<byte, RemainderNode>();
            if (!node._build.TryGetValue(b, out var child)) node._build[b] = child = new RemainderNode();
            node = child;
        }
        (node._buildTokens ??= new List<int>()).Add(token);
    }

    public void Freeze()
    {
        if (_build is not null)
        {
            var keys = _build.Keys.Order().ToArray();
            Labels = keys;
            Children = keys.Select(k => _build[k]).ToArray();
            foreach (var c in Children) c.Freeze();
            _build = null;
        }
        if (_buildTokens is not null) { Tokens = _buildTokens.ToArray(); _buildTokens = null; }
    }
}

/// <summary>Builds <see cref="MaskEntry"/> values by walking the token trie with the union lexer.</summary>
internal static class MaskEntryBuilder
{
    public static MaskEntry Build(Lexer lexer, TokenTrie trie, TokenClasses classes, int union)
    {
        var entry = new MaskEntry();
        var always = new List<int>();
        var checkedTokens = new List<int>();
        var checkedInfo = new List<(int, int)>();
        var terminal = new Dictionary<(int, int), List<int>>();
        var exits = new Dictionary<(int, int), RemainderNode>();
        var cont = new List<byte>();
        var sub = new List<int>();
        for (int b = 0; b < 256; b++) if (lexer.Step(union, (byte)b) >= 0) cont.Add((byte)b);
        entry.ContinueBytes = cont.ToArray();

        // Free-text states (string content, digit runs) take the tokens made of their loop bytes from one shared
        // bitmask; the walk then skips every subtree that holds nothing else, which is most of the vocabulary.
        var loop = lexer.Free(union);
        bool prune = loop.Useful;
        bool safe = lexer[union].MaxCount == int.MaxValue;
        if (prune)
        {
            entry.LoopBits = classes.LoopMask(loop);
            var us0 = lexer[union];
            entry.LoopCounted = us0.HasCounted && us0.MaxCount != int.MaxValue;
        }

        var stack = new Stack<(int Node, int U, int Delta, bool Pure, bool High)>();
        stack.Push((0, union, 0, true, false));
        while (stack.Count > 0)
        {
            var (node, u, delta, pure, high) = stack.Pop();
            int first = trie.FirstEdge[node], n = trie.EdgeCount[node];
            var us = lexer[u];
            for (int k = 0; k < n; k++)
            {
                byte b = trie.EdgeByte[first + k];
                int child = trie.EdgeTarget[first + k];
                int t = lexer.Step(u, b);
                if (t < 0)
                {
                    // The lexeme ends before this byte: every token below continues after the lexeme.
                    if (node == 0 || us.Accepting.Length == 0) continue;
                    var key = (u, us.HasCounted ? delta : 0);
                    if (!exits.TryGetValue(key, out var root)) exits[key] = root = new RemainderNode();
                    sub.Clear();
                    trie.CollectSubtree(child, sub);
                    int depth = trie.Depth[node];
                    foreach (var tok in sub) root.Add(trie.Bytes[tok].AsSpan(depth), tok);
                    continue;
                }
                int nu = t & Automata.ByteDfa.StateMask;
                int nd = delta + ((t & Automata.ByteDfa.CountFlag) != 0 ? 1 : 0);
                var ns = lexer[nu];
                if (nd > ns.MaxCount) continue; // no count can make this prefix fit
                bool childPure = prune && pure && (b < 0x80 ? loop.Has(b) : loop.Utf8);
                bool childHigh = high || b >= 0x80;
                // Safe bytes keep the walk inside the state's closure; loop bytes keep it in the state itself.
                if (childPure && (safe || nu == union) && classes.SubtreeLoops(child, loop, childHigh)) continue;
                // Any other free-text state reached part-way: its whole subtree is allowed when every token below
                // continues with loop bytes only (count bounds aside, which need per-token deltas).
                if (ns.MaxCount == int.MaxValue && !ns.Terminal)
                {
                    var nl = lexer.Safe(nu);
                    if (nl.Useful && classes.SuffixesLoop(child, nl))
                    {
                        for (int i = trie.SubtreeStart[child]; i < trie.SubtreeEnd[child]; i++) always.Add(trie.SubtreeTokens[i]);
                        continue;
                    }
                }
                for (int tok = trie.TokenAt[child]; tok >= 0; tok = trie.NextSameBytes[tok])
                {
                    if (ns.Terminal)
                    {
                        // The lexeme must end here: the parser decides (and the count, when bounded).
                        var tk = (nu, ns.HasCounted ? nd : 0);
                        if (!terminal.TryGetValue(tk, out var list)) terminal[tk] = list = new List<int>();
                        list.Add(tok);
                    }
                    else if (!ns.HasCounted || ns.MaxCount == int.MaxValue) always.Add(tok);
                    else { checkedTokens.Add(tok); checkedInfo.Add((nu, nd)); }
                }
                if (trie.EdgeCount[child] > 0) stack.Push((child, nu, nd, childPure, childHigh));
            }
        }

        int words = (trie.TokenCount + 63) >> 6;
        if (always.Count > 1024)
        {
            entry.AlwaysBits = new ulong[words];
            foreach (var t in always) entry.AlwaysBits[t >> 6] |= 1UL << (t & 63);
        }
        else entry.AlwaysList = always.ToArray();
        if (checkedTokens.Count > 0)
        {
            entry.CheckedTokens = checkedTokens.ToArray();
            entry.CheckedInfo = checkedInfo.ToArray();
            entry.CheckedBits = new ulong[words];
            int slack = int.MaxValue;
            for (int i = 0; i < entry.CheckedTokens.Length; i++)
            {
                int t = entry.CheckedTokens[i];
                entry.CheckedBits[t >> 6] |= 1UL << (t & 63);
                var (e, d) = entry.CheckedInfo[i];
                slack = Math.Min(slack, lexer[e].MaxCount - d);
            }
            entry.MinSlack = slack;
        }
        entry.TerminalGroups = terminal.Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Value.ToArray())).ToArray();
        foreach (var r in exits.Values) r.Freeze();
        entry.Exits = exits.Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Value)).ToArray();
        return entry;
    }
}
