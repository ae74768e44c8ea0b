using Modular.Templates.Lexing;
using Modular.Templates.Runtime;
using Modular.Templates.Syntax;

namespace Modular.Templates.Parsing;

/// <summary>
/// Expressions, by Jinja's precedence (loosest first): inline if, or, and, not, comparisons (in, ==, &lt;, ...),
/// + and -, ~, * / // %, **, unary - and +, then primary with postfix (.attr, [index], (call)) and filters/tests.
/// </summary>
internal sealed partial class Parser
{
    /// <summary>An expression that may be a bare tuple: <c>{{ a, b }}</c>, <c>{% set x = 1, 2 %}</c>.</summary>
    private Expr ParseTuple(string construct, bool allowConditional = true)
    {
        int at = Current.Offset;
        var first = allowConditional ? ParseExpression(construct) : ParseOr(construct);
        if (!Current.IsOperator(",")) return first;
        var items = new List<Expr> { first };
        while (Current.IsOperator(","))
        {
            _pos++;
            if (!StartsExpression(Current)) break;
            items.Add(allowConditional ? ParseExpression(construct) : ParseOr(construct));
        }
        return new ListExpr(at, items.ToArray(), tuple: true);
    }

    private static bool StartsExpression(Token t) => t.Kind switch
    {
        TokenKind.Name => t.Value is not ("in" or "if" or "else" or "and" or "or" or "is"),
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Operator => t.Value is "(" or "[" or "{" or "-" or "+",
        _ => false,
    };

    private Expr ParseExpression(string construct)
    {
        Enter(Current.Offset, construct);
        int at = Current.Offset;
        var expr = ParseOr(construct);
        while (Current.IsName("if"))
        {
            _pos++;
            var condition = ParseOr(construct);
            Expr? otherwise = null;
            if (Current.IsName("else"))
            {
                _pos++;
                otherwise = ParseExpression(construct);
            }
            expr = new ConditionalExpr(at, expr, condition, otherwise);
        }
        Leave();
        return expr;
    }

    private Expr ParseOr(string construct)
    {
        var left = ParseAnd(construct);
        while (Current.IsName("or"))
        {
            int at = Next().Offset;
            left = new LogicalExpr(at, isAnd: false, left, ParseAnd(construct));
        }
        return left;
    }

    private Expr ParseAnd(string construct)
    {
        var left = ParseNot(construct);
        while (Current.IsName("and"))
        {
            int at = Next().Offset;
            left = new LogicalExpr(at, isAnd: true, left, ParseNot(construct));
        }
        return left;
    }

    private Expr ParseNot(string construct)
    {
        if (!Current.IsName("not")) return ParseCompare(construct);
        int at = Next().Offset;
        Enter(at, construct);
        var operand = ParseNot(construct);
        Leave();
        return new UnaryExpr(at, UnaryOp.Not, operand);
    }

    private Expr ParseCompare(string construct)
    {
        int at = Current.Offset;
        var first = ParseMath1(construct);
        List<string>? ops = null;
        List<Expr>? operands = null;
        while (true)
        {
            string? op = null;
            var t = Current;
            if (t.Kind == TokenKind.Operator && t.Value is "==" or "!=" or "<" or "<=" or ">" or ">=") op = t.Value;
            else if (t.IsName("in")) op = "in";
            else if (t.IsName("not") && Peek().IsName("in")) { op = "not in"; _pos++; }
            if (op is null) break;
            _pos++;
            (ops ??= new()).Add(op);
            (operands ??= new()).Add(ParseMath1(construct));
        }
        return ops is null ? first : new CompareExpr(at, first, ops.ToArray(), operands!.ToArray());
    }

