using System.Text;
using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

/// <summary>The definition of a macro: parameters with default expressions and a body.</summary>
internal sealed class MacroDefinition
{
    public MacroDefinition(string name, string[] parameters, Expr?[] defaults, Stmt[] body)
    {
        Name = name;
        Parameters = parameters;
        Defaults = defaults;
        Body = body;
    }

    public string Name { get; }
    public string[] Parameters { get; }
    public Expr?[] Defaults { get; }
    public Stmt[] Body { get; }
}

/// <summary>A macro value: its definition closed over the scope it was defined in.</summary>
internal sealed class Macro : ICallable
{
    private readonly MacroDefinition _def;
    private readonly Scope _closure;

    public Macro(MacroDefinition def, Scope closure)
    {
        _def = def;
        _closure = closure;
    }

    public string Name => _def.Name;

    public object? Invoke(RenderContext ctx, Args args)
    {
        if (ctx.CallDepth >= RenderContext.MaxCallDepth)
            throw new RuntimeFault($"macro calls nested more than {RenderContext.MaxCallDepth} deep (runaway recursion in '{Name}'?)");
        Block.CheckStack();
        var scope = new Scope(_closure);
        var p = _def.Parameters;
        var outer = ctx.Scope;
        ctx.Scope = scope;
        ctx.CallDepth++;
        try
        {
            for (int i = 0; i < p.Length; i++)
            {
                if (args.Has(i, p[i])) scope.Set(p[i], args.Get(i, p[i]));
                else if (_def.Defaults[i] is Expr d) scope.Set(p[i], d.Eval(ctx));
                else scope.Set(p[i], new Undefined($"parameter '{p[i]}' was not provided to macro '{Name}'"));
            }
            // Extra arguments land in varargs/kwargs rather than failing, a lenient reading of Jinja's rule.
            var extra = new List<object?>();
            for (int i = p.Length; i < args.Positional.Length; i++) extra.Add(args.Positional[i]);
            scope.Set("varargs", extra.ToArray());
            var kwargs = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
            if (args.Named is not null)
                foreach (var kv in args.Named)
                    if (Array.IndexOf(p, kv.Key) < 0)
                    {
                        if (kv.Key == "caller") scope.Set("caller", kv.Value);
                        else kwargs[kv.Key] = kv.Value;
                    }
            scope.Set("kwargs", kwargs);
            var sb = new StringBuilder();
            Block.Run(_def.Body, ctx, sb);
            return sb.ToString();
        }
        finally
        {
            ctx.CallDepth--;
            ctx.Scope = outer;
        }
    }

    public override string ToString() => $"<Macro '{Name}'>";
}

/// <summary><c>{% macro name(params) %}body{% endmacro %}</c>: binds the macro in the current scope.</summary>
internal sealed class MacroStmt : Stmt
{
    private readonly MacroDefinition _def;

    public MacroStmt(int offset, MacroDefinition def) : base(offset) => _def = def;

    public override string Construct => $"macro '{_def.Name}'";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        ctx.Scope.Set(_def.Name, new Macro(_def, ctx.Scope));
        return Flow.Normal;
    }
}

/// <summary><c>{% call(params) target(args) %}body{% endcall %}</c>: the body becomes the callee's <c>caller()</c>.</summary>
internal sealed class CallBlockStmt : Stmt
{
    private readonly CallExpr _call;
    private readonly MacroDefinition _caller;

    public CallBlockStmt(int offset, CallExpr call, MacroDefinition caller) : base(offset)
    {
        _call = call;
        _caller = caller;
    }

    public override string Construct => "call block";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        var caller = new Macro(_caller, ctx.Scope);
        output.Append(Values.ToStr(_call.Invoke(ctx, new KeyValuePair<string, object?>("caller", caller))));
        return Flow.Normal;
    }
}
