using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>
/// The tojson filter as Hugging Face defines it: Python's json.dumps with ensure_ascii=False (non-ASCII text stays
/// as is), sort_keys=False (insertion order), ", " and ": " separators, or "," and ": " with an indent, and no HTML
/// escaping (unlike Jinja's own tojson).
/// </summary>
internal static class JsonDump
{
    public sealed record Options(string? Indent, string ItemSeparator, string KeySeparator, bool SortKeys, bool EnsureAscii);

    public static Options FromArgs(Args args)
    {
        var indentArg = args.Get(0, "indent");
        string? indent = indentArg switch
        {
            null or Undefined => null,
            long or bool => new string(' ', (int)Math.Clamp(Values.AsLong(indentArg), 0, 64)),
            string s => s,
            _ => throw new RuntimeFault($"tojson indent must be an integer or a string, not {Values.TypeName(indentArg)}"),
        };
        string item = indent is null ? ", " : ",";
        string key = ": ";
        if (args.Get(1, "separators") is IList<object?> seps)
        {
            if (seps.Count != 2 || seps[0] is not string a || seps[1] is not string b)
                throw new RuntimeFault("tojson separators must be a pair of strings");
            item = a;
            key = b;
        }
        bool sort = Values.IsTrue(args.Get(2, "sort_keys", false));
        bool ascii = Values.IsTrue(args.Get(3, "ensure_ascii", false));
        return new Options(indent, item, key, sort, ascii);
    }

    public static string Dump(object? value, Options options)
    {
        var sb = new StringBuilder();
        Write(sb, value, options, 0);
        return sb.ToString();
    }

    private static void NewLine(StringBuilder sb, Options o, int level)
    {
        sb.Append('\n');
        for (int i = 0; i < level; i++) sb.Append(o.Indent);
    }

    private static void Write(StringBuilder sb, object? v, Options o, int level)
    {
        if (level > 200) throw new RuntimeFault("value is nested too deeply for tojson");
        switch (v)
        {
            case null: sb.Append("null"); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case double d:
                sb.Append(double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : PyFloat.Repr(d));
                break;
            case string s: WriteString(sb, s, o.EnsureAscii); break;
            case IList<object?> list:
                if (list.Count == 0) { sb.Append("[]"); break; }
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(o.ItemSeparator);
                    if (o.Indent is not null) NewLine(sb, o, level + 1);
                    Write(sb, list[i], o, level + 1);
                }
                if (o.Indent is not null) NewLine(sb, o, level);
                sb.Append(']');
                break;
            case OrderedDictionary<string, object?> dict:
                if (dict.Count == 0) { sb.Append("{}"); break; }
                sb.Append('{');
                IEnumerable<KeyValuePair<string, object?>> entries = dict;
                if (o.SortKeys) entries = dict.OrderBy(kv => kv.Key, StringComparer.Ordinal);
                bool first = true;
                foreach (var kv in entries)
                {
                    if (!first) sb.Append(o.ItemSeparator);
                    first = false;
                    if (o.Indent is not null) NewLine(sb, o, level + 1);
                    WriteString(sb, kv.Key, o.EnsureAscii);
                    sb.Append(o.KeySeparator);
                    Write(sb, kv.Value, o, level + 1);
                }
                if (o.Indent is not null) NewLine(sb, o, level);
                sb.Append('}');
                break;
            case Namespace ns:
                throw new RuntimeFault("Object of type Namespace is not JSON serializable");
            default:
                throw new RuntimeFault($"Object of type {Values.TypeName(v)} is not JSON serializable");
        }
    }

    private static void WriteString(StringBuilder sb, string s, bool ensureAscii)
    {
        sb.Append('"');
        foreach (char c in s)
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
                    if (c < 0x20 || (ensureAscii && c > 0x7e))
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append('"');
    }
}
