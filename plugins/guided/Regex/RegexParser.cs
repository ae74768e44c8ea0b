using System.Globalization;

namespace Modular.Plugins.Guided.Regex;

/// <summary>
/// Parses ECMAScript-style regular expressions (the dialect JSON Schema's <c>pattern</c> uses) into
/// <see cref="RegexNode"/>. Constructs that are not regular or need backtracking (backreferences, lookaround,
/// word boundaries) are refused with <see cref="RegexSyntaxException"/>.
/// </summary>
public sealed class RegexParser
{
    /// <summary>Largest repetition bound accepted ({n,m} with m above this is refused).</summary>
    public const int MaxRepeat = 1000;

    /// <summary>Deepest group nesting accepted; deeper patterns are refused before they can exhaust the stack.</summary>
    public const int MaxDepth = 200;

    private int _depth;

    private readonly string _p;
    private int _i;

    private RegexParser(string pattern) => _p = pattern;

    /// <summary>Parses <paramref name="pattern"/>.</summary>
    public static RegexNode Parse(string pattern)
    {
        // Lone surrogates (possible through JSON \uD800 escapes) are not characters; refuse them up front so every
        // code-point read below sees well-formed UTF-16.
        for (int i = 0; i < pattern.Length; i++)
        {
            if (char.IsHighSurrogate(pattern[i]) && i + 1 < pattern.Length && char.IsLowSurrogate(pattern[i + 1])) { i++; continue; }
            if (char.IsSurrogate(pattern[i])) throw new RegexSyntaxException($"lone surrogate U+{(int)pattern[i]:X4} at offset {i} of the pattern");
        }
        var parser = new RegexParser(pattern);
        var node = parser.ParseAlt();
        if (parser._i < parser._p.Length) throw parser.Error($"unexpected '{parser._p[parser._i]}'");
        return node;
    }

    private RegexSyntaxException Error(string what) => new($"{what} at offset {_i} of /{_p}/");

    private bool More => _i < _p.Length;
    private char Peek => _p[_i];

    private RegexNode ParseAlt()
    {
        var alts = new List<RegexNode> { ParseConcat() };
        while (More && Peek == '|') { _i++; alts.Add(ParseConcat()); }
        return alts.Count == 1 ? alts[0] : new RegexAlt(alts);
    }

    private RegexNode ParseConcat()
    {
        var items = new List<RegexNode>();
        while (More && Peek != '|' && Peek != ')')
        {
            var atom = ParseAtom();
            atom = ParseQuantifiers(atom);
            items.Add(atom);
        }
        return items.Count == 1 ? items[0] : new RegexConcat(items);
    }

    private RegexNode ParseQuantifiers(RegexNode atom)
    {
        while (More)
        {
            int min, max;
            char c = Peek;
            if (c == '*') { min = 0; max = -1; _i++; }
            else if (c == '+') { min = 1; max = -1; _i++; }
            else if (c == '?') { min = 0; max = 1; _i++; }
            else if (c == '{' && TryParseBraces(out min, out max)) { }
            else break;
            if (atom is RegexAnchor) throw Error("quantifier on an anchor");
            // Lazy and possessive suffixes do not change the language.
            if (More && (Peek == '?' || Peek == '+')) _i++;
            if (max > MaxRepeat || min > MaxRepeat) throw Error($"repetition bound above {MaxRepeat}");
            if (max >= 0 && max < min) throw Error("repetition {n,m} with m < n");
            atom = new RegexRepeat(atom, min, max);
        }
        return atom;
    }

    private bool TryParseBraces(out int min, out int max)
    {
        min = max = 0;
        int j = _i + 1;
        int start = j;
        while (j < _p.Length && char.IsAsciiDigit(_p[j])) j++;
        if (j == start) return false;
        if (!int.TryParse(_p.AsSpan(start, j - start), NumberStyles.None, CultureInfo.InvariantCulture, out min)) min = int.MaxValue;
        if (j < _p.Length && _p[j] == '}') { max = min; _i = j + 1; return true; }
        if (j >= _p.Length || _p[j] != ',') return false;
        j++;
        int s2 = j;
        while (j < _p.Length && char.IsAsciiDigit(_p[j])) j++;
        if (j >= _p.Length || _p[j] != '}') return false;
        if (j == s2) max = -1;
        else if (!int.TryParse(_p.AsSpan(s2, j - s2), NumberStyles.None, CultureInfo.InvariantCulture, out max)) max = int.MaxValue;
        _i = j + 1;
        return true;
    }

    private RegexNode ParseAtom()
    {
        char c = Peek;
        switch (c)
        {
            case '(':
                _i++;
                if (More && Peek == '?')
                {
                    _i++;
                    if (More && Peek == ':') _i++;
                    else if (More && (Peek == '<' || Peek == 'P') && !(_p.AsSpan(_i).StartsWith("<=") || _p.AsSpan(_i).StartsWith("<!")))
                    {
                        if (Peek == 'P') _i++;
                        int close = _p.IndexOf('>', _i);
                        if (close < 0) throw Error("unterminated group name");
                        _i = close + 1;
                    }
                    else throw Error("lookaround or inline flags are not supported (not regular without backtracking)");
                }
                if (++_depth > MaxDepth) throw Error($"groups nested deeper than {MaxDepth}");
                var inner = ParseAlt();
                _depth--;
                if (!More || Peek != ')') throw Error("missing ')'");
                _i++;
                return inner;
            case ')': throw Error("unbalanced ')'");
            case '[': return new RegexChars(ParseClass());
            case '.': _i++; return new RegexChars(CharSet.Dot);
            case '^': _i++; return new RegexAnchor(true);
            case '$': _i++; return new RegexAnchor(false);
            case '\\': return ParseEscapeAtom();
            case '*' or '+' or '?': throw Error($"nothing to repeat before '{c}'");
            default:
                _i += char.IsSurrogatePair(_p, _i) ? 2 : 1;
                return new RegexChars(CharSet.Single(char.ConvertToUtf32(_p, _i - (char.IsHighSurrogate(c) ? 2 : 1))));
        }
    }