    private Expr ParseMath1(string construct)
    {
        var left = ParseConcat(construct);
        while (Current.Kind == TokenKind.Operator && Current.Value is "+" or "-")
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, op.Value, left, ParseConcat(construct));
        }
        return left;
    }

    private Expr ParseConcat(string construct)
    {
        int at = Current.Offset;
        var first = ParseMath2(construct);
        if (!Current.IsOperator("~")) return first;
        var parts = new List<Expr> { first };
        while (Current.IsOperator("~"))
        {
            _pos++;
            parts.Add(ParseMath2(construct));
        }
        return new ConcatExpr(at, parts.ToArray());
    }

    private Expr ParseMath2(string construct)
    {
        var left = ParsePow(construct);
        while (Current.Kind == TokenKind.Operator && Current.Value is "*" or "/" or "//" or "%")
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, op.Value, left, ParsePow(construct));
        }
        return left;
    }

    private Expr ParsePow(string construct)
    {
        var left = ParseUnary(construct, withFilter: true);
        while (Current.IsOperator("**"))
        {
            var op = Next();
            left = new BinaryExpr(op.Offset, "**", left, ParseUnary(construct, withFilter: true));
        }
        return left;
    }

    private Expr ParseUnary(string construct, bool withFilter)
    {
        var t = Current;
        Expr node;
        if (t.IsOperator("-") || t.IsOperator("+"))
        {
            _pos++;
            Enter(t.Offset, construct);
            var operand = ParseUnary(construct, withFilter: false);
            Leave();
            node = new UnaryExpr(t.Offset, t.Value == "-" ? UnaryOp.Negate : UnaryOp.Plus, operand);
        }
        else
        {
            node = ParsePrimary(construct);
        }
        node = ParsePostfix(node, construct);
        if (withFilter) node = ParseFilterAndTests(node, construct);
        return node;
    }

    private Expr ParsePrimary(string construct)
    {
        var t = Current;
        switch (t.Kind)
        {
            case TokenKind.Name:
                _pos++;
                return t.Value switch
                {
                    "true" or "True" => new LiteralExpr(t.Offset, true),
                    "false" or "False" => new LiteralExpr(t.Offset, false),
                    "none" or "None" => new LiteralExpr(t.Offset, null),
                    _ => new NameExpr(t.Offset, t.Value),
                };
            case TokenKind.String:
            {
                _pos++;
                string s = t.Value;
                // Adjacent literals concatenate, as in Python: "a" "b" == "ab".
                while (Current.Kind == TokenKind.String) s += Next().Value;
                return new LiteralExpr(t.Offset, s);
            }
            case TokenKind.Integer:
            case TokenKind.Float:
                _pos++;
                return new LiteralExpr(t.Offset, t.Literal);
            case TokenKind.Operator when t.Value == "(":
            {
                _pos++;
                if (Current.IsOperator(")"))
                {
                    _pos++;
                    return new ListExpr(t.Offset, [], tuple: true);
                }
                var inner = ParseExpression(construct);
                if (Current.IsOperator(","))
                {
                    var items = new List<Expr> { inner };
                    while (Current.IsOperator(","))
                    {
                        _pos++;
                        if (Current.IsOperator(")")) break;
                        items.Add(ParseExpression(construct));
                    }
                    inner = new ListExpr(t.Offset, items.ToArray(), tuple: true);
                }
                ExpectOperator(")", construct);
                return inner;
            }
            case TokenKind.Operator when t.Value == "[":
            {
                _pos++;
                var items = new List<Expr>();
                while (!Current.IsOperator("]"))
                {
                    if (items.Count > 0) ExpectOperator(",", construct);
                    if (Current.IsOperator("]")) break;
                    items.Add(ParseExpression(construct));
                }
                _pos++;
                return new ListExpr(t.Offset, items.ToArray(), tuple: false);
            }
            case TokenKind.Operator when t.Value == "{":
            {
                _pos++;
                var keys = new List<Expr>();
                var values = new List<Expr>();
                while (!Current.IsOperator("}"))
                {
                    if (keys.Count > 0) ExpectOperator(",", construct);
                    if (Current.IsOperator("}")) break;
                    keys.Add(ParseExpression(construct));
                    ExpectOperator(":", construct);
                    values.Add(ParseExpression(construct));
                }
                _pos++;
                return new DictExpr(t.Offset, keys.ToArray(), values.ToArray());
            }
            default:
                throw Error(t.Offset, construct, $"expected an expression, found {t.Describe()}");
        }
    }

    private Expr ParsePostfix(Expr node, string construct)
    {
        while (true)
        {
            var t = Current;
            if (t.IsOperator("."))
            {
                _pos++;
                var name = Current;
                if (name.Kind == TokenKind.Name) { _pos++; node = new AttributeExpr(t.Offset, node, name.Value); }
                else if (name.Kind == TokenKind.Integer) { _pos++; node = new ItemExpr(t.Offset, node, new LiteralExpr(name.Offset, name.Literal)); }
                else throw Error(name.Offset, construct, $"expected an attribute name after '.', found {name.Describe()}");
            }
            else if (t.IsOperator("["))
            {
                _pos++;
                node = ParseSubscript(node, t.Offset, construct);
            }
            else if (t.IsOperator("("))
            {
                node = new CallExpr(t.Offset, node, ParseArguments(construct));
            }
            else return node;
        }
    }

    private Expr ParseSubscript(Expr target, int at, string construct)
    {
        Expr? start = null, stop = null, step = null;
        bool isSlice = false;
        if (!Current.IsOperator(":")) start = ParseExpression(construct);
        if (Current.IsOperator(":"))
        {
            isSlice = true;
            _pos++;
            if (!Current.IsOperator("]") && !Current.IsOperator(":")) stop = ParseExpression(construct);
            if (Current.IsOperator(":"))
            {
                _pos++;
                if (!Current.IsOperator("]")) step = ParseExpression(construct);
            }
        }
        ExpectOperator("]", construct);
        return isSlice ? new SliceExpr(at, target, start, stop, step) : new ItemExpr(at, target, start!);
    }

    private ArgList ParseArguments(string construct)
    {
        ExpectOperator("(", construct);
        var positional = new List<Expr>();
        var named = new List<KeyValuePair<string, Expr>>();
        while (!Current.IsOperator(")"))
        {
            if (positional.Count + named.Count > 0) ExpectOperator(",", construct);
            if (Current.IsOperator(")")) break;
            if (Current.IsOperator("*") || Current.IsOperator("**"))
                throw Error(Current.Offset, construct, "*args and **kwargs in calls are not supported");
            if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
            {
                string key = Next().Value;
                _pos++;
                named.Add(new(key, ParseExpression(construct)));
            }
            else
            {
                if (named.Count > 0) throw Error(Current.Offset, construct, "positional argument follows keyword argument");
                positional.Add(ParseExpression(construct));
            }
        }
        _pos++;
        return new ArgList(positional.ToArray(), named.ToArray());
    }

    private Expr ParseFilterAndTests(Expr node, string construct)
    {
        while (true)
        {
            if (Current.IsOperator("|"))
            {
                _pos++;
                node = ParseFilter(node);
            }
            else if (Current.IsName("is"))
            {
                node = ParseTest(node);
            }
            else if (Current.IsOperator("("))
            {
                node = new CallExpr(Current.Offset, node, ParseArguments(construct));
            }
            else return node;
        }
    }

    private FilterExpr ParseFilter(Expr? target)
    {
        var nameToken = Expect(TokenKind.Name, "filter", "a filter name after '|'");
        string name = nameToken.Value;
        if (!TemplateFilters.TryGet(name, out var filter))
            throw Error(nameToken.Offset, $"filter '{name}'", $"no filter named '{name}'");
        var args = Current.IsOperator("(") ? ParseArguments($"filter '{name}'") : ArgList.None;
        return new FilterExpr(nameToken.Offset, target, name, filter, args);
    }

    private Expr ParseTest(Expr target)
    {
        int at = Next().Offset; // 'is'
        bool negated = false;
        if (Current.IsName("not"))
        {
            negated = true;
            _pos++;
        }
        var nameToken = Current;
        string name;
        if (nameToken.Kind == TokenKind.Name) name = nameToken.Value;
        else if (nameToken.Kind == TokenKind.Operator && nameToken.Value is "==" or "!=" or "<" or "<=" or ">" or ">=") name = nameToken.Value;
        else throw Error(nameToken.Offset, "test", $"expected a test name after 'is', found {nameToken.Describe()}");
        _pos++;
        if (!TemplateTests.TryGet(name, out var test))
            throw Error(nameToken.Offset, $"test '{name}'", $"no test named '{name}'");
        ArgList args = ArgList.None;
        if (Current.IsOperator("("))
        {
            args = ParseArguments($"test '{name}'");
        }
        else if (StartsTestArgument(Current))
        {
            // Jinja allows one argument without parentheses: "x is divisibleby 3", "x is sameas false".
            var arg = ParsePostfix(ParsePrimary($"test '{name}'"), $"test '{name}'");
            args = new ArgList([arg], []);
        }
        return new TestExpr(at, target, name, test, args, negated);
    }

    private static bool StartsTestArgument(Token t) => t.Kind switch
    {
        TokenKind.Name => t.Value is not ("else" or "or" or "and" or "if" or "in" or "not" or "is"),
        TokenKind.String or TokenKind.Integer or TokenKind.Float => true,
        TokenKind.Operator => t.Value is "[" or "{",
        _ => false,
    };
}
