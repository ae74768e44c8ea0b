using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>
/// Python string semantics over .NET strings: Python indexes by code point, .NET by UTF-16 unit, so strings holding
/// surrogate pairs (emoji) go through a code-point path; plain strings take the fast path.
/// </summary>
internal static class PyString
{
    private static bool HasSurrogates(string s)
    {
        foreach (char c in s)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    public static long Length(string s)
    {
        if (!HasSurrogates(s)) return s.Length;
        long n = 0;
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1])) i++;
            n++;
        }
        return n;
    }

    /// <summary>The string as a list of one-character strings (code points).</summary>
    public static List<object?> Characters(string s)
    {
        var list = new List<object?>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                list.Add(s.Substring(i, 2));
                i++;
            }
            else list.Add(s[i].ToString());
        }
        return list;
    }

    public static object? Index(string s, long index)
    {
        if (!HasSurrogates(s))
        {
            if (index < 0) index += s.Length;
            return index >= 0 && index < s.Length ? s[(int)index].ToString() : null;
        }
        var chars = Characters(s);
        if (index < 0) index += chars.Count;
        return index >= 0 && index < chars.Count ? chars[(int)index] : null;
    }

    public static string Slice(string s, long? start, long? stop, long? step)
    {
        if (!HasSurrogates(s))
        {
            var (from, count, stride) = Slicing.Resolve(s.Length, start, stop, step);
            if (stride == 1) return s.Substring(from, count);
            var sb = new StringBuilder(count);
            for (int i = 0, p = from; i < count; i++, p += stride) sb.Append(s[p]);
            return sb.ToString();
        }
        var chars = Characters(s);
        var picked = Slicing.Apply(chars, start, stop, step);
        var result = new StringBuilder();
        foreach (var c in picked) result.Append((string)c!);
        return result.ToString();
    }
}

/// <summary>Python slice arithmetic: a[start:stop:step] with negative indices and steps.</summary>
internal static class Slicing
{
    public static (int From, int Count, int Step) Resolve(int length, long? start, long? stop, long? step)
    {
        long st = step ?? 1;
        if (st == 0) throw new RuntimeFault("slice step cannot be zero");
        long lo, hi;
        if (st > 0)
        {
            lo = Clamp(start ?? 0, length, 0, length);
            hi = Clamp(stop ?? length, length, 0, length);
            long count = hi > lo ? (hi - lo + st - 1) / st : 0;
            return ((int)lo, (int)count, (int)st);
        }
        lo = Clamp(start ?? length - 1, length, -1, length - 1);
        hi = stop is null ? -1 : Clamp(stop.Value, length, -1, length - 1);
        long n = lo > hi ? (lo - hi + (-st) - 1) / -st : 0;
        return ((int)lo, (int)n, (int)st);
    }

    private static long Clamp(long index, int length, long min, long max)
    {
        if (index < 0) index += length;
        return Math.Clamp(index, min, max);
    }

    public static List<object?> Apply(IList<object?> items, long? start, long? stop, long? step)
    {
        var (from, count, stride) = Resolve(items.Count, start, stop, step);
        var result = new List<object?>(count);
        for (int i = 0, p = from; i < count; i++, p += stride) result.Add(items[p]);
        return result;
    }
}
