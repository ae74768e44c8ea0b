using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>
/// The Python methods templates call on strings, dicts and lists. Mutating list/dict methods are refused, as in the
/// immutable sandbox Hugging Face renders with.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> StringMethods =
    [
        "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "replace", "format",
        "find", "rfind", "index", "count", "title", "capitalize", "splitlines", "join", "isdigit", "isalpha", "isalnum",
        "isspace", "isupper", "islower", "zfill", "removeprefix", "removesuffix", "swapcase",
    ];

    private static readonly HashSet<string> DictMethods = ["items", "keys", "values", "get", "copy"];
    private static readonly HashSet<string> ListMethods = ["index", "count", "copy"];
    private static readonly HashSet<string> MutatingMethods =
        ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem"];

    public static bool IsMethod(object? receiver, string name) => receiver switch
    {
        string => StringMethods.Contains(name),
        OrderedDictionary<string, object?> => DictMethods.Contains(name) || MutatingMethods.Contains(name),
        IList<object?> => ListMethods.Contains(name) || MutatingMethods.Contains(name),
        _ => false,
    };

    public static BuiltinFunction Bind(object? receiver, string name)
        => new(name, (_, args) => Call(receiver, name, args));

    public static object? Call(object? receiver, string name, Args args)
    {
        if (MutatingMethods.Contains(name) && receiver is OrderedDictionary<string, object?> or IList<object?>)
            throw new RuntimeFault($"'{name}' would modify a {Values.TypeName(receiver)}, which the template sandbox forbids (use namespace() for state)");
        return receiver switch
        {
            string s => CallString(s, name, args),
            OrderedDictionary<string, object?> d => CallDict(d, name, args),
            IList<object?> l => CallList(l, name, args),
            _ => throw new RuntimeFault($"'{Values.TypeName(receiver)}' object has no method '{name}'"),
        };
    }

    private static string Str(Args args, int index, string name)
    {
        var v = args.Get(index, name, Undefined.Variable(name));
        return v is string s ? s : throw new RuntimeFault($"argument '{name}' must be a string, not {Values.TypeName(v)}");
    }

    private static string? OptChars(Args args)
    {
        var v = args.Get(0, "chars");
        return v is null or Undefined ? null : v as string ?? throw new RuntimeFault($"strip arg must be None or str, not {Values.TypeName(v)}");
    }

    private static object? CallString(string s, string name, Args args)
    {
        switch (name)
        {
            case "startswith": return Affix(s, args.Get(0, "prefix"), prefix: true);
            case "endswith": return Affix(s, args.Get(0, "suffix"), prefix: false);
            case "split": return Split(s, args, fromRight: false);
            case "rsplit": return Split(s, args, fromRight: true);
            case "strip": return OptChars(args) is string c ? s.Trim(c.ToCharArray()) : s.Trim();
            case "lstrip": return OptChars(args) is string l ? s.TrimStart(l.ToCharArray()) : s.TrimStart();
            case "rstrip": return OptChars(args) is string r ? s.TrimEnd(r.ToCharArray()) : s.TrimEnd();
            case "upper": return s.ToUpperInvariant();
            case "lower": return s.ToLowerInvariant();
            case "swapcase":
            {
                var sb = new StringBuilder(s.Length);
                foreach (char ch in s) sb.Append(char.IsUpper(ch) ? char.ToLowerInvariant(ch) : char.ToUpperInvariant(ch));
                return sb.ToString();
            }
            case "replace": return Replace(s, Str(args, 0, "old"), Str(args, 1, "new"), args.Get(2, "count", -1L));
            case "format": return PrintfFormat.FormatMethod(s, args);
            case "find": return (long)s.IndexOf(Str(args, 0, "sub"), StringComparison.Ordinal);
            case "rfind": return (long)s.LastIndexOf(Str(args, 0, "sub"), StringComparison.Ordinal);
            case "index":
            {
                int i = s.IndexOf(Str(args, 0, "sub"), StringComparison.Ordinal);
                return i >= 0 ? i : throw new RuntimeFault("substring not found");
            }
            case "count": return CountOccurrences(s, Str(args, 0, "sub"));
            case "title": return TextCase.PythonTitle(s);
            case "capitalize": return TextCase.Capitalize(s);
            case "splitlines":
            {
                var lines = s.Replace("\r\n", "\n").Split('\n', '\r');
                var result = new List<object?>(lines.Length);
                for (int i = 0; i < lines.Length; i++)
                    if (i < lines.Length - 1 || lines[i].Length > 0) result.Add(lines[i]);
                return result;
            }
            case "join":
            {
                var items = Values.Iterate(args.Get(0, "iterable"));
                var sb = new StringBuilder();
                for (int i = 0; i < items.Count; i++)
                {
                    if (i > 0) sb.Append(s);
                    sb.Append(items[i] as string ?? throw new RuntimeFault($"sequence item {i}: expected str instance, {Values.TypeName(items[i])} found"));
                }
                return sb.ToString();
            }
            case "isdigit": return s.Length > 0 && s.All(char.IsDigit);
            case "isalpha": return s.Length > 0 && s.All(char.IsLetter);
            case "isalnum": return s.Length > 0 && s.All(char.IsLetterOrDigit);
            case "isspace": return s.Length > 0 && s.All(char.IsWhiteSpace);
            case "isupper": return s.Any(char.IsLetter) && !s.Any(char.IsLower);
            case "islower": return s.Any(char.IsLetter) && !s.Any(char.IsUpper);
            case "zfill":
            {
                int width = (int)Values.AsLong(args.Get(0, "width", 0L));
                if (s.Length >= width) return s;
                int sign = s.Length > 0 && s[0] is '-' or '+' ? 1 : 0;
                return s.Substring(0, sign) + new string('0', width - s.Length) + s.Substring(sign);
            }
            case "removeprefix":
            {
                string p = Str(args, 0, "prefix");
                return s.StartsWith(p, StringComparison.Ordinal) ? s.Substring(p.Length) : s;
            }
            case "removesuffix":
            {
                string p = Str(args, 0, "suffix");
                return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s.Substring(0, s.Length - p.Length) : s;
            }
        }
        throw new RuntimeFault($"'str' object has no attribute '{name}'");
    }

    private static bool Affix(string s, object? arg, bool prefix)
    {
        if (arg is IList<object?> options)
        {
            foreach (var o in options)
                if (Affix(s, o, prefix)) return true;
            return false;
        }
        if (arg is not string a)
            throw new RuntimeFault($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {Values.TypeName(arg)}");
        return prefix ? s.StartsWith(a, StringComparison.Ordinal) : s.EndsWith(a, StringComparison.Ordinal);
    }

    private static string Replace(string s, string old, string replacement, object? count)
    {
        long max = Values.AsLong(count);
        if (max < 0) return old.Length == 0 ? InsertEverywhere(s, replacement, long.MaxValue) : s.Replace(old, replacement, StringComparison.Ordinal);
        if (old.Length == 0) return InsertEverywhere(s, replacement, max);
        var sb = new StringBuilder();
        int pos = 0;
        for (long n = 0; n < max; n++)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0) break;
            sb.Append(s, pos, i - pos).Append(replacement);
            pos = i + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static string InsertEverywhere(string s, string insert, long max)
    {
        var sb = new StringBuilder();
        long n = 0;
        for (int i = 0; i <= s.Length; i++)
        {
            if (n++ < max) sb.Append(insert);
            if (i < s.Length) sb.Append(s[i]);
        }
        return sb.ToString();
    }

    private static long CountOccurrences(string s, string sub)
    {
        if (sub.Length == 0) return PyString.Length(s) + 1;
        long n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    private static List<object?> Split(string s, Args args, bool fromRight)
    {
        var sepArg = args.Get(0, "sep");
        long max = Values.AsLong(args.Get(1, "maxsplit", -1L));
        var parts = new List<object?>();
        if (sepArg is null or Undefined)
        {
            // Python's whitespace split: runs of whitespace separate, leading and trailing whitespace vanish.
            var words = new List<string>();
            int i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
                if (i >= s.Length) break;
                int start = i;
                while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
                words.Add(s.Substring(start, i - start));
            }
            if (max >= 0 && words.Count > max + 1)
            {
                // Re-split keeping the unsplit remainder verbatim, as Python does.
                return fromRight ? SplitWhitespaceRight(s, max) : SplitWhitespaceLeft(s, max);
            }
            foreach (var w in words) parts.Add(w);
            return parts;
        }
        if (sepArg is not string sep) throw new RuntimeFault($"must be str or None, not {Values.TypeName(sepArg)}");
        if (sep.Length == 0) throw new RuntimeFault("empty separator");
        if (!fromRight)
        {
            int pos = 0;
            for (long n = 0; max < 0 || n < max; n++)
            {
                int i = s.IndexOf(sep, pos, StringComparison.Ordinal);
                if (i < 0) break;
                parts.Add(s.Substring(pos, i - pos));
                pos = i + sep.Length;
            }
            parts.Add(s.Substring(pos));
            return parts;
        }
        int end = s.Length;
        var reversed = new List<object?>();
        for (long n = 0; max < 0 || n < max; n++)
        {
            if (end - sep.Length < 0) break;
            int i = s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
            if (i < 0 || i + sep.Length > end) break;
            reversed.Add(s.Substring(i + sep.Length, end - i - sep.Length));
            end = i;
        }
        reversed.Add(s.Substring(0, end));
        reversed.Reverse();
        return reversed;
    }

    private static List<object?> SplitWhitespaceLeft(string s, long max)
    {
        var parts = new List<object?>();
        int i = 0;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        while (i < s.Length && parts.Count < max)
        {
            int start = i;
            while (i < s.Length && !char.IsWhiteSpace(s[i])) i++;
            parts.Add(s.Substring(start, i - start));
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        }
        if (i < s.Length) parts.Add(s.Substring(i));
        return parts;
    }

    private static List<object?> SplitWhitespaceRight(string s, long max)
    {
        var parts = new List<object?>();
        int i = s.Length - 1;
        while (i >= 0 && char.IsWhiteSpace(s[i])) i--;
        while (i >= 0 && parts.Count < max)
        {
            int end = i;
            while (i >= 0 && !char.IsWhiteSpace(s[i])) i--;
            parts.Add(s.Substring(i + 1, end - i));
            while (i >= 0 && char.IsWhiteSpace(s[i])) i--;
        }
        if (i >= 0) parts.Add(s.Substring(0, i + 1));
        parts.Reverse();
        return parts;
    }

    private static object? CallDict(OrderedDictionary<string, object?> d, string name, Args args)
    {
        switch (name)
        {
            case "items":
            {
                var items = new List<object?>(d.Count);
                foreach (var kv in d) items.Add(new object?[] { kv.Key, kv.Value });
                return items;
            }
            case "keys":
            {
                var keys = new List<object?>(d.Count);
                foreach (var kv in d) keys.Add(kv.Key);
                return keys;
            }
            case "values":
            {
                var values = new List<object?>(d.Count);
                foreach (var kv in d) values.Add(kv.Value);
                return values;
            }
            case "get":
                return args.Get(0, "key") is string key && d.TryGetValue(key, out var v) ? v : args.Get(1, "default");
            case "copy":
                return new OrderedDictionary<string, object?>(d);
        }
        throw new RuntimeFault($"'dict' object has no attribute '{name}'");
    }

    private static object? CallList(IList<object?> list, string name, Args args)
    {
        switch (name)
        {
            case "index":
            {
                var x = args.Get(0, "value");
                for (int i = 0; i < list.Count; i++)
                    if (Values.PyEquals(list[i], x)) return (long)i;
                throw new RuntimeFault($"{Values.Repr(x)} is not in list");
            }
            case "count":
            {
                var x = args.Get(0, "value");
                long n = 0;
                foreach (var item in list)
                    if (Values.PyEquals(item, x)) n++;
                return n;
            }
            case "copy":
                return new List<object?>(list);
        }
        throw new RuntimeFault($"'{Values.TypeName(list)}' object has no attribute '{name}'");
    }
}
