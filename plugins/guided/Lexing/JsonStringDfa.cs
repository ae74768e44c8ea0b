using Modular.Plugins.Guided.Automata;

namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// Builds the byte automaton of a JSON string literal (quotes and escapes included) whose decoded content is
/// accepted by a content automaton. Only the escapes canonical serializers write are accepted: the short forms and
/// <c>\u0000</c>–<c>\u001F</c>; other characters must appear as raw UTF-8, which keeps the product small.
/// Transitions that begin a decoded code point carry <see cref="ByteDfa.CountFlag"/> for minLength/maxLength.
/// </summary>
public static class JsonStringDfa
{
    private const byte Open = 0, Normal = 1, Escape = 2, U0 = 3, U1 = 4, U2 = 5, U3 = 6, Closed = 7;

    private readonly record struct State(byte Phase, byte Hex, int Content);

    /// <summary>String literal automaton over <paramref name="content"/> (a DFA over the decoded UTF-8 bytes).</summary>
    public static ByteDfa Build(ByteDfa content)
    {
        return DfaBuilder.Build(new State(Open, 0, 0), (in State s, byte b, out State n, out bool counted) =>
        {
            counted = false;
            n = default;
            switch (s.Phase)
            {
                case Open:
                    if (b != '"') return false;
                    n = new State(Normal, 0, s.Content);
                    return true;
                case Normal:
                    if (b == '"')
                    {
                        if (!content.Accept[s.Content]) return false;
                        n = new State(Closed, 0, 0);
                        return true;
                    }
                    if (b == '\\') { counted = true; n = new State(Escape, 0, s.Content); return true; }
                    if (b < 0x20) return false;
                    counted = b < 0x80 || b >= 0xC0;
                    return Feed(content, s.Content, b, out n);
                case Escape:
                    byte decoded = b switch
                    {
                        (byte)'"' => (byte)'"', (byte)'\\' => (byte)'\\', (byte)'/' => (byte)'/', (byte)'b' => 8,
                        (byte)'f' => 12, (byte)'n' => 10, (byte)'r' => 13, (byte)'t' => 9, _ => 0,
                    };
                    if (b == 'u') { n = new State(U0, 0, s.Content); return true; }
                    if (decoded == 0) return false;
                    return Feed(content, s.Content, decoded, out n);
                case U0:
                    if (b != '0') return false;
                    n = s with { Phase = U1 };
                    return true;
                case U1:
                    if (b != '0') return false;
                    n = s with { Phase = U2 };
                    return true;
                case U2:
                    if (b != '0' && b != '1') return false;
                    n = new State(U3, (byte)((b - '0') * 16), s.Content);
                    return true;
                case U3:
                    int h = HexValue(b);
                    if (h < 0) return false;
                    return Feed(content, s.Content, (byte)(s.Hex + h), out n);
                default:
                    return false;
            }
        }, s => s.Phase == Closed);
    }

    private static bool Feed(ByteDfa content, int state, byte b, out State n)
    {
        int t = content.Step(state, b);
        n = new State(Normal, 0, t);
        return t >= 0;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>Writes <paramref name="s"/> as a compact JSON string literal with minimal escaping.</summary>
    public static string Quote(string s)
    {
        var sb = new System.Text.StringBuilder(s.Length + 2);
        sb.Append('"');
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (c < 0x20) sb.Append("\\u00").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
        return sb.ToString();
    }
}
