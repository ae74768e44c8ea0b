using System.Globalization;
using System.Text;

namespace Modular.Templates.Lexing;

/// <summary>
/// Splits a template into text and tag tokens, applying Jinja's whitespace control the way Hugging Face configures it:
/// <c>trim_blocks</c> (the newline after a block or comment tag is dropped) and <c>lstrip_blocks</c> (spaces and tabs
/// before a block or comment tag that starts a line are dropped), plus explicit <c>-</c> and <c>+</c> markers.
/// The caller has already normalised newlines to "\n" and removed one trailing newline (keep_trailing_newline off).
/// </summary>
internal sealed class Lexer
{
    private static readonly string[] Operators =
    [
        "**", "//", "==", "!=", "<=", ">=",
        "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|",
    ];

    private readonly string _src;
    private readonly SourceMap _map;
    private readonly List<Token> _tokens = new();

    private Lexer(string source, SourceMap map)
    {
        _src = source;
        _map = map;
    }

    public static List<Token> Tokenize(string source, SourceMap map)
    {
        var lexer = new Lexer(source, map);
        lexer.Run();
        return lexer._tokens;
    }

    private TemplateSyntaxException Error(int offset, string construct, string reason)
    {
        var (line, col) = _map.Locate(offset);
        return new TemplateSyntaxException(reason, line, col, construct);
    }

    private void Run()
    {
        int pos = 0;
        bool lineStarting = true;
        while (true)
        {
            int tag = FindTagStart(pos);
            string text = _src.Substring(pos, (tag < 0 ? _src.Length : tag) - pos);
            if (tag < 0)
            {
                EmitText(text, pos);
                break;
            }

            char kind = _src[tag + 1];
            char sign = tag + 2 < _src.Length ? _src[tag + 2] : '\0';
            if (sign == '-')
                text = text.TrimEnd();
            else if (sign != '+' && kind != '{')
                text = LStripBlock(text, lineStarting);
            EmitText(text, pos);

            int inner = tag + 2 + (sign == '-' || (sign == '+' && kind != '{') ? 1 : 0);
            int after = kind switch
            {
                '#' => SkipComment(tag, inner),
                '%' => LexTag(tag, inner, isBlock: true),
                _ => LexTag(tag, inner, isBlock: false),
            };
            if (kind == '%' && IsRawOpen()) after = LexRaw(tag, after);
            lineStarting = after > 0 && _src[after - 1] == '\n';
            pos = after;
        }
        _tokens.Add(new Token(TokenKind.End, "", _src.Length));
    }

    private int FindTagStart(int from)
    {
        while (true)
        {
            int i = _src.IndexOf('{', from);
            if (i < 0 || i + 1 >= _src.Length) return -1;
            char c = _src[i + 1];
            if (c == '{' || c == '%' || c == '#') return i;
            from = i + 1;
        }
    }

    /// <summary>lstrip_blocks: drop the spaces before a tag when only whitespace precedes it on its line.</summary>
    private static string LStripBlock(string text, bool lineStarting)
    {
        int lineStart = text.LastIndexOf('\n') + 1;
        if (lineStart == 0 && !lineStarting) return text;
        for (int i = lineStart; i < text.Length; i++)
            if (!char.IsWhiteSpace(text[i])) return text;
        return text.Substring(0, lineStart);
    }

    private void EmitText(string text, int offset)
    {
        if (text.Length > 0) _tokens.Add(new Token(TokenKind.Text, text, offset));
    }

    /// <summary>Returns the offset after the tag's closing marker, its trailing whitespace control applied.</summary>
    private int AfterClose(int closeEnd, bool minus, bool plus, bool trimNewline)
    {
        int p = closeEnd;
        if (minus)
        {
            while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
        }
        else if (trimNewline && !plus && p < _src.Length && _src[p] == '\n')
        {
            p++;
        }
        return p;
    }

    private int SkipComment(int tag, int inner)
    {
        int close = _src.IndexOf("#}", inner, StringComparison.Ordinal);
        if (close < 0) throw Error(tag, "comment", "unclosed comment: '{#' has no matching '#}'");
        bool minus = close > inner && _src[close - 1] == '-';
        bool plus = close > inner && _src[close - 1] == '+';
        return AfterClose(close + 2, minus, plus, trimNewline: true);
    }

