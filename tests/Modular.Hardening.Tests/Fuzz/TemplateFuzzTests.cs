using System.Diagnostics;
using System.Text.Json.Nodes;
using CsCheck;
using Modular.Templates;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>
/// The Jinja interpreter on random templates assembled from real syntax fragments and junk: parsing fails only
/// with <see cref="TemplateSyntaxException"/>, rendering only with <see cref="TemplateRenderException"/>, and
/// neither takes more than a few seconds (loops, recursion and string growth are bounded).
/// </summary>
public sealed class TemplateFuzzTests
{
    private static readonly string[] Fragments =
    [
        "{{ ", " }}", "{% ", " %}", "{#", "#}", "{%- ", " -%}", "{{- ", " -}}",
        "for m in messages", "endfor", "if ", "elif ", "else", "endif", "set x = ", "macro f(a)", "endmacro", "f(x)", "f(f(x))",
        "m['content']", "m.role", "messages[0]", "messages[-1]", "messages[1:]", "loop.index", "loop.last", "range(100000)",
        "range(10**9)", "x * 100000", "'ab' * 99999999", "[1] * 9999999", "x ~ x", "x + x", "bos_token", "eos_token", "none",
        "raise_exception('no')", "| tojson", "| length", "| upper", "| join(',')", "| replace('', 'xx')", "| indent(99999)",
        "| items", "| dictsort", "| selectattr('role')", "| map(attribute='content')", "is defined", "is string", "not ", " and ",
        " or ", " in ", "(", ")", "[", "]", "{", "}", ",", ":", ".", "'", "\"", "1e308", "-1", "0", "2**62", "x", "y", "z",
        "strftime_now('%Y')", "namespace(a=1)", "ns.a", "{'a': 1}", "x.split()", "x.strip('')", "x.format(1)", "%", "%}", "}}",
        "call f()", "endcall", "filter upper", "endfilter", "include 'x'", "break", "continue", "recursive", "loop(m)",
        "generation", "endgeneration", "\n", " ", "text ",
    ];

    private static readonly JsonArray Messages = new(
        new JsonObject { ["role"] = "system", ["content"] = "be brief" },
        new JsonObject { ["role"] = "user", ["content"] = "hello {{ not a tag }}" },
        new JsonObject { ["role"] = "assistant", ["content"] = "hi", ["tool_calls"] = new JsonArray() });

    /// <summary>Parses and renders one template, checking the exception types and the time bound.</summary>
    internal static void ParseAndRender(string source)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            var t = ChatTemplate.Parse(source);
            var text = t.Apply(Messages, addGenerationPrompt: true, "<s>", "</s>");
            Assert.True(text.Length <= 64 * 1024 * 1024 + 1024);
        }
        catch (TemplateSyntaxException) { }
        catch (TemplateRenderException) { }
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20), $"template took {sw.Elapsed.TotalSeconds:F1} s: {source}");
    }

    /// <summary>Random fragment sequences.</summary>
    [Fact]
    public void RandomTemplates_OnlyTemplateExceptions()
    {
        var gen = Gen.OneOf(Fragments).Array[1, 24].Select(parts => string.Concat(parts));
        FuzzBudget.Run(gen, ParseAndRender, FuzzBudget.Seconds * 2 / 3, batch: 16);
    }

    /// <summary>Well-formed wrappers around random expressions, so the evaluator (not only the parser) is exercised.</summary>
    [Fact]
    public void RandomExpressions_OnlyTemplateExceptions()
    {
        var expr = Gen.OneOf(Fragments).Array[1, 8].Select(parts => string.Concat(parts));
        var gen = Gen.Select(expr, Gen.Int[0, 3]).Select(t => t.Item2 switch
        {
            0 => "{{ " + t.Item1 + " }}",
            1 => "{% for m in messages %}{{ " + t.Item1 + " }}{% endfor %}",
            2 => "{% set x = " + t.Item1 + " %}{{ x }}",
            _ => "{% if " + t.Item1 + " %}yes{% else %}no{% endif %}",
        });
        FuzzBudget.Run(gen, ParseAndRender, FuzzBudget.Seconds * 2 / 3, batch: 16);
    }

    /// <summary>Known hostile templates: deep nesting, unbounded recursion, huge strings and ranges.</summary>
    [Theory]
    [InlineData(100_000, "{{ ", "(", " }}")]
    [InlineData(50_000, "", "{% if x %}", "")]
    [InlineData(50_000, "{{ ", "[", " }}")]
    [InlineData(50_000, "{{ ", "-", "1 }}")]
    [InlineData(50_000, "{{ ", "not ", "x }}")]
    [InlineData(50_000, "{{ ", "f(", " }}")]
    public void DeepNesting_IsSyntaxError(int repeat, string prefix, string piece, string suffix)
    {
        try
        {
            ChatTemplate.Parse(prefix + string.Concat(Enumerable.Repeat(piece, repeat)) + suffix);
            Assert.Fail("a template nested " + repeat + " deep parsed");
        }
        catch (TemplateSyntaxException e) { Assert.StartsWith("chat template line 1", e.Message); }
    }

    /// <summary>Render-time bombs are refused with a render error within a few seconds.</summary>
    [Theory]
    [InlineData("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}")]
    [InlineData("{{ 'x' * 999999999 }}")]
    [InlineData("{% for i in range(999999999) %}{% endfor %}")]
    [InlineData("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")]
    [InlineData("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}")]
    [InlineData("{{ raise_exception('refused') }}")]
    // Fuzz finds (2026-12-04): 10 million items took 7.6 s to print (33 s under load); 'abcd' * 2**62 and
    // [1, 2] * 2**62 overflowed the length check (n * length wraps) and grew until memory ran out; list + list
    // had no bound, so 40 doublings asked for 2**40 items.
    [InlineData("{{ [1] * 9999999 }}")]
    [InlineData("{{ 'abcd' * 2**62 }}")]
    [InlineData("{{ [1, 2] * 2**62 }}")]
    [InlineData("{{ (1, 2) * 2**62 }}")]
    [InlineData("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | length }}")]
    public void RenderBombs_AreRenderErrors(string source)
    {
        var sw = Stopwatch.StartNew();
        var t = ChatTemplate.Parse(source);
        Assert.ThrowsAny<TemplateRenderException>(() => t.Apply(Messages, true, "<s>", "</s>"));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed.TotalSeconds:F1} s");
    }
}
