using System.Text.Json.Nodes;
using Modular.Templates;

namespace Modular.Templates.Tests;

/// <summary>Direct checks of constructs, the HF-specific globals, and the rendering API.</summary>
public sealed class ConstructTests
{
    private static string Render(string source, JsonObject? context = null)
        => ChatTemplate.Parse(source).Render(context ?? new JsonObject());

    [Fact]
    public void TrimAndLstripBlocksAreOnAsInTransformers()
    {
        // The newline after a block tag goes; indentation before a block tag on its own line goes.
        Assert.Equal("A\nB\n", Render("{% if true %}\nA\n{% endif %}\n    {% if true %}\nB\n    {% endif %}\n"));
        Assert.Equal("  x", Render("  {{ 'x' }}"));
    }

    [Fact]
    public void DashStripsAllWhitespaceIncludingNewlines()
    {
        Assert.Equal("ab", Render("a \n\t {{- '' -}} \n b"));
        Assert.Equal("[x]", Render("[\n  {%- if true -%}\n  x\n  {%- endif -%}\n]"));
    }

    [Fact]
    public void LoopVariablesAndElse()
    {
        var ctx = new JsonObject { ["xs"] = new JsonArray("a", "b", "c") };
        Assert.Equal("1a0F3;2b1F2;3c2T1;", Render(
            "{% for x in xs %}{{ loop.index }}{{ x }}{{ loop.index0 }}{{ 'T' if loop.last else 'F' }}{{ loop.revindex }};{% endfor %}", ctx));
        Assert.Equal("3", Render("{% for x in xs %}{% if loop.first %}{{ loop.length }}{% endif %}{% endfor %}", ctx));
        Assert.Equal("none", Render("{% for x in [] %}{{ x }}{% else %}none{% endfor %}"));
    }

    [Fact]
    public void NamespaceCarriesStateOutOfLoops()
    {
        Assert.Equal("3 0", Render(
            "{% set ns = namespace(n=0) %}{% set plain = 0 %}{% for i in range(3) %}{% set ns.n = ns.n + 1 %}{% set plain = plain + 1 %}{% endfor %}{{ ns.n }} {{ plain }}"));
    }

    [Fact]
    public void MacroWithDefaultsAndKeywords()
    {
        Assert.Equal("<a=1><b=2>", Render("{% macro kv(k, v=1) %}<{{ k }}={{ v }}>{% endmacro %}{{ kv('a') }}{{ kv(v=2, k='b') }}"));
    }

    [Fact]
    public void TojsonIsHfFlavoured()
    {
        var ctx = new JsonObject { ["t"] = JsonNode.Parse("""{"name":"café","args":{"z":1,"a":[1.5,true,null]},"html":"<b>&'"}""") };
        Assert.Equal("""{"name": "café", "args": {"z": 1, "a": [1.5, true, null]}, "html": "<b>&'"}""", Render("{{ t|tojson }}", ctx));
        Assert.Equal("{\n  \"z\": 1,\n  \"a\": [\n    1.5,\n    true,\n    null\n  ]\n}", Render("{{ t.args|tojson(indent=2) }}", ctx));
    }

    [Fact]
    public void StrftimeNowUsesTheClock()
    {
        var template = ChatTemplate.Parse("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %A %B') }}")
            .WithClock(() => new DateTime(2024, 7, 6, 9, 5, 3));
        Assert.Equal("06 Jul 2024|2024-07-06 09:05:03 Saturday July", template.Render(new JsonObject()));
    }

    [Fact]
    public void StrftimeNowDefaultsToToday()
    {
        string today = DateTime.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        string rendered = Render("{{ strftime_now('%Y-%m-%d') }}");
        Assert.True(rendered == today || rendered == DateTime.Now.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void ApplyBindsToolsNoneAndMergesKwargs()
    {
        var template = ChatTemplate.Parse(
            "{{ tools is defined }}/{{ tools is none }}/{{ bos_token }}/{{ eos_token is defined }}/{{ add_generation_prompt }}/{{ enable_thinking }}/{{ messages|length }}");
        var messages = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "hi" });
        Assert.Equal("True/True/<s>/False/True/False/1",
            template.Apply(messages, true, "<s>", null, extraKwargs: new JsonObject { ["enable_thinking"] = false }));
        Assert.Equal("True/False//True/False//1",
            template.Apply(messages, false, null, "</s>", tools: new JsonArray(new JsonObject { ["type"] = "function" })));
    }

    [Fact]
    public void JsonNumbersKeepIntOrFloat()
    {
        var ctx = (JsonObject)JsonNode.Parse("""{"i": 3, "f": 3.0, "e": 1e2, "big": 12345678901234}""")!;
        Assert.Equal("3 3.0 100.0 12345678901234 1.5", Render("{{ i }} {{ f }} {{ e }} {{ big }} {{ i / 2 }}", ctx));
    }

    [Fact]
    public void GenerationBlockRendersItsBody()
    {
        Assert.Equal("<a>x</a>", Render("<a>{% generation %}x{% endgeneration %}</a>"));
    }

    [Fact]
    public void ParsedTemplateRendersConcurrently()
    {
        var template = ChatTemplate.Parse("{% for m in messages %}{% set ns = namespace(x=m) %}{{ ns.x }},{% endfor %}");
        var outputs = new string[64];
        Parallel.For(0, outputs.Length, i =>
        {
            var ctx = new JsonObject { ["messages"] = new JsonArray(i, i + 1) };
            outputs[i] = template.Render(ctx);
        });
        for (int i = 0; i < outputs.Length; i++) Assert.Equal($"{i},{i + 1},", outputs[i]);
    }
}
