using System.Text;
using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

/// <summary>
/// <c>{% for target in iterable [if filter] %}body{% else %}empty{% endfor %}</c>. Each iteration runs in a fresh
/// scope: assignments made inside do not survive the iteration nor the loop (Jinja's rule; namespace() is the way out).
/// </summary>
internal sealed class ForStmt : Stmt
{
    private readonly Target _target;
    private readonly Expr _iterable;
    private readonly Expr? _filter;
    private readonly Stmt[] _body;
    private readonly Stmt[]? _else;

    public ForStmt(int offset, Target target, Expr iterable, Expr? filter, Stmt[] body, Stmt[]? otherwise) : base(offset)
    {
        _target = target;
        _iterable = iterable;
        _filter = filter;
        _body = body;
        _else = otherwise;
    }

    public override string Construct => "for";

    public override Flow Execute(RenderContext ctx, StringBuilder output)
    {
        var source = _iterable.Eval(ctx);
        IList<object?> items;
        try { items = Values.Iterate(source); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }

        var outer = ctx.Scope;
        var scope = new Scope(outer);
        ctx.Scope = scope;
        try
        {
            if (_filter is not null) items = ApplyFilter(ctx, scope, items);
            if (items.Count == 0)
            {
                ctx.Scope = outer;
                return _else is null ? Flow.Normal : Block.Run(_else, ctx, output);
            }
            var loop = new LoopContext(items, 0);
            for (int i = 0; i < items.Count; i++)
            {
                if (++ctx.Iterations > RenderContext.MaxIterations)
                    throw ctx.Error(this, $"more than {RenderContext.MaxIterations} loop iterations in one render");
                if (output.Length > RenderContext.MaxOutputLength)
                    throw ctx.Error(this, $"output longer than {RenderContext.MaxOutputLength} characters");
                // Reusing one scope object is safe: it is cleared, so nothing leaks between iterations.
                scope.Clear();
                loop.Index0 = i;
                scope.Set("loop", loop);
                Bind(ctx, scope, items[i]);
                if (Block.Run(_body, ctx, output) == Flow.Break) break;
            }
            return Flow.Normal;
        }
        finally
        {
            ctx.Scope = outer;
        }
    }

    private void Bind(RenderContext ctx, Scope scope, object? item)
    {
        try { _target.Assign(ctx, scope, item); }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }

    private List<object?> ApplyFilter(RenderContext ctx, Scope scope, IList<object?> items)
    {
        var kept = new List<object?>();
        foreach (var item in items)
        {
            if (++ctx.Iterations > RenderContext.MaxIterations)
                throw ctx.Error(this, $"more than {RenderContext.MaxIterations} loop iterations in one render");
            scope.Clear();
            Bind(ctx, scope, item);
            if (Values.IsTrue(_filter!.Eval(ctx))) kept.Add(item);
        }
        return kept;
    }
}
