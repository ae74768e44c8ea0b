using System.Runtime.CompilerServices;
using Modular.Templates.Lexing;
using Modular.Templates.Syntax;

namespace Modular.Templates.Parsing;

/// <summary>
/// Recursive-descent parser from tokens to the statement tree. Nesting (blocks and expressions together) is capped
/// at <see cref="MaxNesting"/> so hostile input fails with a clear error instead of overflowing the stack.
/// </summary>
internal sealed partial class Parser
{
    public const int MaxNesting = 200;

    private readonly List<Token> _tokens;
    private readonly SourceMap _map;
    private int _pos;
    private int _depth;
    private int _loopDepth;

    private Parser(List<Token> tokens, SourceMap map)
    {
        _tokens = tokens;
        _map = map;
    }

    public static Stmt[] Parse(List<Token> tokens, SourceMap map)
    {
        var parser = new Parser(tokens, map);
        var body = parser.ParseBody(null, 0, out _);
        return body;
    }

    private Token Current => _tokens[_pos];
    private Token Peek(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];
    private Token Next() => _tokens[_pos++];

    private TemplateSyntaxException Error(int offset, string construct, string reason)
    {
        var (line, col) = _map.Locate(offset);
        return new TemplateSyntaxException(reason, line, col, construct);
    }

