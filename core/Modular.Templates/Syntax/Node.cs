using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

/// <summary>A node of the compiled template: its source offset (for errors) and the construct it stands for.</summary>
internal abstract class Node
{
    protected Node(int offset) => Offset = offset;

    public int Offset { get; }

    /// <summary>Names the construct in error messages, e.g. "for", "filter 'join'", "operator '+'".</summary>
    public abstract string Construct { get; }
}

/// <summary>An expression: evaluates to a runtime value.</summary>
internal abstract class Expr : Node
{
    protected Expr(int offset) : base(offset) { }

    public abstract object? Eval(RenderContext ctx);
}
