using System.Text;
using System.Text.Json.Nodes;
using Modular.Templates;

namespace Modular.Templates.Tests;

/// <summary>Bad templates fail with a located, named error; hostile ones hit limits instead of crashing or hanging.</summary>
public sealed class ErrorTests
{
    private static TemplateSyntaxException SyntaxError(string source)
        => Assert.Throws<TemplateSyntaxException>(() => ChatTemplate.Parse(source));

    private static TemplateRenderException RenderError(string source, JsonObject? context = null)
        => Assert.ThrowsAny<TemplateRenderException>(() => ChatTemplate.Parse(source).Render(context ?? new JsonObject()));

    [Fact]
    public void UnclosedForNamesTheBlockAndItsLine()
    {
        var e = SyntaxError("hello\n  {% for m in messages %}\n{{ m }}");
        Assert.Equal(2, e.Line);
        Assert.Equal(3, e.Column);
        Assert.Equal("for", e.Construct);
        Assert.Contains("endfor", e.Message);
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void UnclosedIfInsideForReportsTheIf()
    {
        var e = SyntaxError("{% for m in x %}\n{% if m %}\n{% endfor %}");
        Assert.Equal("if", e.Construct);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void UnknownFilterFailsAtParseTime()
    {
        var e = SyntaxError("a\nb {{ name | frobnicate(1) }}");
        Assert.Equal(2, e.Line);
        Assert.Equal("filter 'frobnicate'", e.Construct);
        Assert.Contains("no filter named 'frobnicate'", e.Message);
    }

    [Fact]
    public void UnknownTestFailsAtParseTime()
    {
        var e = SyntaxError("{% if x is shiny %}{% endif %}");
        Assert.Contains("no test named 'shiny'", e.Message);
    }

    [Theory]
    [InlineData("{{ 1 + }}", "expected an expression")]
    [InlineData("{{ a b }}", "expected '}}'")]
    [InlineData("{{ }}", "empty expression")]
    [InlineData("{{ x", "unclosed tag")]
    [InlineData("{% if x %}", "unclosed 'if' block")]
    [InlineData("{{ 'abc }}", "unterminated string")]
    [InlineData("{{ f(1 }}", "unexpected '}'")]
    [InlineData("{% endif %}", "no open block")]
    [InlineData("{% frob %}", "unknown tag 'frob'")]
    [InlineData("{% break %}", "outside of a for loop")]
    [InlineData("{% include 'x' %}", "not supported")]
    [InlineData("{# never closed", "unclosed comment")]
    [InlineData("{% for in x %}{% endfor %}", "expected a variable name")]
    [InlineData("{% set x %}", "unclosed 'set' block")]
    [InlineData("{{ x $ y }}", "unexpected character '$'")]
    public void BadSyntaxIsReportedNotCrashed(string source, string fragment)
    {
        var e = SyntaxError(source);
        Assert.Contains(fragment, e.Message);
        Assert.True(e.Line >= 1 && e.Column >= 1);
    }

    [Fact]
    public void DeepExpressionNestingIsRefused()
    {
        string source = "{{ " + new string('(', 20_000) + "1" + new string(')', 20_000) + " }}";
        var e = SyntaxError(source);
        Assert.Contains("nests more than", e.Message);
    }

    [Fact]
    public void DeepBlockNestingIsRefused()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 5000; i++) sb.Append("{% if true %}");
        for (int i = 0; i < 5000; i++) sb.Append("{% endif %}");
        Assert.Contains("nests more than", SyntaxError(sb.ToString()).Message);
    }

    [Fact]
    public void ModerateNestingStillWorks()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 60; i++) sb.Append("{% if true %}");
        sb.Append("{{ " + new string('(', 60) + "1" + new string(')', 60) + " }}");
        for (int i = 0; i < 60; i++) sb.Append("{% endif %}");
        Assert.Equal("1", ChatTemplate.Parse(sb.ToString()).Render(new JsonObject()));
    }

    [Fact]
    public void RenderErrorCarriesLineAndConstruct()
    {
        var e = RenderError("line one\nline two\n  {{ 'a' + 1 }}");
        Assert.Equal(3, e.Line);
        Assert.Equal("operator '+'", e.Construct);
        Assert.Contains("can only concatenate str", e.Reason);
    }

    [Fact]
    public void UndefinedAttributeNamesTheVariable()
    {
        var e = RenderError("{{ message.content }}");
        Assert.Contains("'message' is undefined", e.Message);
        Assert.Equal("attribute '.content'", e.Construct);
    }

    [Fact]
    public void RaiseExceptionKeepsTheTemplatesMessage()
    {
        var e = Assert.Throws<TemplateRaiseException>(() => ChatTemplate.Parse(
            "{% for m in messages %}\n{% if m.role == 'tool' %}{{ raise_exception('Tools are not supported: ' ~ m.role) }}{% endif %}{% endfor %}")
            .Apply(new JsonArray(new JsonObject { ["role"] = "tool", ["content"] = "x" }), true, null, null));
        Assert.Equal("Tools are not supported: tool", e.Reason);
        Assert.Equal(2, e.Line);
    }

    [Fact]
    public void HugeRangeIsBounded()
    {
        var e = RenderError("{% for i in range(1000000000) %}x{% endfor %}");
        Assert.Contains("limit is 100000", e.Message);
    }

    [Fact]
    public void TotalLoopIterationsAreBounded()
    {
        var e = RenderError("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(10) %}{% endfor %}{% endfor %}{% endfor %}");
        Assert.Contains("loop iterations", e.Message);
        Assert.Equal("for", e.Construct);
    }

    [Fact]
    public void RunawayMacroRecursionIsBounded()
    {
        var e = RenderError("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
        Assert.Contains("nested more than", e.Message);
    }

    [Fact]
    public void HugeStringRepetitionIsBounded()
    {
        Assert.Contains("longer than", RenderError("{{ 'abc' * 1000000000 }}").Message);
    }

    [Fact]
    public void MutatingMethodsAreRefusedLikeTheSandbox()
    {
        var e = RenderError("{% set xs = [1] %}{{ xs.append(2) }}");
        Assert.Contains("sandbox", e.Message);
    }

    [Fact]
    public void AssigningAttributeOnNonNamespaceFails()
    {
        var e = RenderError("{% set d = {} %}{% set d.x = 1 %}");
        Assert.Contains("namespace", e.Message);
        Assert.Equal("set", e.Construct);
    }
}