    private RegexNode ParseEscapeAtom()
    {
        _i++;
        if (!More) throw Error("trailing backslash");
        char c = Peek;
        if (c == 'b' || c == 'B') throw Error("word boundary \\" + c + " is not supported");
        if (c is >= '1' and <= '9') throw Error("backreferences are not supported");
        if (c == 'k' && _i + 1 < _p.Length && _p[_i + 1] == '<') throw Error("named backreferences are not supported");
        return new RegexChars(ParseEscape(inClass: false));
    }

    /// <summary>Parses the escape after a backslash (the backslash already consumed).</summary>
    private CharSet ParseEscape(bool inClass)
    {
        char c = _p[_i++];
        switch (c)
        {
            case 'd': return CharSet.Digit;
            case 'D': return CharSet.Digit.Complement();
            case 'w': return CharSet.Word;
            case 'W': return CharSet.Word.Complement();
            case 's': return CharSet.Space;
            case 'S': return CharSet.Space.Complement();
            case 'n': return CharSet.Single('\n');
            case 'r': return CharSet.Single('\r');
            case 't': return CharSet.Single('\t');
            case 'f': return CharSet.Single('\f');
            case 'v': return CharSet.Single('\v');
            case '0': return CharSet.Single(0);
            case 'b' when inClass: return CharSet.Single('\b');
            case 'x': return CharSet.Single(ParseHex(2));
            case 'u':
                if (More && Peek == '{')
                {
                    int close = _p.IndexOf('}', _i);
                    if (close < 0) throw Error("unterminated \\u{");
                    var hex = _p.AsSpan(_i + 1, close - _i - 1);
                    _i = close + 1;
                    if (!int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp) || cp > CharSet.MaxCodePoint)
                        throw Error("bad \\u{...} escape");
                    return CharSet.Single(cp);
                }
                int u = ParseHex(4);
                // A surrogate pair written as two \u escapes.
                if (u is >= 0xD800 and <= 0xDBFF && _i + 5 < _p.Length && _p[_i] == '\\' && _p[_i + 1] == 'u')
                {
                    _i += 2;
                    int lo = ParseHex(4);
                    return CharSet.Single(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                }
                return CharSet.Single(u);
            case 'c':
                if (!More || !char.IsAsciiLetter(Peek)) throw Error("bad \\c escape");
                return CharSet.Single(_p[_i++] % 32);
            case 'p' or 'P':
                throw Error($"Unicode property escapes \\{c}{{...}} are not supported");
            default:
                if (char.IsAsciiLetterOrDigit(c)) throw Error($"unknown escape \\{c}");
                // An escaped character outside the BMP is a surrogate pair: take the whole code point.
                if (char.IsHighSurrogate(c) && More && char.IsLowSurrogate(Peek)) return CharSet.Single(char.ConvertToUtf32(c, _p[_i++]));
                if (char.IsSurrogate(c)) throw Error("lone surrogate in escape");
                return CharSet.Single(c);
        }
    }

    private int ParseHex(int n)
    {
        if (_i + n > _p.Length || !int.TryParse(_p.AsSpan(_i, n), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v))
            throw Error("bad hex escape");
        _i += n;
        return v;
    }

    private CharSet ParseClass()
    {
        _i++; // [
        bool negate = More && Peek == '^';
        if (negate) _i++;
        var ranges = new List<(int, int)>();
        CharSet? extra = null;
        bool first = true;
        while (true)
        {
            if (!More) throw Error("missing ']'");
            char c = Peek;
            if (c == ']' && !first) { _i++; break; }
            first = false;
            int lo;
            if (c == '\\')
            {
                _i++;
                if (!More) throw Error("trailing backslash");
                var set = ParseEscape(inClass: true);
                if (set.Ranges.Count != 1 || set.Ranges[0].Lo != set.Ranges[0].Hi)
                {
                    extra = extra is null ? set : extra.Union(set);
                    continue;
                }
                lo = set.Ranges[0].Lo;
            }
            else
            {
                lo = char.ConvertToUtf32(_p, _i);
                _i += char.IsSurrogatePair(_p, _i) ? 2 : 1;
            }
            if (_i + 1 < _p.Length && Peek == '-' && _p[_i + 1] != ']')
            {
                _i++;
                int hi;
                if (Peek == '\\')
                {
                    _i++;
                    var set = ParseEscape(inClass: true);
                    if (set.Ranges.Count != 1 || set.Ranges[0].Lo != set.Ranges[0].Hi) throw Error("class escape as a range bound");
                    hi = set.Ranges[0].Lo;
                }
                else
                {
                    hi = char.ConvertToUtf32(_p, _i);
                    _i += char.IsSurrogatePair(_p, _i) ? 2 : 1;
                }
                if (hi < lo) throw Error("range out of order in character class");
                ranges.Add((lo, hi));
            }
            else ranges.Add((lo, lo));
        }
        var result = CharSet.Of(ranges);
        if (extra is not null) result = result.Union(extra);
        return negate ? result.Complement() : result;
    }
}

/// <summary>A pattern outside the supported regular subset, or malformed.</summary>
public sealed class RegexSyntaxException(string message) : Exception(message);
