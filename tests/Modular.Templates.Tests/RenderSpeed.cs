using System.Diagnostics;
using System.Text.Json.Nodes;
using Modular.Templates;
using Modular.Testing;

namespace Modular.Templates.Tests;

/// <summary>Parse once, render many: the server renders every chat request, so a render must cost microseconds.</summary>
public sealed class RenderSpeed
{
    [Fact]
    public void Qwen3ConversationRendersFast()
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Shared("tokenizers", "qwen3", "tokenizer_config.json")))!;
        string source = (string)config["chat_template"]!;
        var cases = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "tests", "Modular.Templates.Tests", "fixtures", "qwen3_extra.json")))!["cases"]!.AsArray();
        var conversation = cases.First(c => (string)c!["name"]! == "tool_call_round_trip")!;
        var messages = conversation["messages"]!.AsArray();
        var tools = conversation["tools"]!.AsArray();

        var parseWatch = Stopwatch.StartNew();
        const int parses = 200;
        ChatTemplate template = null!;
        for (int i = 0; i < parses; i++) template = ChatTemplate.Parse(source);
        parseWatch.Stop();

        string expected = (string)conversation["rendered"]!;
        for (int i = 0; i < 200; i++) Assert.Equal(expected, template.Apply(messages, true, null, "<|im_end|>", tools)); // warm-up
        const int renders = 2000;
        var renderWatch = Stopwatch.StartNew();
        for (int i = 0; i < renders; i++) template.Apply(messages, true, null, "<|im_end|>", tools);
        renderWatch.Stop();

        double parseUs = parseWatch.Elapsed.TotalMicroseconds / parses;
        double renderUs = renderWatch.Elapsed.TotalMicroseconds / renders;
        TestContext.Current.TestOutputHelper?.WriteLine($"qwen3 template: parse {parseUs:F1} µs, render (6 messages, 1 tool) {renderUs:F1} µs");
        // Generous bound (debug build, shared 2-core machine); typical numbers are far below it.
        Assert.True(renderUs < 2000, $"render took {renderUs:F0} µs");
    }
}
