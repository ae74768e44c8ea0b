using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

internal sealed class LiteralExpr : Expr
{
    private readonly object? _value;

    public LiteralExpr(int offset, object? value) : base(offset) => _value = value;

    public object? Value => _value;
    public override string Construct => "literal";
    public override object? Eval(RenderContext ctx) => _value;
}

internal sealed class NameExpr : Expr
{
    public NameExpr(int offset, string name) : base(offset) => Name = name;

    public string Name { get; }
    public override string Construct => $"variable '{Name}'";
    public override object? Eval(RenderContext ctx) => ctx.Lookup(Name);
}

internal sealed class ListExpr : Expr
{
    private readonly Expr[] _items;
    private readonly bool _tuple;

    public ListExpr(int offset, Expr[] items, bool tuple) : base(offset)
    {
        _items = items;
        _tuple = tuple;
    }

    public IReadOnlyList<Expr> Items => _items;
    public bool IsTuple => _tuple;
    public override string Construct => _tuple ? "tuple" : "list";

    public override object? Eval(RenderContext ctx)
    {
        if (_tuple)
        {
            var tuple = new object?[_items.Length];
            for (int i = 0; i < _items.Length; i++) tuple[i] = _items[i].Eval(ctx);
            return tuple;
        }
        var list = new List<object?>(_items.Length);
        for (int i = 0; i < _items.Length; i++) list.Add(_items[i].Eval(ctx));
        return list;
    }
}

internal sealed class DictExpr : Expr
{
    private readonly Expr[] _keys;
    private readonly Expr[] _values;

    public DictExpr(int offset, Expr[] keys, Expr[] values) : base(offset)
    {
        _keys = keys;
        _values = values;
    }

    public override string Construct => "dict literal";

    public override object? Eval(RenderContext ctx)
    {
        var dict = new OrderedDictionary<string, object?>(_keys.Length, StringComparer.Ordinal);
        for (int i = 0; i < _keys.Length; i++)
        {
            var key = _keys[i].Eval(ctx);
            if (key is not string k)
                throw ctx.Error(_keys[i], $"dict keys must be strings here, got {Values.TypeName(key)}");
            dict[k] = _values[i].Eval(ctx);
        }
        return dict;
    }
}

/// <summary><c>target.name</c>.</summary>
internal sealed class AttributeExpr : Expr
{
    public AttributeExpr(int offset, Expr target, string name) : base(offset)
    {
        Target = target;
        Name = name;
    }

    public Expr Target { get; }
    public string Name { get; }
    public override string Construct => $"attribute '.{Name}'";

    public override object? Eval(RenderContext ctx)
    {
        var obj = Target.Eval(ctx);
        try { return Access.GetAttribute(obj, Name); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

/// <summary><c>target[key]</c>.</summary>
internal sealed class ItemExpr : Expr
{
    private readonly Expr _target;
    private readonly Expr _key;

    public ItemExpr(int offset, Expr target, Expr key) : base(offset)
    {
        _target = target;
        _key = key;
    }

    public override string Construct => "subscript '[...]'";

    public override object? Eval(RenderContext ctx)
    {
        var obj = _target.Eval(ctx);
        var key = _key.Eval(ctx);
        try { return Access.GetItem(obj, key); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

/// <summary><c>target[start:stop:step]</c>.</summary>
internal sealed class SliceExpr : Expr
{
    private readonly Expr _target;
    private readonly Expr? _start, _stop, _step;

    public SliceExpr(int offset, Expr target, Expr? start, Expr? stop, Expr? step) : base(offset)
    {
        _target = target;
        _start = start;
        _stop = stop;
        _step = step;
    }

    public override string Construct => "slice '[a:b:c]'";

    public override object? Eval(RenderContext ctx)
    {
        var obj = _target.Eval(ctx);
        var start = _start?.Eval(ctx);
        var stop = _stop?.Eval(ctx);
        var step = _step?.Eval(ctx);
        try { return Access.Slice(obj, start, stop, step); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

/// <summary><c>a if cond else b</c>; without else, a false condition gives Undefined.</summary>
internal sealed class ConditionalExpr : Expr
{
    private readonly Expr _then, _condition;
    private readonly Expr? _else;

    public ConditionalExpr(int offset, Expr then, Expr condition, Expr? otherwise) : base(offset)
    {
        _then = then;
        _condition = condition;
        _else = otherwise;
    }

    public override string Construct => "inline if";

    public override object? Eval(RenderContext ctx)
    {
        if (Values.IsTrue(_condition.Eval(ctx))) return _then.Eval(ctx);
        return _else is null ? new Undefined("the inline if has no else branch and its condition was false") : _else.Eval(ctx);
    }
}