    private void Enter(int offset, string construct)
    {
        if (++_depth > MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
            throw Error(offset, construct, $"the template nests more than {MaxNesting} levels deep");
    }

    private void Leave() => _depth--;

    private Token Expect(TokenKind kind, string construct, string what)
    {
        var t = Current;
        if (t.Kind != kind) throw Error(t.Offset, construct, $"expected {what}, found {t.Describe()}");
        return Next();
    }

    private void ExpectOperator(string op, string construct)
    {
        if (!Current.IsOperator(op)) throw Error(Current.Offset, construct, $"expected '{op}', found {Current.Describe()}");
        _pos++;
    }

    private string ExpectName(string construct, string what)
        => Expect(TokenKind.Name, construct, what).Value;

    private void ExpectBlockEnd(string construct)
    {
        if (Current.Kind != TokenKind.BlockEnd)
            throw Error(Current.Offset, construct, $"expected '%}}' to end the '{construct}' tag, found {Current.Describe()}");
        _pos++;
    }

    /// <summary>
    /// Parses statements until a block tag whose name is in <paramref name="stops"/>; leaves the position after that
    /// name. <paramref name="opener"/> names the open block for the "unclosed" error.
    /// </summary>
    private Stmt[] ParseBody(string[]? stops, int openerOffset, out string stop, string? opener = null)
    {
        Enter(openerOffset, opener ?? "template");
        var body = new List<Stmt>();
        while (true)
        {
            var t = Current;
            switch (t.Kind)
            {
                case TokenKind.Text:
                    body.Add(new TextStmt(t.Offset, t.Value));
                    _pos++;
                    break;
                case TokenKind.VariableBegin:
                {
                    _pos++;
                    if (Current.Kind == TokenKind.VariableEnd) throw Error(Current.Offset, "output '{{ }}'", "empty expression in '{{ }}'");
                    var expr = ParseTuple("output '{{ }}'");
                    if (Current.Kind != TokenKind.VariableEnd)
                        throw Error(Current.Offset, "output '{{ }}'", $"expected '}}}}' after the expression, found {Current.Describe()}");
                    _pos++;
                    body.Add(new OutputStmt(t.Offset, expr));
                    break;
                }
                case TokenKind.BlockBegin:
                {
                    var name = Peek();
                    if (name.Kind != TokenKind.Name) throw Error(name.Offset, "block tag", $"expected a tag name after '{{%', found {name.Describe()}");
                    if (stops is not null && Array.IndexOf(stops, name.Value) >= 0)
                    {
                        _pos += 2;
                        stop = name.Value;
                        Leave();
                        return body.ToArray();
                    }
                    if (stops is not null && (name.Value.StartsWith("end", StringComparison.Ordinal) || name.Value is "elif" or "else"))
                    {
                        var (line, _) = _map.Locate(t.Offset);
                        throw Error(openerOffset, opener!, $"unclosed '{opener}' block: found '{{% {name.Value} %}}' on line {line} where {string.Join(" or ", stops.Select(s => $"'{{% {s} %}}'"))} was expected");
                    }
                    _pos += 2;
                    body.Add(ParseStatement(name, t.Offset));
                    break;
                }
                case TokenKind.End:
                    if (stops is not null)
                        throw Error(openerOffset, opener!, $"unclosed '{opener}' block: expected {string.Join(" or ", stops.Select(s => $"'{{% {s} %}}'"))} before the end of the template");
                    stop = "";
                    Leave();
                    return body.ToArray();
                default:
                    throw Error(t.Offset, "template", $"unexpected {t.Describe()}");
            }
        }
    }

    private Stmt ParseStatement(Token name, int at)
    {
        switch (name.Value)
        {
            case "if": return ParseIf(at);
            case "for": return ParseFor(at);
            case "set": return ParseSet(at);
            case "macro": return ParseMacro(at);
            case "call": return ParseCallBlock(at);
            case "filter": return ParseFilterBlock(at);
            case "generation":
            {
                ExpectBlockEnd("generation");
                var body = ParseBody(["endgeneration"], at, out _, "generation");
                ExpectBlockEnd("endgeneration");
                return new GroupStmt(at, body, "generation");
            }
            case "break":
            case "continue":
                if (_loopDepth == 0) throw Error(at, name.Value, $"'{name.Value}' outside of a for loop");
                ExpectBlockEnd(name.Value);
                return new LoopControlStmt(at, name.Value == "break" ? Flow.Break : Flow.Continue);
            case "elif" or "else" or "endif" or "endfor" or "endset" or "endmacro" or "endcall" or "endfilter" or "endgeneration" or "endraw":
                throw Error(at, name.Value, $"unexpected '{{% {name.Value} %}}' with no open block that it closes");
            case "include" or "extends" or "import" or "from" or "block":
                throw Error(at, name.Value, $"'{name.Value}' is not supported in chat templates (there are no other templates to load)");
            default:
                throw Error(at, name.Value, $"unknown tag '{name.Value}'");
        }
    }

    private Stmt ParseIf(int at)
    {
        var conditions = new List<Expr>();
        var branches = new List<Stmt[]>();
        Stmt[]? otherwise = null;
        conditions.Add(ParseExpression("if"));
        ExpectBlockEnd("if");
        while (true)
        {
            var body = ParseBody(["elif", "else", "endif"], at, out string stop, "if");
            if (stop == "elif")
            {
                branches.Add(body);
                conditions.Add(ParseExpression("elif"));
                ExpectBlockEnd("elif");
                continue;
            }
            if (stop == "else")
            {
                branches.Add(body);
                ExpectBlockEnd("else");
                otherwise = ParseBody(["endif"], at, out _, "if");
                ExpectBlockEnd("endif");
                break;
            }
            branches.Add(body);
            ExpectBlockEnd("endif");
            break;
        }
        return new IfStmt(at, conditions.ToArray(), branches.ToArray(), otherwise);
    }

    private Stmt ParseFor(int at)
    {
        var target = ParseTarget("for", allowAttribute: false);
        if (!Current.IsName("in")) throw Error(Current.Offset, "for", $"expected 'in' after the loop variable, found {Current.Describe()}");
        _pos++;
        var iterable = ParseTuple("for", allowConditional: false);
        Expr? filter = null;
        if (Current.IsName("if"))
        {
            _pos++;
            filter = ParseExpression("for");
        }
        if (Current.IsName("recursive")) throw Error(Current.Offset, "for", "recursive loops are not supported");
        ExpectBlockEnd("for");
        _loopDepth++;
        var body = ParseBody(["else", "endfor"], at, out string stop, "for");
        _loopDepth--;
        Stmt[]? otherwise = null;
        if (stop == "else")
        {
            ExpectBlockEnd("else");
            otherwise = ParseBody(["endfor"], at, out _, "for");
        }
        ExpectBlockEnd("endfor");
        return new ForStmt(at, target, iterable, filter, body, otherwise);
    }

    private Stmt ParseSet(int at)
    {
        var target = ParseTarget("set", allowAttribute: true);
        if (Current.IsOperator("="))
        {
            _pos++;
            var value = ParseTuple("set");
            ExpectBlockEnd("set");
            return new SetStmt(at, target, value);
        }
        if (target.Elements is not null || target.Attribute is not null)
            throw Error(at, "set", "a block set '{% set name %}...{% endset %}' assigns to a single plain name");
        var filters = ParseFilterChain("set");
        ExpectBlockEnd("set");
        int savedLoops = _loopDepth;
        var body = ParseBody(["endset"], at, out _, "set");
        _loopDepth = savedLoops;
        ExpectBlockEnd("endset");
        return new SetBlockStmt(at, target, body, filters);
    }

    private Stmt ParseFilterBlock(int at)
    {
        var filters = ParseFilterChain("filter", requireFirst: true);
        ExpectBlockEnd("filter");
        var body = ParseBody(["endfilter"], at, out _, "filter");
        ExpectBlockEnd("endfilter");
        return new FilterBlockStmt(at, body, filters);
    }

    /// <summary>Filters written on a block tag: <c>{% filter upper | trim %}</c>, <c>{% set x | trim %}</c>.</summary>
    private FilterExpr[] ParseFilterChain(string construct, bool requireFirst = false)
    {
        var list = new List<FilterExpr>();
        bool first = true;
        while ((first && requireFirst) || Current.IsOperator("|"))
        {
            if (Current.IsOperator("|")) _pos++;
            first = false;
            list.Add(ParseFilter(null));
        }
        return list.ToArray();
    }

    private Stmt ParseMacro(int at)
    {
        string name = ExpectName("macro", "the macro name");
        var def = ParseMacroSignature(name, "macro", requireParens: true, at, "endmacro");
        return new MacroStmt(at, def);
    }

    private Stmt ParseCallBlock(int at)
    {
        int sigAt = Current.Offset;
        string[] parameters = [];
        Expr?[] defaults = [];
        if (Current.IsOperator("("))
        {
            (parameters, defaults) = ParseParameters("call");
        }
        var expr = ParseExpression("call");
        if (expr is not CallExpr call) throw Error(sigAt, "call", "'{% call %}' needs a call expression such as 'name(args)'");
        ExpectBlockEnd("call");
        var body = ParseDetachedBody(["endcall"], at, "call");
        ExpectBlockEnd("endcall");
        return new CallBlockStmt(at, call, new MacroDefinition("caller", parameters, defaults, body));
    }

    private MacroDefinition ParseMacroSignature(string name, string construct, bool requireParens, int at, string end)
    {
        if (requireParens && !Current.IsOperator("("))
            throw Error(Current.Offset, construct, $"expected '(' after the macro name '{name}', found {Current.Describe()}");
        var (parameters, defaults) = ParseParameters(construct);
        ExpectBlockEnd(construct);
        var body = ParseDetachedBody([end], at, construct);
        ExpectBlockEnd(end);
        return new MacroDefinition(name, parameters, defaults, body);
    }

    /// <summary>A macro body: break/continue inside it cannot reach loops around the definition.</summary>
    private Stmt[] ParseDetachedBody(string[] stops, int at, string construct)
    {
        int savedLoops = _loopDepth;
        _loopDepth = 0;
        var body = ParseBody(stops, at, out _, construct);
        _loopDepth = savedLoops;
        return body;
    }

    private (string[], Expr?[]) ParseParameters(string construct)
    {
        ExpectOperator("(", construct);
        var names = new List<string>();
        var defaults = new List<Expr?>();
        while (!Current.IsOperator(")"))
        {
            if (names.Count > 0) ExpectOperator(",", construct);
            if (Current.IsOperator(")")) break;
            var nameToken = Expect(TokenKind.Name, construct, "a parameter name");
            if (names.Contains(nameToken.Value)) throw Error(nameToken.Offset, construct, $"duplicate parameter '{nameToken.Value}'");
            names.Add(nameToken.Value);
            if (Current.IsOperator("="))
            {
                _pos++;
                defaults.Add(ParseExpression(construct));
            }
            else
            {
                if (defaults.Count > 0 && defaults[^1] is not null)
                    throw Error(nameToken.Offset, construct, $"parameter '{nameToken.Value}' without a default follows one with a default");
                defaults.Add(null);
            }
        }
        _pos++;
        return (names.ToArray(), defaults.ToArray());
    }

    /// <summary>A for or set target: <c>a</c>, <c>a, b</c>, <c>(a, b)</c>, or (for set) <c>ns.attr</c>.</summary>
    private Target ParseTarget(string construct, bool allowAttribute)
    {
        var first = ParseSingleTarget(construct, allowAttribute);
        if (!Current.IsOperator(",")) return first;
        var elements = new List<Target> { first };
        while (Current.IsOperator(","))
        {
            _pos++;
            if (Current.IsName("in") || Current.IsOperator("=")) break;
            elements.Add(ParseSingleTarget(construct, allowAttribute: false));
        }
        return new Target("", null, elements.ToArray());
    }

    private Target ParseSingleTarget(string construct, bool allowAttribute)
    {
        if (Current.IsOperator("("))
        {
            _pos++;
            var inner = ParseTarget(construct, allowAttribute: false);
            ExpectOperator(")", construct);
            return inner.Elements is null ? new Target("", null, [inner]) : inner;
        }
        if (Current.Kind == TokenKind.Name && Current.Value is "in" or "if" or "else" or "and" or "or" or "not" or "is")
            throw Error(Current.Offset, construct, $"expected a variable name, found the keyword '{Current.Value}'");
        var name = Expect(TokenKind.Name, construct, "a variable name");
        if (name.Value is "true" or "false" or "none" or "True" or "False" or "None")
            throw Error(name.Offset, construct, $"cannot assign to '{name.Value}'");
        if (Current.IsOperator("."))
        {
            if (!allowAttribute) throw Error(Current.Offset, construct, "attribute targets are only allowed in '{% set ns.attr = ... %}'");
            _pos++;
            string attribute = ExpectName(construct, "an attribute name after '.'");
            return new Target(name.Value, attribute, null);
        }
        return new Target(name.Value, null, null);
    }
}
