namespace Modular.Templates.Runtime;

/// <summary>Attribute access (<c>a.b</c>), subscription (<c>a[b]</c>) and slicing, with Jinja's lookup order.</summary>
internal static class Access
{
    /// <summary>
    /// <c>obj.name</c>: like Jinja, a Python attribute (a method such as dict.items) wins, then the item of that name;
    /// a miss gives Undefined, and only a miss on Undefined itself is an error.
    /// </summary>
    public static object? GetAttribute(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u:
                throw u.Fault();
            case OrderedDictionary<string, object?> dict:
                if (Methods.IsMethod(obj, name)) return Methods.Bind(obj, name);
                return dict.TryGetValue(name, out var v) ? v : Undefined.Attribute(obj, name);
            case Namespace ns:
                return ns.Attributes.TryGetValue(name, out var nv) ? nv : Undefined.Attribute(obj, name);
            case LoopContext loop:
                return loop.TryGetAttribute(name, out var lv) ? lv : Undefined.Attribute(obj, name);
            case string or IList<object?>:
                return Methods.IsMethod(obj, name) ? Methods.Bind(obj, name) : Undefined.Attribute(obj, name);
            default:
                return Undefined.Attribute(obj, name);
        }
    }

    /// <summary><c>obj[key]</c>: the item first, then (for string keys) the attribute, as Jinja's getitem does.</summary>
    public static object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u:
                throw u.Fault();
            case OrderedDictionary<string, object?> dict:
                if (key is string k && dict.TryGetValue(k, out var v)) return v;
                break;
            case IList<object?> list when key is long or bool:
            {
                long i = Values.AsLong(key);
                if (i < 0) i += list.Count;
                if (i >= 0 && i < list.Count) return list[(int)i];
                return new Undefined($"{Values.TypeName(obj)} index {Values.AsLong(key)} out of range");
            }
            case string s when key is long or bool:
                return PyString.Index(s, Values.AsLong(key)) ?? new Undefined($"string index {Values.AsLong(key)} out of range");
        }
        if (key is Undefined ku) throw ku.Fault();
        if (key is string name) return GetAttribute(obj, name);
        return new Undefined($"'{Values.OwnerDescription(obj)}' has no item {Values.Repr(key)}");
    }

    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        long? a = SliceBound(start), b = SliceBound(stop), c = SliceBound(step);
        return obj switch
        {
            string s => PyString.Slice(s, a, b, c),
            object?[] tuple => Slicing.Apply(tuple, a, b, c).ToArray(),
            IList<object?> list => Slicing.Apply(list, a, b, c),
            Undefined u => throw u.Fault(),
            _ => throw new RuntimeFault($"'{Values.TypeName(obj)}' object is not subscriptable"),
        };
    }

    private static long? SliceBound(object? v) => v switch
    {
        null => null,
        long or bool => Values.AsLong(v),
        Undefined => null,
        _ => throw new RuntimeFault($"slice indices must be integers or None, not {Values.TypeName(v)}"),
    };
}
