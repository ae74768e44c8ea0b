using System.Runtime.CompilerServices;
using System.Text;
using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

/// <summary>How a statement finished: normally, or by break/continue travelling up to the nearest loop.</summary>
internal enum Flow { Normal, Break, Continue }

/// <summary>A statement: writes to the output and may change variables.</summary>
internal abstract class Stmt : Node
{
    protected Stmt(int offset) : base(offset) { }

    public abstract Flow Execute(RenderContext ctx, StringBuilder output);
}

/// <summary>Runs a statement list, turning unexpected .NET exceptions into located template errors.</summary>
internal static class Block
{
    public static Flow Run(Stmt[] body, RenderContext ctx, StringBuilder output)
    {
        for (int i = 0; i < body.Length; i++)
        {
            var stmt = body[i];
            Flow flow;
            try
            {
                flow = stmt.Execute(ctx, output);
            }
            catch (RuntimeFault f)
            {
                throw ctx.Fault(stmt, f);
            }
            catch (Exception e) when (e is not TemplateException)
            {
                string reason = e is InsufficientExecutionStackException
                    ? "the template nests too deeply to render"
                    : $"internal error: {e.GetType().Name}: {e.Message}";
                throw ctx.Error(stmt, reason, e);
            }
            if (flow != Flow.Normal) return flow;
        }
        if (output.Length > RenderContext.MaxOutputLength)
            throw ctx.Error(body[^1], $"output longer than {RenderContext.MaxOutputLength} characters");
        return Flow.Normal;
    }

    public static string Capture(Stmt[] body, RenderContext ctx)
    {
        var sb = new StringBuilder();
        Run(body, ctx, sb);
        return sb.ToString();
    }

    public static void CheckStack() => RuntimeHelpers.EnsureSufficientExecutionStack();
}

internal sealed class TextStmt : Stmt
{
    private readonly string _text;

    public TextStmt(int offset, string text) : base(offset) => _text = text;

    public override string Construct => "text";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        output.Append(_text);
        return Flow.Normal;
    }
}

/// <summary><c>{{ expr }}</c>.</summary>
internal sealed class OutputStmt : Stmt
{
    private readonly Expr _expr;

    public OutputStmt(int offset, Expr expr) : base(offset) => _expr = expr;

    public override string Construct => "output '{{ }}'";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        var v = _expr.Eval(ctx);
        if (v is string s) output.Append(s);
        else output.Append(Values.ToStr(v));
        return Flow.Normal;
    }
}

/// <summary><c>{% if %}...{% elif %}...{% else %}...{% endif %}</c>; does not open a scope.</summary>
internal sealed class IfStmt : Stmt
{
    private readonly Expr[] _conditions;
    private readonly Stmt[][] _branches;
    private readonly Stmt[]? _else;

    public IfStmt(int offset, Expr[] conditions, Stmt[][] branches, Stmt[]? otherwise) : base(offset)
    {
        _conditions = conditions;
        _branches = branches;
        _else = otherwise;
    }

    public override string Construct => "if";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        for (int i = 0; i < _conditions.Length; i++)
            if (Values.IsTrue(_conditions[i].Eval(ctx))) return Block.Run(_branches[i], ctx, output);
        return _else is null ? Flow.Normal : Block.Run(_else, ctx, output);
    }
}

/// <summary>An assignment target: a name, <c>ns.attr</c>, or a tuple of names for unpacking.</summary>
internal sealed class Target
{
    public Target(string name, string? attribute, Target[]? elements)
    {
        Name = name;
        Attribute = attribute;
        Elements = elements;
    }

    public string Name { get; }
    public string? Attribute { get; }
    public Target[]? Elements { get; }

    public void Assign(RenderContext ctx, Scope scope, object? value)
    {
        if (Elements is not null)
        {
            if (value is not IList<object?> items)
                throw new RuntimeFault($"cannot unpack non-sequence {Values.TypeName(value)}");
            if (items.Count != Elements.Length)
                throw new RuntimeFault(items.Count > Elements.Length
                    ? $"too many values to unpack (expected {Elements.Length})"
                    : $"not enough values to unpack (expected {Elements.Length}, got {items.Count})");
            for (int i = 0; i < Elements.Length; i++) Elements[i].Assign(ctx, scope, items[i]);
            return;
        }
        if (Attribute is not null)
        {
            var owner = ctx.Lookup(Name);
            if (owner is not Namespace ns)
                throw new RuntimeFault($"cannot assign attribute '{Attribute}' on '{Name}', a {Values.TypeName(owner)}: only namespace() objects take assignments");
            ns.Attributes[Attribute] = value;
            return;
        }
        scope.Set(Name, value);
    }
}

/// <summary><c>{% set target = expr %}</c>.</summary>
internal sealed class SetStmt : Stmt
{
    private readonly Target _target;
    private readonly Expr _value;

    public SetStmt(int offset, Target target, Expr value) : base(offset)
    {
        _target = target;
        _value = value;
    }

    public override string Construct => "set";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        _target.Assign(ctx, ctx.Scope, _value.Eval(ctx));
        return Flow.Normal;
    }
}

/// <summary><c>{% set name | filters %}body{% endset %}</c>: assigns the rendered body.</summary>
internal sealed class SetBlockStmt : Stmt
{
    private readonly Target _target;
    private readonly Stmt[] _body;
    private readonly FilterExpr[] _filters;

    public SetBlockStmt(int offset, Target target, Stmt[] body, FilterExpr[] filters) : base(offset)
    {
        _target = target;
        _body = body;
        _filters = filters;
    }

    public override string Construct => "set block";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        object? value = Block.Capture(_body, ctx);
        foreach (var f in _filters) value = f.Apply(ctx, value);
        _target.Assign(ctx, ctx.Scope, value);
        return Flow.Normal;
    }
}

/// <summary><c>{% filter name %}body{% endfilter %}</c>.</summary>
internal sealed class FilterBlockStmt : Stmt
{
    private readonly Stmt[] _body;
    private readonly FilterExpr[] _filters;

    public FilterBlockStmt(int offset, Stmt[] body, FilterExpr[] filters) : base(offset)
    {
        _body = body;
        _filters = filters;
    }

    public override string Construct => "filter block";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        object? value = Block.Capture(_body, ctx);
        foreach (var f in _filters) value = f.Apply(ctx, value);
        output.Append(Values.ToStr(value));
        return Flow.Normal;
    }
}

/// <summary><c>{% break %}</c> / <c>{% continue %}</c> (Hugging Face enables the loopcontrols extension).</summary>
internal sealed class LoopControlStmt : Stmt
{
    private readonly Flow _flow;

    public LoopControlStmt(int offset, Flow flow) : base(offset) => _flow = flow;

    public override string Construct => _flow == Flow.Break ? "break" : "continue";
    public override Flow Execute(RenderContext ctx, StringBuilder output) => _flow;
}

/// <summary>A body run as is: <c>{% generation %}</c> (HF's assistant-mask marker, rendering-neutral).</summary>
internal sealed class GroupStmt : Stmt
{
    private readonly Stmt[] _body;
    private readonly string _construct;

    public GroupStmt(int offset, Stmt[] body, string construct) : base(offset)
    {
        _body = body;
        _construct = construct;
    }

    public override string Construct => _construct;
    public override Flow Execute(RenderContext ctx, StringBuilder output) => Block.Run(_body, ctx, output);
}