    private int LexTag(int tag, int pos, bool isBlock)
    {
        string construct = isBlock ? "block tag" : "output tag";
        _tokens.Add(new Token(isBlock ? TokenKind.BlockBegin : TokenKind.VariableBegin, "", tag));
        var brackets = new Stack<(char Close, int Offset)>();
        while (true)
        {
            while (pos < _src.Length && char.IsWhiteSpace(_src[pos])) pos++;
            if (pos >= _src.Length)
            {
                if (brackets.Count > 0)
                    throw Error(brackets.Peek().Offset, construct, $"unclosed bracket: expected '{brackets.Peek().Close}' before the end of the template");
                throw Error(tag, construct, isBlock ? "unclosed tag: '{%' has no matching '%}'" : "unclosed tag: '{{' has no matching '}}'");
            }
            if (brackets.Count == 0 && TryClose(pos, isBlock, out int after))
            {
                _tokens.Add(new Token(isBlock ? TokenKind.BlockEnd : TokenKind.VariableEnd, "", pos));
                return after;
            }
            char c = _src[pos];
            if (char.IsAsciiLetter(c) || c == '_')
            {
                int start = pos;
                while (pos < _src.Length && (char.IsAsciiLetterOrDigit(_src[pos]) || _src[pos] == '_')) pos++;
                _tokens.Add(new Token(TokenKind.Name, _src.Substring(start, pos - start), start));
            }
            else if (char.IsAsciiDigit(c))
            {
                pos = LexNumber(pos, construct);
            }
            else if (c == '\'' || c == '"')
            {
                pos = LexString(pos, construct);
            }
            else
            {
                string? op = null;
                foreach (var candidate in Operators)
                    if (string.CompareOrdinal(_src, pos, candidate, 0, candidate.Length) == 0) { op = candidate; break; }
                if (op is null) throw Error(pos, construct, $"unexpected character '{c}'");
                if (op is "(" or "[" or "{")
                    brackets.Push((op == "(" ? ')' : op == "[" ? ']' : '}', pos));
                else if (op is ")" or "]" or "}")
                {
                    if (brackets.Count == 0) throw Error(pos, construct, $"unexpected '{op}'");
                    var open = brackets.Pop();
                    if (open.Close != op[0]) throw Error(pos, construct, $"unexpected '{op}', expected '{open.Close}'");
                }
                if (brackets.Count > 0 && isBlock && op == "%" && pos + 1 < _src.Length && _src[pos + 1] == '}')
                    throw Error(brackets.Peek().Offset, construct, $"unclosed bracket: expected '{brackets.Peek().Close}' before '%}}'");
                _tokens.Add(new Token(TokenKind.Operator, op, pos));
                pos += op.Length;
            }
        }
    }

    private bool TryClose(int pos, bool isBlock, out int after)
    {
        after = 0;
        string close = isBlock ? "%}" : "}}";
        char first = _src[pos];
        int markerLen = (first == '-' || (first == '+' && isBlock)) ? 1 : 0;
        if (string.CompareOrdinal(_src, pos + markerLen, close, 0, 2) != 0) return false;
        after = AfterClose(pos + markerLen + 2, first == '-' && markerLen == 1, first == '+' && markerLen == 1, trimNewline: isBlock);
        return true;
    }

