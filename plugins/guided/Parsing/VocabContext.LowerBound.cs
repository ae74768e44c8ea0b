using System.Collections.Concurrent;
using Modular.Plugins.Guided.Json;

namespace Modular.Plugins.Guided.Parsing;

/// <summary>
/// A lower bound on the distance to acceptance, the heuristic of the completion search: what the open frames still
/// need at the least. An object needs its '}' and, for each unseen required member, its quoted name, a colon and the
/// shortest value of its schema, with commas between; an array its ']' and, per missing item, a comma and the
/// shortest item; a pending value the shortest value of its schema. Shortest values are computed once per schema node
/// (a recursive reference counts one byte, which keeps it a lower bound). The tighter the bound, the fewer states
/// the search visits: with a bound of one byte per frame, ten required members with object values made it explore
/// every subset of members already written.
/// </summary>
public sealed partial class VocabContext
{
    private readonly ConcurrentDictionary<SchemaNode, int> _minValue = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<int, int> _minLexeme = new();
    [ThreadStatic] private static HashSet<SchemaNode>? _inProgress;

    private int LowerBound(in Cursor cur)
    {
        int best = int.MaxValue;
        foreach (var config in cur.State.Configs)
        {
            int sum = 0;
            bool top = true;
            for (var f = config; f is not null && sum < best; f = Parent(f), top = false)
                sum += top && !cur.AtStart && cur.Union >= 0 ? UnderWay(f, cur.Union) : FrameCost(f);
            best = Math.Min(best, sum);
        }
        return best == int.MaxValue ? 0 : best;
    }

    private static Frame? Parent(Frame f) => f switch
    {
        ValueFrame v => v.Parent,
        ObjectFrame o => o.Parent,
        ArrayFrame a => a.Parent,
        Grammar.SeqFrame s => s.Parent,
        LexemeFrame l => l.Parent,
        _ => null, // unknown frame kind: counted alone (still a lower bound)
    };

    /// <summary>
    /// Cost of a top frame whose lexeme is under way: the rest of that lexeme (the fewest bytes from each alive
    /// automaton state to acceptance) plus what follows it. For an object key, the member it may name is no longer
    /// missing in full: its key is replaced by the rest of the key.
    /// </summary>
    private int UnderWay(Frame f, int union)
    {
        var pairs = Lexer[union].Pairs;
        int rest = int.MaxValue;
        foreach (var p in pairs) rest = Math.Min(rest, RemainingBytes((int)(p >> 32), (int)p));
        if (rest == int.MaxValue) rest = 0;
        switch (f)
        {
            case ObjectFrame o when o.Phase is ObjectFrame.Open or ObjectFrame.AfterComma:
            {
                // The key under way may be a missing required name: credit the bytes of it already typed (at most).
                int credit = 0;
                foreach (var p in pairs)
                {
                    int lex = (int)(p >> 32);
                    int r = Array.IndexOf(o.Shape.NameLexemes, lex);
                    if (r < 0 || o.Seen.Get(r) || Array.IndexOf(o.Shape.Required, r) < 0) continue;
                    int typed = System.Text.Encoding.UTF8.GetByteCount(o.Shape.Names[r]) + 2 - RemainingBytes(lex, (int)p);
                    credit = Math.Max(credit, typed);
                }
                // A key under way that is not a required name still leaves every required member missing.
                return Math.Max(rest, FrameCost(f) - credit);
            }
            case ObjectFrame o:
                return FrameCost(f) - 1 + rest; // its ',' / '}' / ':' is the lexeme under way
            case ArrayFrame:
                return FrameCost(f) - 1 + rest;
            default:
                return rest; // a value or a terminal: the lexeme under way is all of it
        }
    }

    private readonly ConcurrentDictionary<int, int[]> _remaining = new();

    /// <summary>Fewest bytes from state <paramref name="state"/> of lexeme <paramref name="lex"/>'s automaton to acceptance (cached per lexeme).</summary>
    private int RemainingBytes(int lex, int state)
    {
        var dist = _remaining.GetOrAdd(lex, id =>
        {
            var dfa = Table[id].Dfa;
            int n = dfa.StateCount;
            var reverse = new List<int>?[n];
            for (int s = 0; s < n; s++)
                for (int b = 0; b < 256; b++)
                {
                    int t = dfa.Step(s, (byte)b);
                    if (t >= 0) (reverse[t] ??= new List<int>()).Add(s);
                }
            var d = new int[n];
            Array.Fill(d, int.MaxValue);
            var queue = new Queue<int>();
            for (int s = 0; s < n; s++) if (dfa.Accept[s]) { d[s] = 0; queue.Enqueue(s); }
            while (queue.Count > 0)
            {
                int t = queue.Dequeue();
                if (reverse[t] is not { } from) continue;
                foreach (var s in from) if (d[s] == int.MaxValue) { d[s] = d[t] + 1; queue.Enqueue(s); }
            }
            return d;
        });
        return state < dist.Length ? dist[state] : 0;
    }

