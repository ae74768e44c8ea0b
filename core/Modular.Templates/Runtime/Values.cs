using System.Globalization;
using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>
/// Python value semantics over the runtime representation: None = null, bool, int = long, float = double, str = string,
/// list = List&lt;object?&gt;, tuple = object?[], dict = OrderedDictionary&lt;string, object?&gt; (insertion order, like Python),
/// plus <see cref="Undefined"/>, <see cref="Namespace"/>, <see cref="LoopContext"/> and callables.
/// </summary>
internal static class Values
{
    public static bool IsTrue(object? v) => v switch
    {
        null => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        Undefined => false,
        ICollection<object?> c => c.Count > 0,
        OrderedDictionary<string, object?> m => m.Count > 0,
        _ => true,
    };

    /// <summary>Python's str(v); Undefined prints as "".</summary>
    public static string ToStr(object? v) => v switch
    {
        string s => s,
        null => "None",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => PyFloat.Repr(d),
        Undefined => "",
        IList<object?> or OrderedDictionary<string, object?> => Repr(v),
        _ => v.ToString() ?? "",
    };

    /// <summary>Python's repr(v), used when containers are printed.</summary>
    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v, 0);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v, int depth)
    {
        if (depth > 200) throw new RuntimeFault("value is nested too deeply to print");
        switch (v)
        {
            case string s:
                AppendStringRepr(sb, s);
                break;
            case object?[] tuple:
                sb.Append('(');
                for (int i = 0; i < tuple.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, tuple[i], depth + 1);
                }
                sb.Append(tuple.Length == 1 ? ",)" : ")");
                break;
            case IList<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, list[i], depth + 1);
                }
                sb.Append(']');
                break;
            case OrderedDictionary<string, object?> dict:
                sb.Append('{');
                bool first = true;
                foreach (var kv in dict)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendStringRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value, depth + 1);
                }
                sb.Append('}');
                break;
            case Undefined:
                sb.Append("Undefined");
                break;
            default:
                sb.Append(ToStr(v));
                break;
        }
    }

    private static void AppendStringRepr(StringBuilder sb, string s)
    {
        char quote = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(quote);
        foreach (char c in s)
        {
            switch (c)
            {
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c == quote) sb.Append('\\').Append(c);
                    else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        sb.Append(quote);
    }

    /// <summary>Python's type name, for error messages.</summary>
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        object?[] => "tuple",
        IList<object?> => "list",
        OrderedDictionary<string, object?> => "dict",
        Undefined => "Undefined",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        ICallable => "function",
        _ => v.GetType().Name,
    };

    /// <summary>How Jinja names an object in "has no attribute" messages ("dict object", "None").</summary>
    public static string OwnerDescription(object? v) => v is null ? "None" : TypeName(v) + " object";

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new RuntimeFault($"expected a number, got {TypeName(v)}"),
    };

    public static bool PyEquals(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (a is null || b is null) return a is null && b is null;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return AsLong(a) == AsLong(b);
        }
        if (a is string sa) return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
        if (a is object?[] ta) return b is object?[] tb && SequenceEquals(ta, tb);
        if (a is IList<object?> la) return b is IList<object?> lb && b is not object?[] && SequenceEquals(la, lb);
        if (a is OrderedDictionary<string, object?> da)
        {
            if (b is not OrderedDictionary<string, object?> db || da.Count != db.Count) return false;
            foreach (var kv in da)
                if (!db.TryGetValue(kv.Key, out var other) || !PyEquals(kv.Value, other)) return false;
            return true;
        }
        return ReferenceEquals(a, b);
    }

    private static bool SequenceEquals(IList<object?> a, IList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (!PyEquals(a[i], b[i])) return false;
        return true;
    }

    public static long AsLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new RuntimeFault($"expected an integer, got {TypeName(v)}"),
    };

    /// <summary>An integer from an int, bool or whole float; Undefined reports itself.</summary>
    public static long AsLongLoose(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => (long)d,
        Undefined u => throw u.Fault(),
        _ => throw new RuntimeFault($"expected an integer, got {TypeName(v)}"),
    };

    /// <summary>Python ordering (&lt;, &gt;): numbers with numbers, strings with strings, sequences element-wise.</summary>
    public static int Compare(object? a, object? b, string op)
    {
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a).CompareTo(ToDouble(b));
            return AsLong(a).CompareTo(AsLong(b));
        }
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        if (a is IList<object?> la && b is IList<object?> lb && (a is object?[]) == (b is object?[]))
        {
            int n = Math.Min(la.Count, lb.Count);
            for (int i = 0; i < n; i++)
                if (!PyEquals(la[i], lb[i])) return Compare(la[i], lb[i], op);
            return la.Count.CompareTo(lb.Count);
        }
        if (a is Undefined u) throw u.Fault();
        if (b is Undefined u2) throw u2.Fault();
        throw new RuntimeFault($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    /// <summary>The items a for loop or filter walks: list items, dict keys, string characters.</summary>
    public static IList<object?> Iterate(object? v)
    {
        switch (v)
        {
            case IList<object?> list: return list;
            case OrderedDictionary<string, object?> dict:
            {
                var keys = new List<object?>(dict.Count);
                foreach (var kv in dict) keys.Add(kv.Key);
                return keys;
            }
            case string s: return PyString.Characters(s);
            case Undefined: return Array.Empty<object?>();
            case Namespace: throw new RuntimeFault("'Namespace' object is not iterable");
            default: throw new RuntimeFault($"'{TypeName(v)}' object is not iterable");
        }
    }

    public static long Length(object? v) => v switch
    {
        string s => PyString.Length(s),
        ICollection<object?> c => c.Count,
        OrderedDictionary<string, object?> d => d.Count,
        Undefined => 0,
        _ => throw new RuntimeFault($"object of type '{TypeName(v)}' has no len()"),
    };

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string needle)
                    throw item is Undefined u ? u.Fault() : new RuntimeFault($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(needle, StringComparison.Ordinal);
            case IList<object?> list:
                foreach (var x in list)
                    if (PyEquals(x, item)) return true;
                return false;
            case OrderedDictionary<string, object?> dict:
                return item is string key && dict.ContainsKey(key);
            case Undefined:
                return false;
            default:
                throw new RuntimeFault($"argument of type '{TypeName(container)}' is not iterable");
        }
    }
}
