using System.Globalization;
using Modular.Abstractions;
using Modular.Plugins.Guided.Lexing;
using Modular.Plugins.Guided.Parsing;
using Modular.Plugins.Guided.Regex;

namespace Modular.Plugins.Guided.Grammar;

/// <summary>
/// Compiles GBNF grammars (<c>root ::= ...</c>; alternation, sequences, groups, <c>* + ? {m,n}</c>, character
/// classes, string literals, comments) into grammar frames. Terminals are single code points, so no lexing
/// ambiguity arises; repetition becomes right recursion. Left recursion is refused.
/// </summary>
public sealed class GbnfCompiler
{
    private readonly string _src;
    private readonly LexemeTable _table;
    private int _i;
    private const int MaxGroupDepth = 200;
    private int _groupDepth;
    private readonly Dictionary<string, int> _ruleIds = new();
    private readonly List<List<GSymbol[]>?> _rules = new();
    private readonly List<string> _names = new();
    private readonly HashSet<string> _defined = new();

    private GbnfCompiler(string src, LexemeTable table)
    {
        _src = src;
        _table = table;
    }

    /// <summary>Compiles <paramref name="text"/> and returns the initial configurations.</summary>
    public static List<Frame?> Compile(string text, LexemeTable table)
    {
        var c = new GbnfCompiler(text, table);
        c.ParseGrammar();
        if (!c._ruleIds.TryGetValue("root", out int root) || !c._defined.Contains("root"))
            throw new GuidedSpecException("grammar has no 'root' rule");
        foreach (var name in c._ruleIds.Keys)
            if (!c._defined.Contains(name)) throw new GuidedSpecException($"grammar rule '{name}' is used but never defined");
        var rules = new GRules { Rules = c._rules.Select(r => r!.ToArray()).ToArray(), Names = c._names.ToArray() };
        CheckLeftRecursion(rules);
        var output = new List<Frame?>();
        SeqFrame.Normalize(rules, [new GSymbol(false, root)], 0, null, output);
        return output;
    }

    private GuidedSpecException Error(string what)
    {
        int line = 1 + _src.Take(Math.Min(_i, _src.Length)).Count(ch => ch == '\n');
        return new GuidedSpecException($"grammar line {line}: {what}");
    }

    private int RuleId(string name)
    {
        if (_ruleIds.TryGetValue(name, out int id)) return id;
        id = _rules.Count;
        _ruleIds[name] = id;
        _rules.Add(null);
        _names.Add(name);
        return id;
    }

    private int NewRule(List<GSymbol[]> alts, string hint)
    {
        int id = _rules.Count;
        _rules.Add(alts);
        _names.Add(hint);
        return id;
    }

