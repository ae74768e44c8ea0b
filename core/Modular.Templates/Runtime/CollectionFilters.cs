using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Filters on lists and dicts: join, map, select/reject(attr), sort, unique, min/max, sum, first/last.</summary>
internal static partial class TemplateFilters
{
    private static object? First(object? v)
    {
        var items = Values.Iterate(v);
        return items.Count > 0 ? items[0] : new Undefined("No first item, sequence was empty.");
    }

    private static object? Last(object? v)
    {
        var items = Values.Iterate(v);
        return items.Count > 0 ? items[^1] : new Undefined("No last item, sequence was empty.");
    }

    private static List<object?> Items(object? v)
    {
        if (v is Undefined) return new List<object?>();
        if (v is not OrderedDictionary<string, object?> dict)
            throw new RuntimeFault($"items filter needs a mapping, got {Values.TypeName(v)}");
        var items = new List<object?>(dict.Count);
        foreach (var kv in dict) items.Add(new object?[] { kv.Key, kv.Value });
        return items;
    }

    private static string Join(object? v, Args a)
    {
        string separator = Values.ToStr(a.Get(0, "d", ""));
        string? attribute = a.Get(1, "attribute") as string;
        var items = Values.Iterate(v);
        var sb = new StringBuilder();
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0) sb.Append(separator);
            sb.Append(Values.ToStr(attribute is null ? items[i] : AttributePath(items[i], attribute)));
        }
        return sb.ToString();
    }

    private static object? Reverse(object? v)
    {
        if (v is string s) return PyString.Slice(s, null, null, -1);
        var items = Values.Iterate(v);
        var result = new List<object?>(items.Count);
        for (int i = items.Count - 1; i >= 0; i--) result.Add(items[i]);
        return result;
    }

    /// <summary>Jinja's attribute paths: "a.b.0" walks attributes and integer indexes.</summary>
    private static object? AttributePath(object? item, string path)
    {
        foreach (var part in path.Split('.'))
        {
            item = long.TryParse(part, out long index) ? Access.GetItem(item, index) : Access.GetItem(item, part);
        }
        return item;
    }

    private static object? SortKey(object? item, string? attribute, bool caseSensitive)
    {
        var key = attribute is null ? item : AttributePath(item, attribute);
        return !caseSensitive && key is string s ? s.ToLowerInvariant() : key;
    }

    private static List<object?> Sort(object? v, Args a)
    {
        bool reverse = Values.IsTrue(a.Get(0, "reverse", false));
        bool caseSensitive = Values.IsTrue(a.Get(1, "case_sensitive", false));
        string? attribute = a.Get(2, "attribute") as string;
        var items = new List<object?>(Values.Iterate(v));
        var keys = new object?[items.Count];
        for (int i = 0; i < items.Count; i++) keys[i] = SortKey(items[i], attribute, caseSensitive);
        var order = Enumerable.Range(0, items.Count).ToArray();
        // A stable sort, as Python's is; OrderBy is stable.
        var sorted = reverse
            ? order.OrderByDescending(i => keys[i], PyComparer.Instance)
            : order.OrderBy(i => keys[i], PyComparer.Instance);
        var result = new List<object?>(items.Count);
        foreach (int i in sorted) result.Add(items[i]);
        return result;
    }

    private static List<object?> Unique(object? v, Args a)
    {
        bool caseSensitive = Values.IsTrue(a.Get(0, "case_sensitive", false));
        string? attribute = a.Get(1, "attribute") as string;
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var item in Values.Iterate(v))
        {
            var key = SortKey(item, attribute, caseSensitive);
            bool dup = false;
            foreach (var s in seen)
                if (Values.PyEquals(s, key)) { dup = true; break; }
            if (dup) continue;
            seen.Add(key);
            result.Add(item);
        }
        return result;
    }

    private static object? MinMax(object? v, Args a, bool max)
    {
        bool caseSensitive = Values.IsTrue(a.Get(0, "case_sensitive", false));
        string? attribute = a.Get(1, "attribute") as string;
        var items = Values.Iterate(v);
        if (items.Count == 0) return new Undefined($"No aggregated item, sequence was empty.");
        object? best = items[0];
        var bestKey = SortKey(best, attribute, caseSensitive);
        for (int i = 1; i < items.Count; i++)
        {
            var key = SortKey(items[i], attribute, caseSensitive);
            int c = Values.Compare(key, bestKey, max ? ">" : "<");
            if (max ? c > 0 : c < 0) { best = items[i]; bestKey = key; }
        }
        return best;
    }

    private static object? Sum(object? v, Args a)
    {
        string? attribute = a.Get(0, "attribute") as string;
        object? total = a.Get(1, "start", 0L);
        foreach (var item in Values.Iterate(v))
            total = Operators.Add(total, attribute is null ? item : AttributePath(item, attribute));
        return total;
    }

    private static List<object?> DictSort(object? v, Args a)
    {
        bool caseSensitive = Values.IsTrue(a.Get(0, "case_sensitive", false));
        string by = Values.ToStr(a.Get(1, "by", "key"));
        bool reverse = Values.IsTrue(a.Get(2, "reverse", false));
        var items = Items(v);
        int pos = by switch { "key" => 0, "value" => 1, _ => throw new RuntimeFault("dictsort: by must be 'key' or 'value'") };
        var sorted = items.OrderBy(i => SortKey(((object?[])i!)[pos], null, caseSensitive), PyComparer.Instance).ToList();
        if (reverse) sorted.Reverse();
        return sorted;
    }

    private static List<object?> Batch(object? v, Args a)
    {
        long size = Values.AsLong(a.Get(0, "linecount"));
        if (size <= 0) throw new RuntimeFault("batch size must be positive");
        bool fill = a.Has(1, "fill_with");
        var filler = a.Get(1, "fill_with");
        var result = new List<object?>();
        List<object?>? current = null;
        foreach (var item in Values.Iterate(v))
        {
            current ??= new List<object?>();
            current.Add(item);
            if (current.Count == size) { result.Add(current); current = null; }
        }
        if (current is not null)
        {
            while (fill && current.Count < size) current.Add(filler);
            result.Add(current);
        }
        return result;
    }

    /// <summary>map(attribute='x', default=...) or map('filter', args...).</summary>
    private static List<object?> Map(RenderContext ctx, object? v, Args a)
    {
        var items = Values.Iterate(v);
        var result = new List<object?>(items.Count);
        if (a.Positional.Length == 0 && a.Get(-1, "attribute") is string attribute)
        {
            bool hasDefault = a.Has(-1, "default");
            var fallback = a.Get(-1, "default");
            foreach (var item in items)
            {
                var value = AttributePath(item, attribute);
                result.Add(hasDefault && value is Undefined ? fallback : value);
            }
            return result;
        }
        if (a.Positional.Length == 0 || a.Positional[0] is not string name)
            throw new RuntimeFault("map needs a filter name or attribute=");
        if (!TryGet(name, out var filter)) throw new RuntimeFault($"map: no filter named '{name}'");
        var rest = new Args(a.Positional[1..], a.Named);
        foreach (var item in items) result.Add(filter(ctx, item, rest));
        return result;
    }

    private static List<object?> Select(RenderContext ctx, object? v, Args a, bool keep)
        => Filter(v, a, 0, attribute: null, keep);

    private static List<object?> SelectAttr(RenderContext ctx, object? v, Args a, bool keep)
    {
        if (a.Positional.Length == 0 || a.Positional[0] is not string attribute)
            throw new RuntimeFault("selectattr/rejectattr need an attribute name");
        return Filter(v, a, 1, attribute, keep);
    }

    /// <summary>Shared body of select/reject/selectattr/rejectattr: the test name sits at <paramref name="testIndex"/>.</summary>
    private static List<object?> Filter(object? v, Args a, int testIndex, string? attribute, bool keep)
    {
        TestFunction? test = null;
        var testArgs = Args.Empty;
        if (a.Positional.Length > testIndex)
        {
            if (a.Positional[testIndex] is not string testName || !TemplateTests.TryGet(testName, out var found))
                throw new RuntimeFault($"no test named {Values.Repr(a.Positional[testIndex])}");
            test = found;
            testArgs = new Args(a.Positional[(testIndex + 1)..], null);
        }
        var result = new List<object?>();
        foreach (var item in Values.Iterate(v))
        {
            var subject = attribute is null ? item : AttributePath(item, attribute);
            bool pass = test is null ? Values.IsTrue(subject) : test(subject, testArgs);
            if (pass == keep) result.Add(item);
        }
        return result;
    }
}

/// <summary>Python ordering as an IComparer, for sort-like filters.</summary>
internal sealed class PyComparer : IComparer<object?>
{
    public static readonly PyComparer Instance = new();

    public int Compare(object? x, object? y) => Values.Compare(x, y, "<");
}
