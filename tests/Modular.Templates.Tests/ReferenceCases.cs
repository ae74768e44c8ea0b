using System.Text.Json.Nodes;
using Modular.Templates;
using Modular.Testing;

namespace Modular.Templates.Tests;

/// <summary>
/// Small templates covering each construct, checked byte for byte against the output of Python Jinja2 in an
/// environment configured like transformers (fixtures/jinja_cases.json, produced by tools/gen_jinja_cases.py).
/// Cases where Jinja fails must fail here too, with a template error rather than a crash.
/// </summary>
public sealed class ReferenceCases
{
    private static readonly Lazy<JsonArray> Cases = new(() =>
    {
        var path = Path.Combine(Fixtures.RepoRoot, "tests", "Modular.Templates.Tests", "fixtures", "jinja_cases.json");
        return JsonNode.Parse(File.ReadAllText(path))!["cases"]!.AsArray();
    });

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases.Value) data.Add((string)c!["name"]!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesJinja(string name)
    {
        var c = Cases.Value.First(x => (string)x!["name"]! == name)!;
        string source = (string)c["template"]!;
        var context = (JsonObject)c["context"]!.DeepClone();
        var template = ChatTemplate.Parse(source);
        if (c["rendered"] is JsonNode expected)
        {
            Assert.Equal((string)expected!, template.Render(context));
            return;
        }
        string error = (string)c["error"]!;
        var ex = Assert.ThrowsAny<TemplateRenderException>(() => template.Render(context));
        if (error == "TemplateError") Assert.IsType<TemplateRaiseException>(ex);
        Assert.True(ex.Line >= 1, $"error should carry a line: {ex.Message}");
        Assert.False(string.IsNullOrEmpty(ex.Construct));
    }
}