    private void SkipSpace(bool newlines = true)
    {
        while (_i < _src.Length)
        {
            char c = _src[_i];
            if (c == '#') { while (_i < _src.Length && _src[_i] != '\n') _i++; }
            else if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) _i++;
            else break;
        }
    }

    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_';

    private string? PeekName(out int end)
    {
        end = _i;
        while (end < _src.Length && IsNameChar(_src[end])) end++;
        return end > _i ? _src[_i..end] : null;
    }

    private bool AtRuleStart()
    {
        var name = PeekName(out int end);
        if (name is null) return false;
        int j = end;
        while (j < _src.Length && (_src[j] == ' ' || _src[j] == '\t')) j++;
        return string.CompareOrdinal(_src, j, "::=", 0, 3) == 0;
    }

    private void ParseGrammar()
    {
        SkipSpace();
        while (_i < _src.Length)
        {
            var name = PeekName(out int end) ?? throw Error("expected a rule name");
            _i = end;
            SkipSpace(false);
            if (string.CompareOrdinal(_src, _i, "::=", 0, 3) != 0) throw Error($"expected '::=' after '{name}'");
            _i += 3;
            if (!_defined.Add(name)) throw Error($"rule '{name}' defined twice");
            int id = RuleId(name);
            _rules[id] = ParseAlternation(topLevel: true);
            SkipSpace();
        }
    }

    private List<GSymbol[]> ParseAlternation(bool topLevel)
    {
        var alts = new List<GSymbol[]> { ParseSequence(topLevel) };
        while (true)
        {
            SkipSpace();
            if (_i < _src.Length && _src[_i] == '|') { _i++; alts.Add(ParseSequence(topLevel)); }
            else break;
        }
        return alts;
    }

    private GSymbol[] ParseSequence(bool topLevel)
    {
        var seq = new List<GSymbol>();
        while (true)
        {
            SkipSpace();
            if (_i >= _src.Length) break;
            char c = _src[_i];
            if (c == '|' || c == ')') break;
            if (topLevel && AtRuleStart()) break;
            var before = seq.Count;
            ParsePrimary(seq);
            ParseQuantifier(seq, before);
        }
        return seq.ToArray();
    }

    private void ParsePrimary(List<GSymbol> seq)
    {
        char c = _src[_i];
        if (c == '"')
        {
            _i++;
            while (true)
            {
                if (_i >= _src.Length) throw Error("unterminated string literal");
                if (_src[_i] == '"') { _i++; break; }
                int cp = ReadChar();
                seq.Add(Terminal(CharSet.Single(cp)));
            }
        }
        else if (c == '[') seq.Add(Terminal(ParseClass()));
        else if (c == '.') { _i++; seq.Add(Terminal(CharSet.Any)); }
        else if (c == '(')
        {
            _i++;
            // Groups recurse in this parser; bound them so a hostile grammar cannot exhaust the stack.
            if (++_groupDepth > MaxGroupDepth) throw Error($"groups nested deeper than {MaxGroupDepth}");
            var alts = ParseAlternation(topLevel: false);
            _groupDepth--;
            SkipSpace();
            if (_i >= _src.Length || _src[_i] != ')') throw Error("missing ')'");
            _i++;
            seq.Add(new GSymbol(false, NewRule(alts, "(group)")));
        }
        else
        {
            var name = PeekName(out int end) ?? throw Error($"unexpected '{c}'");
            _i = end;
            seq.Add(new GSymbol(false, RuleId(name)));
        }
    }

    private void ParseQuantifier(List<GSymbol> seq, int start)
    {
        if (_i >= _src.Length) return;
        char q = _src[_i];
        int min, max;
        if (q == '*') { min = 0; max = -1; _i++; }
        else if (q == '+') { min = 1; max = -1; _i++; }
        else if (q == '?') { min = 0; max = 1; _i++; }
        else if (q == '{')
        {
            int close = _src.IndexOf('}', _i);
            if (close < 0) throw Error("unterminated {m,n}");
            var parts = _src[(_i + 1)..close].Split(',');
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out min)) throw Error("bad repetition");
            max = parts.Length == 1 ? min : parts[1].Trim().Length == 0 ? -1 :
                int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int m) ? m : throw Error("bad repetition");
            if (max >= 0 && max < min || min > 1000 || max > 1000) throw Error("bad repetition bounds");
            _i = close + 1;
        }
        else return;
        // The quantified item is the last primary (a literal may have produced several symbols: group them).
        var item = seq.GetRange(start, seq.Count - start).ToArray();
        seq.RemoveRange(start, seq.Count - start);
        var one = item.Length == 1 ? item[0] : new GSymbol(false, NewRule([item], "(item)"));
        for (int k = 0; k < min; k++) seq.Add(one);
        if (max < 0)
        {
            // star ::= one star | ε
            int star = NewRule(new List<GSymbol[]>(), "(star)");
            _rules[star]!.Add([one, new GSymbol(false, star)]);
            _rules[star]!.Add([]);
            seq.Add(new GSymbol(false, star));
        }
        else
        {
            // Nested optionals: opt_k ::= one opt_{k-1} | ε
            int rest = -1;
            for (int k = min; k < max; k++)
            {
                var alt = rest < 0 ? new[] { one } : [one, new GSymbol(false, rest)];
                rest = NewRule([alt, []], "(opt)");
            }
            if (rest >= 0) seq.Add(new GSymbol(false, rest));
        }
    }

    private GSymbol Terminal(CharSet set)
    {
        var key = "cc:" + string.Join(",", set.Ranges.Select(r => $"{r.Lo:x}-{r.Hi:x}"));
        int lex = _table.Intern(key, () => RegexCompiler.CompileNode(new RegexChars(set)), whitespace: false);
        return new GSymbol(true, lex);
    }

    private int ReadChar()
    {
        char c = _src[_i];
        if (c != '\\')
        {
            int cp = char.ConvertToUtf32(_src, _i);
            _i += char.IsSurrogatePair(_src, _i) ? 2 : 1;
            return cp;
        }
        _i++;
        if (_i >= _src.Length) throw Error("trailing backslash");
        char e = _src[_i++];
        switch (e)
        {
            case 'n': return '\n';
            case 'r': return '\r';
            case 't': return '\t';
            case 'x': return Hex(2);
            case 'u': return Hex(4);
            case 'U': return Hex(8);
            default: return e;
        }
    }

    private int Hex(int n)
    {
        if (_i + n > _src.Length || !int.TryParse(_src.AsSpan(_i, n), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw Error("bad hex escape");
        _i += n;
        return v;
    }

    private CharSet ParseClass()
    {
        _i++;
        bool negate = _i < _src.Length && _src[_i] == '^';
        if (negate) _i++;
        var ranges = new List<(int, int)>();
        while (true)
        {
            if (_i >= _src.Length) throw Error("unterminated character class");
            if (_src[_i] == ']') { _i++; break; }
            int lo = ReadChar();
            int hi = lo;
            if (_i + 1 < _src.Length && _src[_i] == '-' && _src[_i + 1] != ']') { _i++; hi = ReadChar(); }
            if (hi < lo) throw Error("character range out of order");
            ranges.Add((lo, hi));
        }
        var set = CharSet.Of(ranges);
        return negate ? set.Complement() : set;
    }

    private static void CheckLeftRecursion(GRules g)
    {
        int n = g.Rules.Length;
        var nullable = new bool[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int r = 0; r < n; r++)
                if (!nullable[r] && g.Rules[r].Any(alt => alt.All(s => !s.Terminal && nullable[s.Value]))) { nullable[r] = changed = true; }
        }
        // Edges to rules reachable at the left edge (through nullable prefixes).
        var left = new List<int>[n];
        for (int r = 0; r < n; r++)
        {
            left[r] = new List<int>();
            foreach (var alt in g.Rules[r])
                foreach (var s in alt)
                {
                    if (s.Terminal) break;
                    left[r].Add(s.Value);
                    if (!nullable[s.Value]) break;
                }
        }
        var state = new byte[n];
        void Visit(int r)
        {
            state[r] = 1;
            foreach (var t in left[r])
            {
                if (state[t] == 1) throw new GuidedSpecException($"grammar rule '{g.Names[t]}' is left-recursive; rewrite it with repetition");
                if (state[t] == 0) Visit(t);
            }
            state[r] = 2;
        }
        for (int r = 0; r < n; r++) if (state[r] == 0) Visit(r);
    }
}
