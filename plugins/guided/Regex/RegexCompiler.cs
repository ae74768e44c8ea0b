using Modular.Plugins.Guided.Automata;

namespace Modular.Plugins.Guided.Regex;

/// <summary>
/// Compiles a regular expression to a byte-level <see cref="ByteDfa"/> over UTF-8 (Thompson NFA, then subset
/// construction). Matching is linear in the input: there is no backtracking anywhere.
/// </summary>
public static class RegexCompiler
{
    /// <summary>Cap on NFA states (counted repetition is expanded).</summary>
    public const int MaxNfaStates = 200_000;

    /// <summary>
    /// Compiles <paramref name="pattern"/>. With <paramref name="search"/> the pattern may match anywhere (JSON
    /// Schema <c>pattern</c> semantics) unless anchored by ^/$; otherwise it must match the whole input.
    /// </summary>
    public static ByteDfa Compile(string pattern, bool search, int stateLimit = DfaBuilder.DefaultStateLimit)
    {
        var ast = RegexParser.Parse(pattern);
        var alts = ast is RegexAlt a ? a.Items : [ast];
        var rebuilt = new List<RegexNode>();
        foreach (var alt in alts)
        {
            var items = alt is RegexConcat c ? c.Items.ToList() : [alt];
            bool startAnchored = items.Count > 0 && items[0] is RegexAnchor { Start: true };
            if (startAnchored) items.RemoveAt(0);
            bool endAnchored = items.Count > 0 && items[^1] is RegexAnchor { Start: false };
            if (endAnchored) items.RemoveAt(items.Count - 1);
            // A fully anchored group such as ^(a|b)$ is common; anything else with anchors inside is not regular here.
            foreach (var it in items) CheckNoAnchor(it, pattern);
            if (search && !startAnchored) items.Insert(0, new RegexRepeat(new RegexChars(CharSet.Any), 0, -1));
            if (search && !endAnchored) items.Add(new RegexRepeat(new RegexChars(CharSet.Any), 0, -1));
            rebuilt.Add(new RegexConcat(items));
        }
        var root = rebuilt.Count == 1 ? rebuilt[0] : new RegexAlt(rebuilt);
        var nfa = new Nfa();
        var (s, e) = nfa.Build(root);
        return nfa.ToDfa(s, e, stateLimit);
    }

    /// <summary>Compiles an already parsed expression (full match, no anchors).</summary>
    public static ByteDfa CompileNode(RegexNode root, int stateLimit = DfaBuilder.DefaultStateLimit)
    {
        CheckNoAnchor(root, "(grammar)");
        var nfa = new Nfa();
        var (s, e) = nfa.Build(root);
        return nfa.ToDfa(s, e, stateLimit);
    }

    private static void CheckNoAnchor(RegexNode node, string pattern)
    {
        switch (node)
        {
            case RegexAnchor: throw new RegexSyntaxException($"anchor ^ or $ inside /{pattern}/ is only supported at the ends of the pattern");
            case RegexConcat c: foreach (var i in c.Items) CheckNoAnchor(i, pattern); break;
            case RegexAlt a: foreach (var i in a.Items) CheckNoAnchor(i, pattern); break;
            case RegexRepeat r: CheckNoAnchor(r.Item, pattern); break;
        }
    }

    /// <summary>Thompson construction over bytes.</summary>
    private sealed class Nfa
    {
        private readonly List<List<int>> _eps = new();
        private readonly List<List<(byte Lo, byte Hi, int To)>> _edges = new();

        private int NewState()
        {
            if (_eps.Count >= MaxNfaStates) throw new GuidedBuildException($"regular expression expands to more than {MaxNfaStates} NFA states");
            _eps.Add(new List<int>());
            _edges.Add(new List<(byte, byte, int)>());
            return _eps.Count - 1;
        }

        public (int Start, int End) Build(RegexNode node)
        {
            switch (node)
            {
                case RegexChars ch:
                {
                    int s = NewState(), e = NewState();
                    foreach (var seq in ch.Set.Utf8Sequences())
                    {
                        int cur = s;
                        for (int i = 0; i < seq.Length; i++)
                        {
                            int to = i == seq.Length - 1 ? e : NewState();
                            _edges[cur].Add((seq[i].Lo, seq[i].Hi, to));
                            cur = to;
                        }
                    }
                    return (s, e);
                }
                case RegexConcat c:
                {
                    int s = NewState();
                    int cur = s;
                    foreach (var item in c.Items)
                    {
                        var (a, b) = Build(item);
                        _eps[cur].Add(a);
                        cur = b;
                    }
                    return (s, cur);
                }
                case RegexAlt alt:
                {
                    int s = NewState(), e = NewState();
                    foreach (var item in alt.Items)
                    {
                        var (a, b) = Build(item);
                        _eps[s].Add(a);
                        _eps[b].Add(e);
                    }
                    return (s, e);
                }
                case RegexRepeat r:
                {
                    int s = NewState();
                    int cur = s;
                    for (int i = 0; i < r.Min; i++)
                    {
                        var (a, b) = Build(r.Item);
                        _eps[cur].Add(a);
                        cur = b;
                    }
                    if (r.Max < 0)
                    {
                        var (a, b) = Build(r.Item);
                        int e = NewState();
                        _eps[cur].Add(a);
                        _eps[cur].Add(e);
                        _eps[b].Add(a);
                        _eps[b].Add(e);
                        return (s, e);
                    }
                    int end = NewState();
                    _eps[cur].Add(end);
                    for (int i = r.Min; i < r.Max; i++)
                    {
                        var (a, b) = Build(r.Item);
                        _eps[cur].Add(a);
                        _eps[b].Add(end);
                        cur = b;
                    }
                    return (s, end);
                }
                default:
                    throw new RegexSyntaxException("unsupported regex construct " + node.GetType().Name);
            }
        }

        private int[] Closure(IEnumerable<int> seeds)
        {
            var seen = new HashSet<int>();
            var stack = new Stack<int>();
            foreach (var s in seeds) if (seen.Add(s)) stack.Push(s);
            while (stack.Count > 0)
            {
                int s = stack.Pop();
                foreach (var t in _eps[s]) if (seen.Add(t)) stack.Push(t);
            }
            var arr = seen.ToArray();
            Array.Sort(arr);
            return arr;
        }

        public ByteDfa ToDfa(int start, int end, int limit)
        {
            var startSet = new StateSet(Closure([start]));
            var targets = new List<int>();
            return DfaBuilder.Build(startSet, (in StateSet set, byte b, out StateSet next, out bool counted) =>
            {
                counted = false;
                targets.Clear();
                foreach (var s in set.States)
                    foreach (var (lo, hi, to) in _edges[s])
                        if (b >= lo && b <= hi) targets.Add(to);
                if (targets.Count == 0) { next = default; return false; }
                next = new StateSet(Closure(targets));
                return true;
            }, set => Array.BinarySearch(set.States, end) >= 0, limit);
        }
    }

    /// <summary>A set of NFA states, compared by content.</summary>
    private readonly struct StateSet(int[] states) : IEquatable<StateSet>
    {
        public readonly int[] States = states;
        private readonly int _hash = Hash(states);

        private static int Hash(int[] s)
        {
            var h = new HashCode();
            foreach (var x in s) h.Add(x);
            return h.ToHashCode();
        }

        public bool Equals(StateSet other) => _hash == other._hash && States.AsSpan().SequenceEqual(other.States);
        public override bool Equals(object? obj) => obj is StateSet s && Equals(s);
        public override int GetHashCode() => _hash;
    }
}
