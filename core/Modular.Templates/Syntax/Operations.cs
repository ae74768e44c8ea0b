using System.Text;
using Modular.Templates.Runtime;

namespace Modular.Templates.Syntax;

internal enum UnaryOp { Not, Negate, Plus }

internal sealed class UnaryExpr : Expr
{
    private readonly UnaryOp _op;
    private readonly Expr _operand;

    public UnaryExpr(int offset, UnaryOp op, Expr operand) : base(offset)
    {
        _op = op;
        _operand = operand;
    }

    public override string Construct => _op switch { UnaryOp.Not => "operator 'not'", UnaryOp.Negate => "unary '-'", _ => "unary '+'" };

    public override object? Eval(RenderContext ctx)
    {
        var v = _operand.Eval(ctx);
        try
        {
            return _op switch
            {
                UnaryOp.Not => !Values.IsTrue(v),
                UnaryOp.Negate => Operators.Negate(v),
                _ => Operators.Plus(v),
            };
        }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

internal sealed class BinaryExpr : Expr
{
    private readonly string _op;
    private readonly Expr _left, _right;

    public BinaryExpr(int offset, string op, Expr left, Expr right) : base(offset)
    {
        _op = op;
        _left = left;
        _right = right;
    }

    public override string Construct => $"operator '{_op}'";

    public override object? Eval(RenderContext ctx)
    {
        var a = _left.Eval(ctx);
        var b = _right.Eval(ctx);
        try
        {
            return _op switch
            {
                "+" => Operators.Add(a, b),
                "-" => Operators.Subtract(a, b),
                "*" => Operators.Multiply(a, b),
                "/" => Operators.Divide(a, b),
                "//" => Operators.FloorDivide(a, b),
                "%" => Operators.Modulo(a, b),
                "**" => Operators.Power(a, b),
                _ => throw new RuntimeFault($"unknown operator {_op}"),
            };
        }
        catch (RuntimeFault f) { throw ctx.Fault(this, f); }
    }
}

/// <summary><c>a ~ b ~ c</c>: string concatenation of each operand's str(); Undefined gives "".</summary>
internal sealed class ConcatExpr : Expr
{
    private readonly Expr[] _parts;

    public ConcatExpr(int offset, Expr[] parts) : base(offset) => _parts = parts;

    public override string Construct => "operator '~'";

    public override object? Eval(RenderContext ctx)
    {
        var sb = new StringBuilder();
        foreach (var part in _parts)
        {
            sb.Append(Values.ToStr(part.Eval(ctx)));
            if (sb.Length > Operators.MaxBuiltLength) throw ctx.Error(this, $"result longer than {Operators.MaxBuiltLength} characters");
        }
        return sb.ToString();
    }
}

/// <summary>A comparison chain: <c>a &lt; b &lt;= c</c>, <c>x in y</c>, <c>x not in y</c>, <c>==</c>, <c>!=</c>.</summary>
internal sealed class CompareExpr : Expr
{
    private readonly Expr _first;
    private readonly string[] _ops;
    private readonly Expr[] _operands;

    public CompareExpr(int offset, Expr first, string[] ops, Expr[] operands) : base(offset)
    {
        _first = first;
        _ops = ops;
        _operands = operands;
    }

    public override string Construct => $"comparison '{_ops[0]}'";

    public override object? Eval(RenderContext ctx)
    {
        var left = _first.Eval(ctx);
        for (int i = 0; i < _ops.Length; i++)
        {
            var right = _operands[i].Eval(ctx);
            bool ok;
            try { ok = Test(_ops[i], left, right); }
            catch (RuntimeFault f) { throw ctx.Fault(this, f); }
            if (!ok) return false;
            left = right;
        }
        return true;
    }

    private static bool Test(string op, object? a, object? b) => op switch
    {
        "==" => Values.PyEquals(a, b),
        "!=" => !Values.PyEquals(a, b),
        "<" => Values.Compare(a, b, op) < 0,
        "<=" => Values.Compare(a, b, op) <= 0,
        ">" => Values.Compare(a, b, op) > 0,
        ">=" => Values.Compare(a, b, op) >= 0,
        "in" => Values.Contains(b, a),
        "not in" => !Values.Contains(b, a),
        _ => throw new RuntimeFault($"unknown comparison {op}"),
    };
}

/// <summary><c>a and b</c> / <c>a or b</c>, short-circuit, returning an operand as Python does.</summary>
internal sealed class LogicalExpr : Expr
{
    private readonly bool _isAnd;
    private readonly Expr _left, _right;

    public LogicalExpr(int offset, bool isAnd, Expr left, Expr right) : base(offset)
    {
        _isAnd = isAnd;
        _left = left;
        _right = right;
    }

    public override string Construct => _isAnd ? "operator 'and'" : "operator 'or'";

    public override object? Eval(RenderContext ctx)
    {
        var a = _left.Eval(ctx);
        return Values.IsTrue(a) == _isAnd ? _right.Eval(ctx) : a;
    }
}
