namespace Modular.Plugins.Guided.Automata;

/// <summary>
/// Builds <see cref="ByteDfa"/> tables by exploring a step function from a start state (breadth first), then trims
/// states that cannot reach acceptance so that every live state is a viable prefix. Product constructions
/// (pattern ∧ ¬keys, JSON escapes × content, number bounds) are all written as step functions over small structs.
/// </summary>
public static class DfaBuilder
{
    /// <summary>Default cap on materialized states; larger automata are refused as too complex.</summary>
    public const int DefaultStateLimit = 20_000;

    /// <summary>One step: returns false for the dead state; <paramref name="counted"/> marks a new code point.</summary>
    public delegate bool StepFunction<T>(in T state, byte b, out T next, out bool counted);

    /// <summary>Explores <paramref name="step"/> from <paramref name="start"/> and returns the trimmed automaton.</summary>
    /// <exception cref="GuidedBuildException">More than <paramref name="limit"/> states.</exception>
    public static ByteDfa Build<T>(T start, StepFunction<T> step, Func<T, bool> accept, int limit = DefaultStateLimit)
        where T : struct, IEquatable<T>
    {
        var ids = new Dictionary<T, int> { [start] = 0 };
        var states = new List<T> { start };
        var next = new List<int>(256 * 16);
        for (int i = 0; i < states.Count; i++)
        {
            var s = states[i];
            if ((i & 63) == 0) CompileBudget.Check();
            for (int b = 0; b < 256; b++)
            {
                if (!step(in s, (byte)b, out var n, out bool counted)) { next.Add(-1); continue; }
                if (!ids.TryGetValue(n, out int id))
                {
                    id = states.Count;
                    if (id >= limit) throw new GuidedBuildException($"automaton exceeds {limit} states");
                    ids[n] = id;
                    states.Add(n);
                }
                next.Add(counted ? id | ByteDfa.CountFlag : id);
            }
        }
        var acc = new bool[states.Count];
        for (int i = 0; i < acc.Length; i++) acc[i] = accept(states[i]);
        return Trim(next.ToArray(), acc);
    }

    /// <summary>Removes states that cannot reach an accepting state and renumbers (start stays 0).</summary>
    public static ByteDfa Trim(int[] next, bool[] accept)
    {
        int n = accept.Length;
        var preds = new List<int>[n];
        for (int s = 0; s < n; s++)
            for (int b = 0; b < 256; b++)
            {
                int t = next[s * 256 + b];
                if (t < 0) continue;
                t &= ByteDfa.StateMask;
                (preds[t] ??= new List<int>()).Add(s);
            }
        var live = new bool[n];
        var queue = new Queue<int>();
        for (int s = 0; s < n; s++) if (accept[s]) { live[s] = true; queue.Enqueue(s); }
        while (queue.Count > 0)
        {
            int t = queue.Dequeue();
            if (preds[t] is null) continue;
            foreach (var p in preds[t]) if (!live[p]) { live[p] = true; queue.Enqueue(p); }
        }
        // Renumber the live states reachable from the start, breadth first, so the start stays 0.
        var map = new int[n];
        Array.Fill(map, -1);
        var order = new List<int>();
        if (live[0]) { map[0] = 0; order.Add(0); }
        for (int i = 0; i < order.Count; i++)
        {
            int s = order[i];
            for (int b = 0; b < 256; b++)
            {
                int t = next[s * 256 + b];
                if (t < 0) continue;
                t &= ByteDfa.StateMask;
                if (live[t] && map[t] < 0) { map[t] = order.Count; order.Add(t); }
            }
        }
        if (order.Count == 0) return new ByteDfa(Enumerable.Repeat(-1, 256).ToArray(), new bool[1]);
        var outNext = new int[order.Count * 256];
        var outAcc = new bool[order.Count];
        for (int i = 0; i < order.Count; i++)
        {
            int s = order[i];
            outAcc[i] = accept[s];
            for (int b = 0; b < 256; b++)
            {
                int t = next[s * 256 + b];
                if (t < 0 || !live[t & ByteDfa.StateMask]) { outNext[i * 256 + b] = -1; continue; }
                outNext[i * 256 + b] = map[t & ByteDfa.StateMask] | (t & ByteDfa.CountFlag);
            }
        }
        return MergeEqualRows(outNext, outAcc);
    }

    /// <summary>
    /// Merges states with identical rows (same acceptance, same targets and count flags on every byte), repeatedly
    /// until none are left: a partial minimization that is cheap and catches what matters for masks, a start state
    /// equivalent to the loop it enters ("any string" content), so that free-text states loop on themselves from their
    /// first byte, and states that differ only in how they were reached. The language and the count flags are kept.
    /// </summary>
    private static ByteDfa MergeEqualRows(int[] next, bool[] accept)
    {
        for (int pass = 0; pass < 64; pass++)
        {
            int n = accept.Length;
            var rep = new int[n];
            var rows = new Dictionary<Row, int>(n);
            int classes = 0;
            var newId = new int[n];
            for (int s = 0; s < n; s++)
            {
                var key = new Row(next, s, accept[s]);
                if (rows.TryGetValue(key, out int r)) { rep[s] = r; newId[s] = newId[r]; }
                else { rows[key] = s; rep[s] = s; newId[s] = classes++; }
            }
            if (classes == n) break;
            var merged = new int[classes * 256];
            var acc = new bool[classes];
            for (int s = 0; s < n; s++)
            {
                if (rep[s] != s) continue;
                int c = newId[s];
                acc[c] = accept[s];
                for (int b = 0; b < 256; b++)
                {
                    int t = next[s * 256 + b];
                    merged[c * 256 + b] = t < 0 ? -1 : newId[t & ByteDfa.StateMask] | (t & ByteDfa.CountFlag);
                }
            }
            next = merged;
            accept = acc;
        }
        return new ByteDfa(next, accept);
    }

    /// <summary>One state's row of a transition table, compared by content.</summary>
    private readonly struct Row : IEquatable<Row>
    {
        private readonly int[] _next;
        private readonly int _offset;
        private readonly bool _accept;
        private readonly int _hash;

        public Row(int[] next, int state, bool accept)
        {
            _next = next;
            _offset = state * 256;
            _accept = accept;
            var h = new HashCode();
            h.Add(accept);
            foreach (var t in next.AsSpan(_offset, 256)) h.Add(t);
            _hash = h.ToHashCode();
        }

        public bool Equals(Row other) =>
            _hash == other._hash && _accept == other._accept && _next.AsSpan(_offset, 256).SequenceEqual(other._next.AsSpan(other._offset, 256));

        public override bool Equals(object? obj) => obj is Row r && Equals(r);

        public override int GetHashCode() => _hash;
    }

    /// <summary>Automaton accepting exactly the given byte strings.</summary>
    public static ByteDfa Literals(IEnumerable<byte[]> words)
    {
        // A trie is already deterministic.
        var next = new List<int>();
        var acc = new List<bool>();
        int NewState() { for (int i = 0; i < 256; i++) next.Add(-1); acc.Add(false); return acc.Count - 1; }
        NewState();
        foreach (var w in words)
        {
            int s = 0;
            foreach (var b in w)
            {
                int t = next[s * 256 + b];
                if (t < 0) { t = NewState(); next[s * 256 + b] = t; }
                s = t;
            }
            acc[s] = true;
        }
        return Trim(next.ToArray(), acc.ToArray());
    }
}

/// <summary>Internal failure while building an automaton; callers turn it into a <c>GuidedSpecException</c> with a path.</summary>
public sealed class GuidedBuildException(string message) : Exception(message);