    private int LexNumber(int pos, string construct)
    {
        int start = pos;
        while (pos < _src.Length && (char.IsAsciiDigit(_src[pos]) || _src[pos] == '_')) pos++;
        bool isFloat = false;
        if (pos + 1 < _src.Length && _src[pos] == '.' && char.IsAsciiDigit(_src[pos + 1]))
        {
            isFloat = true;
            pos++;
            while (pos < _src.Length && (char.IsAsciiDigit(_src[pos]) || _src[pos] == '_')) pos++;
        }
        if (pos < _src.Length && (_src[pos] == 'e' || _src[pos] == 'E'))
        {
            int p = pos + 1;
            if (p < _src.Length && (_src[p] == '+' || _src[p] == '-')) p++;
            if (p < _src.Length && char.IsAsciiDigit(_src[p]))
            {
                isFloat = true;
                pos = p;
                while (pos < _src.Length && char.IsAsciiDigit(_src[pos])) pos++;
            }
        }
        string text = _src.Substring(start, pos - start).Replace("_", "");
        if (isFloat)
        {
            _tokens.Add(new Token(TokenKind.Float, text, start, double.Parse(text, CultureInfo.InvariantCulture)));
        }
        else
        {
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value))
                throw Error(start, construct, $"integer literal {text} is too large (limit {long.MaxValue})");
            _tokens.Add(new Token(TokenKind.Integer, text, start, value));
        }
        return pos;
    }

    private int LexString(int pos, string construct)
    {
        char quote = _src[pos];
        int start = pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (pos >= _src.Length) throw Error(start, construct, "unterminated string literal");
            char c = _src[pos];
            if (c == quote) { pos++; break; }
            if (c != '\\') { sb.Append(c); pos++; continue; }
            if (pos + 1 >= _src.Length) throw Error(start, construct, "unterminated string literal");
            char e = _src[pos + 1];
            pos += 2;
            switch (e)
            {
                case 'n': sb.Append('\n'); break;
                case 't': sb.Append('\t'); break;
                case 'r': sb.Append('\r'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'v': sb.Append('\v'); break;
                case 'a': sb.Append('\a'); break;
                case '0': sb.Append('\0'); break;
                case '\\': sb.Append('\\'); break;
                case '\'': sb.Append('\''); break;
                case '"': sb.Append('"'); break;
                case '\n': break; // backslash-newline continues the literal
                case 'x': pos = AppendHexEscape(sb, pos, 2, start, construct); break;
                case 'u': pos = AppendHexEscape(sb, pos, 4, start, construct); break;
                case 'U': pos = AppendHexEscape(sb, pos, 8, start, construct); break;
                default: sb.Append('\\').Append(e); break; // Python keeps unknown escapes as written
            }
        }
        _tokens.Add(new Token(TokenKind.String, sb.ToString(), start, sb.ToString()));
        return pos;
    }

    private int AppendHexEscape(StringBuilder sb, int pos, int digits, int start, string construct)
    {
        if (pos + digits > _src.Length || !int.TryParse(_src.AsSpan(pos, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int cp)
            || cp > 0x10FFFF)
            throw Error(start, construct, $"bad \\{(digits == 2 ? 'x' : digits == 4 ? 'u' : 'U')} escape in string literal");
        sb.Append(char.ConvertFromUtf32(cp is >= 0xD800 and <= 0xDFFF ? 0xFFFD : cp));
        return pos + digits;
    }

    /// <summary>True when the tokens just emitted are exactly <c>{% raw %}</c>.</summary>
    private bool IsRawOpen()
    {
        int n = _tokens.Count;
        return n >= 3 && _tokens[n - 1].Kind == TokenKind.BlockEnd && _tokens[n - 2].IsName("raw")
            && _tokens[n - 3].Kind == TokenKind.BlockBegin;
    }

    /// <summary>Copies everything up to <c>{% endraw %}</c> as text, unparsed.</summary>
    private int LexRaw(int tag, int pos)
    {
        _tokens.RemoveRange(_tokens.Count - 3, 3);
        int search = pos;
        while (true)
        {
            int open = _src.IndexOf("{%", search, StringComparison.Ordinal);
            if (open < 0) throw Error(tag, "raw", "unclosed block: '{% raw %}' has no matching '{% endraw %}'");
            int p = open + 2;
            bool minusBefore = p < _src.Length && _src[p] == '-';
            if (p < _src.Length && (_src[p] == '-' || _src[p] == '+')) p++;
            while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
            if (string.CompareOrdinal(_src, p, "endraw", 0, 6) == 0)
            {
                p += 6;
                while (p < _src.Length && char.IsWhiteSpace(_src[p])) p++;
                char sign = p < _src.Length ? _src[p] : '\0';
                int markerLen = sign is '-' or '+' ? 1 : 0;
                if (string.CompareOrdinal(_src, p + markerLen, "%}", 0, 2) == 0)
                {
                    string raw = _src.Substring(pos, open - pos);
                    if (minusBefore) raw = raw.TrimEnd();
                    EmitText(raw, pos);
                    return AfterClose(p + markerLen + 2, sign == '-', sign == '+', trimNewline: true);
                }
            }
            search = open + 2;
        }
    }
}
