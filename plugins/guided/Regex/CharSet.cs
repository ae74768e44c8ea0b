namespace Modular.Plugins.Guided.Regex;

/// <summary>An immutable set of Unicode scalar values as sorted, disjoint, non-adjacent ranges.</summary>
public sealed class CharSet
{
    /// <summary>Largest code point.</summary>
    public const int MaxCodePoint = 0x10FFFF;

    /// <summary>Sorted inclusive ranges.</summary>
    public IReadOnlyList<(int Lo, int Hi)> Ranges { get; }

    private CharSet(List<(int, int)> ranges) => Ranges = ranges;

    /// <summary>Builds a set from arbitrary ranges (normalized; surrogates removed).</summary>
    public static CharSet Of(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var list = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<(int, int)>();
        foreach (var (lo, hi) in list)
        {
            if (merged.Count > 0 && lo <= merged[^1].Item2 + 1)
                merged[^1] = (merged[^1].Item1, Math.Max(merged[^1].Item2, hi));
            else merged.Add((lo, hi));
        }
        // Surrogate code points cannot be encoded in UTF-8.
        var clean = new List<(int, int)>();
        foreach (var (lo, hi) in merged)
        {
            if (hi < 0xD800 || lo > 0xDFFF) { clean.Add((lo, hi)); continue; }
            if (lo < 0xD800) clean.Add((lo, 0xD7FF));
            if (hi > 0xDFFF) clean.Add((0xE000, hi));
        }
        return new CharSet(clean);
    }

    /// <summary>One code point.</summary>
    public static CharSet Single(int c) => Of([(c, c)]);

    /// <summary>Every scalar value.</summary>
    public static CharSet Any { get; } = Of([(0, MaxCodePoint)]);

    /// <summary>The complement within all scalar values.</summary>
    public CharSet Complement()
    {
        var res = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in Ranges)
        {
            if (lo > next) res.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint) res.Add((next, MaxCodePoint));
        return Of(res);
    }

    /// <summary>Union of two sets.</summary>
    public CharSet Union(CharSet other) => Of(Ranges.Concat(other.Ranges));

    /// <summary>True when <paramref name="c"/> is in the set.</summary>
    public bool Contains(int c)
    {
        foreach (var (lo, hi) in Ranges) if (c >= lo && c <= hi) return true;
        return false;
    }

    /// <summary>\d</summary>
    public static CharSet Digit { get; } = Of([('0', '9')]);
    /// <summary>\w</summary>
    public static CharSet Word { get; } = Of([('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_')]);
    /// <summary>\s (ECMAScript white space and line terminators).</summary>
    public static CharSet Space { get; } = Of([(9, 13), (' ', ' '), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
        (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF)]);
    /// <summary>. (anything but line terminators).</summary>
    public static CharSet Dot { get; } = Of([('\n', '\n'), ('\r', '\r'), (0x2028, 0x2029)]).Complement();

    /// <summary>
    /// Splits the set into sequences of byte ranges whose concatenations are exactly the UTF-8 encodings of the set.
    /// </summary>
    public List<(byte Lo, byte Hi)[]> Utf8Sequences()
    {
        var output = new List<(byte, byte)[]>();
        foreach (var (lo, hi) in Ranges) SplitRange(lo, hi, output);
        return output;
    }

    private static void SplitRange(int a, int b, List<(byte, byte)[]> output)
    {
        if (a > b) return;
        foreach (int max in (ReadOnlySpan<int>)[0x7F, 0x7FF, 0xFFFF])
        {
            if (a <= max && b > max) { SplitRange(a, max, output); SplitRange(max + 1, b, output); return; }
        }
        if (b <= 0x7F) { output.Add([((byte)a, (byte)b)]); return; }
        int n = Utf8Length(a);
        for (int i = 1; i < n; i++)
        {
            int m = (1 << (6 * i)) - 1;
            if ((a & ~m) != (b & ~m))
            {
                if ((a & m) != 0) { SplitRange(a, a | m, output); SplitRange((a | m) + 1, b, output); return; }
                if ((b & m) != m) { SplitRange(a, (b & ~m) - 1, output); SplitRange(b & ~m, b, output); return; }
            }
        }
        var ea = Encode(a);
        var eb = Encode(b);
        var seq = new (byte, byte)[ea.Length];
        for (int i = 0; i < ea.Length; i++) seq[i] = (ea[i], eb[i]);
        output.Add(seq);
    }

    private static int Utf8Length(int c) => c <= 0x7F ? 1 : c <= 0x7FF ? 2 : c <= 0xFFFF ? 3 : 4;

    /// <summary>UTF-8 encoding of one scalar value.</summary>
    public static byte[] Encode(int c) => c switch
    {
        <= 0x7F => [(byte)c],
        <= 0x7FF => [(byte)(0xC0 | (c >> 6)), (byte)(0x80 | (c & 0x3F))],
        <= 0xFFFF => [(byte)(0xE0 | (c >> 12)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))],
        _ => [(byte)(0xF0 | (c >> 18)), (byte)(0x80 | ((c >> 12) & 0x3F)), (byte)(0x80 | ((c >> 6) & 0x3F)), (byte)(0x80 | (c & 0x3F))],
    };
}
