using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Filters on text and numbers.</summary>
internal static partial class TemplateFilters
{
    private static string Trim(object? v, Args a)
    {
        string s = Values.ToStr(v);
        return a.Get(0, "chars") is string chars ? s.Trim(chars.ToCharArray()) : s.Trim();
    }

    private static string Escape(string s)
    {
        if (s.AsSpan().IndexOfAny("&<>\"'") < 0) return s;
        var sb = new StringBuilder(s.Length + 16);
        foreach (char c in s)
        {
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&#34;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    /// <summary>Jinja's indent: every line but the first (unless first=True) gets the prefix; blank lines only with blank=True.</summary>
    private static string Indent(string s, Args a)
    {
        var width = a.Get(0, "width", 4L);
        string prefix = width is string w ? w : new string(' ', (int)Math.Clamp(Values.AsLong(width), 0, 1024));
        bool first = Values.IsTrue(a.Get(1, "first", false));
        bool blank = Values.IsTrue(a.Get(2, "blank", false));
        var lines = s.Split('\n');
        var sb = new StringBuilder();
        for (int i = 0; i < lines.Length; i++)
        {
            if (i > 0) sb.Append('\n');
            bool indent = (i > 0 || first) && (blank || lines[i].Trim().Length > 0);
            if (indent) sb.Append(prefix);
            sb.Append(lines[i]);
        }
        return sb.ToString();
    }

    private static string Center(string s, Args a)
    {
        int width = (int)Math.Clamp(Values.AsLong(a.Get(0, "width", 80L)), 0, 1 << 20);
        if (s.Length >= width) return s;
        int total = width - s.Length;
        // CPython str.center: the odd extra space goes left only when both the padding and the width are odd.
        int left = total / 2 + (total & width & 1);
        return new string(' ', left) + s + new string(' ', total - left);
    }

    private static string Truncate(string s, Args a)
    {
        int length = (int)Values.AsLong(a.Get(0, "length", 255L));
        bool killWords = Values.IsTrue(a.Get(1, "killwords", false));
        string end = Values.ToStr(a.Get(2, "end", "..."));
        int leeway = (int)Values.AsLong(a.Get(3, "leeway", 5L));
        if (s.Length <= length + leeway) return s;
        if (killWords) return s.Substring(0, Math.Max(0, length - end.Length)) + end;
        string cut = s.Substring(0, Math.Max(0, length - end.Length));
        int space = cut.LastIndexOf(' ');
        if (space >= 0) cut = cut.Substring(0, space);
        return cut + end;
    }

    private static long WordCount(string s)
    {
        long n = 0;
        bool inWord = false;
        foreach (char c in s)
        {
            bool word = char.IsLetterOrDigit(c) || c == '_';
            if (word && !inWord) n++;
            inWord = word;
        }
        return n;
    }

    private static string Format(object? v, Args a)
    {
        string format = Values.ToStr(v);
        if (a.Named is { Length: > 0 } named)
        {
            var dict = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in named) dict[kv.Key] = kv.Value;
            return PrintfFormat.Apply(format, dict);
        }
        return PrintfFormat.Apply(format, a.Positional);
    }

    private static object? ToInt(object? v, Args a)
    {
        var fallback = a.Get(0, "default", 0L);
        long numberBase = Values.AsLong(a.Get(1, "base", 10L));
        switch (v)
        {
            case long or bool: return Values.AsLong(v);
            case double d: return double.IsFinite(d) && Math.Abs(d) < 9.2e18 ? (long)Math.Truncate(d) : fallback;
            case string s:
            {
                string t = s.Trim().Replace("_", "");
                if (numberBase == 16 && t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)) t = t.Substring(2);
                try
                {
                    if (numberBase != 10) return Convert.ToInt64(t, (int)numberBase);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    return fallback;
                }
                if (long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l)) return l;
                if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && double.IsFinite(f) && Math.Abs(f) < 9.2e18)
                    return (long)Math.Truncate(f);
                return fallback;
            }
            default: return fallback;
        }
    }

    private static object? ToFloat(object? v, Args a)
    {
        var fallback = a.Get(0, "default", 0.0);
        return v switch
        {
            long or bool => (double)Values.AsLong(v),
            double d => d,
            string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double f) => f,
            string s when s.Trim().ToLowerInvariant() is "inf" or "+inf" or "infinity" => double.PositiveInfinity,
            string s when s.Trim().ToLowerInvariant() is "-inf" or "-infinity" => double.NegativeInfinity,
            string s when s.Trim().ToLowerInvariant() is "nan" => double.NaN,
            _ => fallback,
        };
    }

    private static object? Abs(object? v) => v switch
    {
        long l => l == long.MinValue ? throw new RuntimeFault("integer overflow in abs") : (object)Math.Abs(l),
        bool b => b ? 1L : 0L,
        double d => Math.Abs(d),
        Undefined u => throw u.Fault(),
        _ => throw new RuntimeFault($"bad operand type for abs(): '{Values.TypeName(v)}'"),
    };

    private static double Round(object? v, Args a)
    {
        double x = Values.ToDouble(v is Undefined u ? throw u.Fault() : v);
        int precision = (int)Math.Clamp(Values.AsLong(a.Get(0, "precision", 0L)), -15, 15);
        string method = Values.ToStr(a.Get(1, "method", "common"));
        double scale = Math.Pow(10, precision);
        return method switch
        {
            // Python's round() rounds half to even.
            "common" => precision >= 0 ? Math.Round(x, precision, MidpointRounding.ToEven) : Math.Round(x * scale, MidpointRounding.ToEven) / scale,
            "ceil" => Math.Ceiling(x * scale) / scale,
            "floor" => Math.Floor(x * scale) / scale,
            _ => throw new RuntimeFault("round: method must be 'common', 'ceil' or 'floor'"),
        };
    }

    private static object? Default(object? v, Args a)
    {
        var fallback = a.Get(0, "default_value", "");
        bool boolean = Values.IsTrue(a.Get(1, "boolean", false));
        if (v is Undefined || (boolean && !Values.IsTrue(v))) return fallback;
        return v;
    }
}
