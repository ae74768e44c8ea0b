using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Python arithmetic and concatenation with Python's type rules and error messages.</summary>
internal static class Operators
{
    /// <summary>Longest string an operator may build; keeps a hostile template from exhausting memory.</summary>
    public const int MaxBuiltLength = 16 * 1024 * 1024;

    /// <summary>
    /// Most items of a list or tuple an operator may build: the loop bound (<see cref="RenderContext.MaxIterations"/>),
    /// since a longer list cannot be iterated anyway, and printing 10 million items cost seconds of CPU.
    /// </summary>
    public const int MaxListLength = (int)RenderContext.MaxIterations;

    private static RuntimeFault Unsupported(string op, object? a, object? b)
    {
        if (a is Undefined ua) return ua.Fault();
        if (b is Undefined ub) return ub.Fault();
        if (op == "+" && a is string) return new RuntimeFault($"can only concatenate str (not \"{Values.TypeName(b)}\") to str");
        if (op == "+" && a is List<object?>) return new RuntimeFault($"can only concatenate list (not \"{Values.TypeName(b)}\") to list");
        return new RuntimeFault($"unsupported operand type(s) for {op}: '{Values.TypeName(a)}' and '{Values.TypeName(b)}'");
    }

    private static bool BothInts(object? a, object? b) => a is long or bool && b is long or bool;

    public static object? Add(object? a, object? b)
    {
        if (a is string sa && b is string sb)
        {
            if ((long)sa.Length + sb.Length > MaxBuiltLength) throw TooLong();
            return string.Concat(sa, sb);
        }
        if (BothInts(a, b)) return Checked(Values.AsLong(a), Values.AsLong(b), '+');
        if (Values.IsNumber(a) && Values.IsNumber(b)) return Values.ToDouble(a) + Values.ToDouble(b);
        if (a is List<object?> la && b is List<object?> lb)
        {
            if ((long)la.Count + lb.Count > MaxListLength) throw ListTooLong();
            var r = new List<object?>(la.Count + lb.Count);
            r.AddRange(la);
            r.AddRange(lb);
            return r;
        }
        if (a is object?[] ta && b is object?[] tb)
        {
            if ((long)ta.Length + tb.Length > MaxListLength) throw ListTooLong();
            return (object?[])[.. ta, .. tb];
        }
        throw Unsupported("+", a, b);
    }

    public static object? Subtract(object? a, object? b)
    {
        if (BothInts(a, b)) return Checked(Values.AsLong(a), Values.AsLong(b), '-');
        if (Values.IsNumber(a) && Values.IsNumber(b)) return Values.ToDouble(a) - Values.ToDouble(b);
        throw Unsupported("-", a, b);
    }

    public static object? Multiply(object? a, object? b)
    {
        if (BothInts(a, b)) return Checked(Values.AsLong(a), Values.AsLong(b), '*');
        if (Values.IsNumber(a) && Values.IsNumber(b)) return Values.ToDouble(a) * Values.ToDouble(b);
        if (a is long or bool && b is string or IList<object?>) (a, b) = (b, a);
        if (a is string s && b is long or bool)
        {
            long n = Math.Max(0, Values.AsLong(b));
            // Divided, not multiplied: n * length overflows for n near 2**62 and would pass the check.
            if (s.Length > 0 && n > MaxBuiltLength / s.Length) throw TooLong();
            var sb = new StringBuilder((int)(n * s.Length));
            for (long i = 0; i < n; i++) sb.Append(s);
            return sb.ToString();
        }
        if (a is IList<object?> list && b is long or bool)
        {
            long n = Math.Max(0, Values.AsLong(b));
            if (list.Count > 0 && n > MaxListLength / list.Count) throw ListTooLong();
            var r = new List<object?>((int)(n * list.Count));
            for (long i = 0; i < n; i++) r.AddRange(list);
            return a is object?[] ? r.ToArray() : r;
        }
        throw Unsupported("*", a, b);
    }

    public static object? Divide(object? a, object? b)
    {
        if (!Values.IsNumber(a) || !Values.IsNumber(b)) throw Unsupported("/", a, b);
        double d = Values.ToDouble(b);
        if (d == 0) throw new RuntimeFault("division by zero");
        return Values.ToDouble(a) / d;
    }

    public static object? FloorDivide(object? a, object? b)
    {
        if (!Values.IsNumber(a) || !Values.IsNumber(b)) throw Unsupported("//", a, b);
        if (BothInts(a, b))
        {
            long x = Values.AsLong(a), y = Values.AsLong(b);
            if (y == 0) throw new RuntimeFault("integer division or modulo by zero");
            long q = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
            return q;
        }
        double d = Values.ToDouble(b);
        if (d == 0) throw new RuntimeFault("float floor division by zero");
        return Math.Floor(Values.ToDouble(a) / d);
    }

    public static object? Modulo(object? a, object? b)
    {
        if (a is string format) return PrintfFormat.Apply(format, b);
        if (!Values.IsNumber(a) || !Values.IsNumber(b)) throw Unsupported("%", a, b);
        if (BothInts(a, b))
        {
            long x = Values.AsLong(a), y = Values.AsLong(b);
            if (y == 0) throw new RuntimeFault("integer division or modulo by zero");
            long r = x % y;
            if (r != 0 && ((r < 0) != (y < 0))) r += y;
            return r;
        }
        double dx = Values.ToDouble(a), dy = Values.ToDouble(b);
        if (dy == 0) throw new RuntimeFault("float modulo");
        double m = dx % dy;
        if (m != 0 && ((m < 0) != (dy < 0))) m += dy;
        return m;
    }

    public static object? Power(object? a, object? b)
    {
        if (!Values.IsNumber(a) || !Values.IsNumber(b)) throw Unsupported("**", a, b);
        if (BothInts(a, b) && Values.AsLong(b) >= 0)
        {
            long x = Values.AsLong(a), n = Values.AsLong(b), r = 1;
            // 0, 1 and -1 never overflow, so the loop below would not end early for them.
            if (x is 0 or 1) return n == 0 ? 1L : x;
            if (x == -1) return n % 2 == 0 ? 1L : -1L;
            for (long i = 0; i < n; i++)
            {
                r = (long)Checked(r, x, '*');
                if (r == 0 || (r == 1 && x == 1)) break;
            }
            return r;
        }
        return Math.Pow(Values.ToDouble(a), Values.ToDouble(b));
    }

    public static object? Negate(object? v) => v switch
    {
        long l => Checked(0, l, '-'),
        bool b => b ? -1L : 0L,
        double d => -d,
        Undefined u => throw u.Fault(),
        _ => throw new RuntimeFault($"bad operand type for unary -: '{Values.TypeName(v)}'"),
    };

    public static object? Plus(object? v) => v switch
    {
        long or double => v,
        bool b => b ? 1L : 0L,
        Undefined u => throw u.Fault(),
        _ => throw new RuntimeFault($"bad operand type for unary +: '{Values.TypeName(v)}'"),
    };

    private static object Checked(long x, long y, char op)
    {
        try
        {
            return op switch { '+' => checked(x + y), '-' => checked(x - y), _ => checked(x * y) };
        }
        catch (OverflowException)
        {
            throw new RuntimeFault("integer overflow (integers are limited to 64 bits here)");
        }
    }

    private static RuntimeFault TooLong() => new($"result longer than {MaxBuiltLength} characters");

    private static RuntimeFault ListTooLong() => new($"result longer than {MaxListLength} items");
}