    private int FrameCost(Frame f)
    {
        switch (f)
        {
            case ValueFrame v:
                return MinValue(v.Node);
            case ObjectFrame o:
            {
                int cost = 1 + (o.Phase == ObjectFrame.AfterKey && o.Pending is { } p ? 1 + MinValue(p) : 0);
                return cost + MissingMembers(o.Shape, o.Seen);
            }
            case ArrayFrame a:
            {
                int cost = 1;
                for (int i = a.Index; i < a.Shape.MinItems; i++) cost += 1 + (a.Shape.Item(i) is { } item ? MinValue(item) : 1);
                return cost;
            }
            case LexemeFrame l:
            {
                int min = int.MaxValue;
                foreach (var lex in l.Lexemes) min = Math.Min(min, MinLexeme(lex));
                return min == int.MaxValue ? 1 : min;
            }
            default:
                return 1;
        }
    }

    /// <summary>Bytes of the unseen required members of an object: name in quotes, colon, shortest value, commas between.</summary>
    private int MissingMembers(ObjectShape shape, Bits seen)
    {
        int cost = 0, missing = 0;
        foreach (var r in shape.Required)
        {
            if (seen.Get(r)) continue;
            // Escapes only lengthen a name, so its UTF-8 length is a lower bound.
            cost += System.Text.Encoding.UTF8.GetByteCount(shape.Names[r]) + 3 + MinValue(shape.Values[r]);
            missing++;
        }
        return cost + Math.Max(0, missing - 1);
    }

    /// <summary>Fewest bytes of a value of <paramref name="node"/> (a lower bound; cached).</summary>
    private int MinValue(SchemaNode node)
    {
        if (_minValue.TryGetValue(node, out int done)) return done;
        var busy = _inProgress ??= new HashSet<SchemaNode>(ReferenceEqualityComparer.Instance);
        if (!busy.Add(node)) return 1; // recursion: any value takes a byte
        int min = int.MaxValue;
        try
        {
            if (node.AnyOf is { } alts)
                foreach (var a in alts) min = Math.Min(min, MinValue(a));
            foreach (var lex in node.Scalars) min = Math.Min(min, MinLexeme(lex));
            if (node.Object is { } obj) min = Math.Min(min, 2 + MissingMembers(obj, Bits.Empty));
            if (node.Array is { } arr)
            {
                int cost = 2;
                for (int i = 0; i < arr.MinItems; i++) cost += (i > 0 ? 1 : 0) + (arr.Item(i) is { } item ? MinValue(item) : 1);
                min = Math.Min(min, cost);
            }
        }
        finally { busy.Remove(node); }
        if (min == int.MaxValue) min = 1;
        if (busy.Count == 0) _minValue.TryAdd(node, min); // inside a recursion the value may be cut short: not cached
        return min;
    }

    /// <summary>Fewest bytes of lexeme <paramref name="id"/>: breadth-first over its automaton (whitespace prefix optional).</summary>
    private int MinLexeme(int id)
    {
        if (_minLexeme.TryGetValue(id, out int done)) return done;
        var dfa = Table[id].Dfa;
        var dist = new int[dfa.StateCount];
        Array.Fill(dist, -1);
        var queue = new Queue<int>();
        dist[0] = 0;
        queue.Enqueue(0);
        int min = 1;
        while (queue.Count > 0)
        {
            int s = queue.Dequeue();
            if (dfa.Accept[s] && dist[s] > 0) { min = dist[s]; break; }
            for (int b = 0; b < 256; b++)
            {
                int t = dfa.Step(s, (byte)b);
                if (t >= 0 && dist[t] < 0) { dist[t] = dist[s] + 1; queue.Enqueue(t); }
            }
        }
        min = Math.Max(min, Table[id].MinCount); // each counted code point is at least a byte
        _minLexeme.TryAdd(id, min);
        return min;
    }
}
