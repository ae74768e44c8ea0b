using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Python's old-style "%s" % args formatting and str.format, the common conversions only.</summary>
internal static class PrintfFormat
{
    public static string Apply(string format, object? args)
    {
        var positional = args as object?[] ?? [args];
        var named = args as OrderedDictionary<string, object?>;
        var sb = new StringBuilder();
        int next = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= format.Length) throw new RuntimeFault("incomplete format: '%' at the end of the string");
            object? value;
            if (format[i] == '%') { sb.Append('%'); continue; }
            if (format[i] == '(')
            {
                int close = format.IndexOf(')', i);
                if (close < 0 || named is null) throw new RuntimeFault("format requires a mapping");
                string key = format.Substring(i + 1, close - i - 1);
                value = named.TryGetValue(key, out var v) ? v : throw new RuntimeFault($"format key '{key}' not found");
                i = close + 1;
            }
            else
            {
                if (next >= positional.Length) throw new RuntimeFault("not enough arguments for format string");
                value = positional[next++];
            }
            int specStart = i;
            while (i < format.Length && "-+ #0123456789.".Contains(format[i])) i++;
            if (i >= format.Length) throw new RuntimeFault("incomplete format");
            string spec = format.Substring(specStart, i - specStart);
            sb.Append(Convert(format[i], spec, value));
        }
        if (named is null && next < positional.Length)
            throw new RuntimeFault("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static string Convert(char conversion, string spec, object? value)
    {
        int dot = spec.IndexOf('.');
        int? precision = dot >= 0 && int.TryParse(spec.AsSpan(dot + 1), out int p) ? p : null;
        string widthText = (dot >= 0 ? spec.Substring(0, dot) : spec).TrimStart('-', '+', ' ', '#', '0');
        int width = int.TryParse(widthText, out int w) ? w : 0;
        bool left = spec.StartsWith('-');
        bool zero = spec.TrimStart('-', '+', ' ', '#').StartsWith('0') && !left;
        string body = conversion switch
        {
            's' => Values.ToStr(value),
            'r' => Values.Repr(value),
            'd' or 'i' => ((long)Math.Truncate(Values.ToDouble(value))).ToString(CultureInfo.InvariantCulture),
            'f' or 'F' => Values.ToDouble(value).ToString("F" + (precision ?? 6), CultureInfo.InvariantCulture),
            'x' => Values.AsLong(value).ToString("x", CultureInfo.InvariantCulture),
            'X' => Values.AsLong(value).ToString("X", CultureInfo.InvariantCulture),
            _ => throw new RuntimeFault($"unsupported format character '{conversion}'"),
        };
        if (conversion == 's' && precision is int max && body.Length > max) body = body.Substring(0, max);
        if (body.Length >= width) return body;
        if (left) return body.PadRight(width);
        return zero && conversion != 's' ? body.PadLeft(width, '0') : body.PadLeft(width);
    }

    /// <summary>str.format with "{}", "{0}" and "{name}" fields; format specs are not supported.</summary>
    public static string FormatMethod(string format, Args args)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < format.Length; i++)
        {
            char c = format[i];
            if (c == '{' && i + 1 < format.Length && format[i + 1] == '{') { sb.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < format.Length && format[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            int close = format.IndexOf('}', i);
            if (close < 0) throw new RuntimeFault("single '{' encountered in format string");
            string field = format.Substring(i + 1, close - i - 1);
            if (field.Contains(':') || field.Contains('!')) throw new RuntimeFault($"format spec in '{{{field}}}' is not supported");
            object? value;
            if (field.Length == 0) value = args.Get(auto++, "\0");
            else if (int.TryParse(field, out int index)) value = args.Get(index, "\0");
            else value = args.Get(-1, field, Undefined.Variable(field));
            if (value is Undefined u && field.Length > 0 && !args.Has(-1, field)) throw u.Fault();
            sb.Append(Values.ToStr(value));
            i = close;
        }
        return sb.ToString();
    }
}
