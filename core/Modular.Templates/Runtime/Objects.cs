using System.Text;

namespace Modular.Templates.Runtime;

/// <summary>Something a template can call: a macro, a global function, a bound method.</summary>
internal interface ICallable
{
    string Name { get; }
    object? Invoke(RenderContext ctx, Args args);
}

/// <summary>The object <c>namespace(...)</c> returns: the one mutable thing a template may assign attributes on.</summary>
internal sealed class Namespace
{
    public readonly Dictionary<string, object?> Attributes = new(StringComparer.Ordinal);

    public override string ToString()
    {
        var sb = new StringBuilder("<Namespace {");
        bool first = true;
        foreach (var kv in Attributes)
        {
            if (!first) sb.Append(", ");
            first = false;
            sb.Append(Values.Repr(kv.Key)).Append(": ").Append(Values.Repr(kv.Value));
        }
        return sb.Append("}>").ToString();
    }
}

/// <summary>A global function or a method bound to its receiver.</summary>
internal sealed class BuiltinFunction : ICallable
{
    private readonly Func<RenderContext, Args, object?> _body;

    public BuiltinFunction(string name, Func<RenderContext, Args, object?> body)
    {
        Name = name;
        _body = body;
    }

    public string Name { get; }

    public object? Invoke(RenderContext ctx, Args args) => _body(ctx, args);

    public override string ToString() => $"<built-in function {Name}>";
}

/// <summary>The <c>loop</c> variable inside a for loop.</summary>
internal sealed class LoopContext
{
    private readonly IList<object?> _items;

    public LoopContext(IList<object?> items, int depth0)
    {
        _items = items;
        Depth0 = depth0;
    }

    public int Index0 { get; set; }
    public int Depth0 { get; }
    public int Length => _items.Count;

    public bool TryGetAttribute(string name, out object? value)
    {
        value = name switch
        {
            "index" => (long)(Index0 + 1),
            "index0" => (long)Index0,
            "revindex" => (long)(Length - Index0),
            "revindex0" => (long)(Length - Index0 - 1),
            "first" => Index0 == 0,
            "last" => Index0 == Length - 1,
            "length" => (long)Length,
            "depth" => (long)(Depth0 + 1),
            "depth0" => (long)Depth0,
            "previtem" => Index0 > 0 ? _items[Index0 - 1] : Undefined.Attribute(this, "previtem"),
            "nextitem" => Index0 + 1 < Length ? _items[Index0 + 1] : Undefined.Attribute(this, "nextitem"),
            "cycle" => new BuiltinFunction("loop.cycle", (_, args) =>
            {
                if (args.Count == 0) throw new RuntimeFault("loop.cycle() needs at least one value");
                return args.Positional[Index0 % args.Positional.Length];
            }),
            _ => null,
        };
        return value is not null || name is "previtem" or "nextitem";
    }

    public override string ToString() => $"<LoopContext {Index0 + 1}/{Length}>";
}

/// <summary>Positional and keyword arguments of a call or filter.</summary>
internal readonly struct Args
{
    public static readonly Args Empty = new([], null);

    public Args(object?[] positional, KeyValuePair<string, object?>[]? named)
    {
        Positional = positional;
        Named = named;
    }

    public object?[] Positional { get; }
    public KeyValuePair<string, object?>[]? Named { get; }
    public int Count => Positional.Length + (Named?.Length ?? 0);

    /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
    public object? Get(int index, string name, object? fallback = null)
    {
        if (index >= 0 && index < Positional.Length) return Positional[index];
        if (Named is not null)
            foreach (var kv in Named)
                if (kv.Key == name) return kv.Value;
        return fallback;
    }

    public bool Has(int index, string name)
    {
        if (index >= 0 && index < Positional.Length) return true;
        if (Named is not null)
            foreach (var kv in Named)
                if (kv.Key == name) return true;
        return false;
    }
}
