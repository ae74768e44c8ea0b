using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

/// <summary>The argument list of a call, filter or test, as written.</summary>
internal sealed class ArgList
{
    public static readonly ArgList None = new([], []);

    public ArgList(Expr[] positional, KeyValuePair<string, Expr>[] named)
    {
        Positional = positional;
        Named = named;
    }

    public Expr[] Positional { get; }
    public KeyValuePair<string, Expr>[] Named { get; }

    public Args Eval(RenderContext ctx, KeyValuePair<string, object?>? extra = null)
    {
        var positional = Positional.Length == 0 ? [] : new object?[Positional.Length];
        for (int i = 0; i < Positional.Length; i++) positional[i] = Positional[i].Eval(ctx);
        int namedCount = Named.Length + (extra is null ? 0 : 1);
        if (namedCount == 0) return new Args(positional, null);
        var named = new KeyValuePair<string, object?>[namedCount];
        for (int i = 0; i < Named.Length; i++) named[i] = new(Named[i].Key, Named[i].Value.Eval(ctx));
        if (extra is not null) named[^1] = extra.Value;
        return new Args(positional, named);
    }
}

/// <summary><c>callee(args)</c>: a macro, a global function, or a method such as <c>text.strip()</c>.</summary>
internal sealed class CallExpr : Expr
{
    private readonly Expr _callee;
    private readonly ArgList _args;

    public CallExpr(int offset, Expr callee, ArgList args) : base(offset)
    {
        _callee = callee;
        _args = args;
    }

    public override string Construct => _callee switch
    {
        NameExpr n => $"call '{n.Name}()'",
        AttributeExpr a => $"call '.{a.Name}()'",
        _ => "call",
    };

    public override object? Eval(RenderContext ctx) => Invoke(ctx, null);

    /// <summary>Calls with one extra keyword argument (the <c>caller</c> of a call block).</summary>
    public object? Invoke(RenderContext ctx, KeyValuePair<string, object?>? extra)
    {
        try
        {
            if (_callee is AttributeExpr attr)
            {
                // Method calls skip building a bound-method object: the hot path of str.startswith and friends.
                var receiver = attr.Target.Eval(ctx);
                if (receiver is string or IList<object?> or OrderedDictionary<string, object?> && Methods.IsMethod(receiver, attr.Name))
                    return Methods.Call(receiver, attr.Name, _args.Eval(ctx, extra));
                return CallValue(ctx, Access.GetAttribute(receiver, attr.Name), _args.Eval(ctx, extra));
            }
            var callee = _callee.Eval(ctx);
            return CallValue(ctx, callee, _args.Eval(ctx, extra));
        }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }

    private static object? CallValue(RenderContext ctx, object? callee, Args args) => callee switch
    {
        ICallable f => f.Invoke(ctx, args),
        Undefined u => throw u.Fault(),
        _ => throw new RuntimeFault($"'{Values.TypeName(callee)}' object is not callable"),
    };
}

/// <summary><c>value | name(args)</c>; the filter is resolved when the template is parsed.</summary>
internal sealed class FilterExpr : Expr
{
    private readonly Expr? _target;
    private readonly string _name;
    private readonly FilterFunction _filter;
    private readonly ArgList _args;

    public FilterExpr(int offset, Expr? target, string name, FilterFunction filter, ArgList args) : base(offset)
    {
        _target = target;
        _name = name;
        _filter = filter;
        _args = args;
    }

    public override string Construct => $"filter '{_name}'";

    public override object? Eval(RenderContext ctx) => Apply(ctx, _target!.Eval(ctx));

    /// <summary>Applies the filter to a value computed elsewhere (filter blocks, block set).</summary>
    public object? Apply(RenderContext ctx, object? value)
    {
        var args = _args.Eval(ctx);
        try { return _filter(ctx, value, args); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

/// <summary><c>value is [not] name(args)</c>.</summary>
internal sealed class TestExpr : Expr
{
    private readonly Expr _target;
    private readonly string _name;
    private readonly TestFunction _test;
    private readonly ArgList _args;
    private readonly bool _negated;

    public TestExpr(int offset, Expr target, string name, TestFunction test, ArgList args, bool negated) : base(offset)
    {
        _target = target;
        _name = name;
        _test = test;
        _args = args;
        _negated = negated;
    }

    public override string Construct => $"test 'is {(_negated ? "not " : "")}{_name}'";

    public override object? Eval(RenderContext ctx)
    {
        var value = _target.Eval(ctx);
        var args = _args.Eval(ctx);
        try { return _test(value, args) != _negated; }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}
