using System.Text.Json.Nodes;
using Modular.Templates;
using Modular.Testing;

namespace Modular.Templates.Tests;

/// <summary>Real chat templates against renderings by transformers' apply_chat_template.</summary>
public sealed class GoldenRenderings
{
    private static JsonNode ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    [Fact]
    public void Bard2mMatchesGolden()
    {
        string dir = Fixtures.BundledModel;
        var template = ChatTemplate.Parse(File.ReadAllText(Path.Combine(dir, "chat_template.jinja")));
        var config = ReadJson(Path.Combine(dir, "tokenizer_config.json"));
        var chats = ReadJson(Path.Combine(dir, "golden.json"))["chat"]!.AsArray();
        Assert.NotEmpty(chats);
        foreach (var chat in chats)
        {
            string rendered = template.Apply(chat!["messages"]!.DeepClone().AsArray(), (bool)chat["add_generation_prompt"]!,
                (string?)config["bos_token"], (string?)config["eos_token"]);
            Assert.Equal((string)chat["rendered"]!, rendered);
        }
    }

    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    public void SharedTokenizerMatchesGolden(string name)
    {
        var config = ReadJson(Fixtures.Shared("tokenizers", name, "tokenizer_config.json"));
        var goldens = ReadJson(Fixtures.Shared("tokenizers", "goldens.json"));
        var template = ChatTemplate.Parse((string)config["chat_template"]!);
        var chats = goldens["tokenizers"]![name]!["chat"]!.AsArray();
        Assert.NotEmpty(chats);
        foreach (var chat in chats)
        {
            // The goldens were made with add_generation_prompt=True (see the fixtures README).
            bool addPrompt = chat!["add_generation_prompt"] is JsonNode flag ? (bool)flag : true;
            var tools = chat["tools"]?.DeepClone().AsArray();
            var kwargs = chat["kwargs"]?.DeepClone().AsObject();
            if (chat["enable_thinking"] is JsonNode thinking)
            {
                kwargs ??= new JsonObject();
                kwargs["enable_thinking"] = thinking.DeepClone();
            }
            string rendered = template.Apply(chat["messages"]!.DeepClone().AsArray(), addPrompt,
                (string?)config["bos_token"], (string?)config["eos_token"], tools, kwargs);
            Assert.Equal((string)chat["rendered"]!, rendered);
        }
    }

    /// <summary>Qwen3 with tools, tool calls, tool results, reasoning and enable_thinking (fixtures/qwen3_extra.json).</summary>
    [Fact]
    public void Qwen3ToolsAndThinkingMatchJinja()
    {
        var config = ReadJson(Fixtures.Shared("tokenizers", "qwen3", "tokenizer_config.json"));
        var template = ChatTemplate.Parse((string)config["chat_template"]!);
        var path = Path.Combine(Fixtures.RepoRoot, "tests", "Modular.Templates.Tests", "fixtures", "qwen3_extra.json");
        var cases = ReadJson(path)["cases"]!.AsArray();
        Assert.True(cases.Count >= 8);
        foreach (var c in cases)
        {
            string rendered = template.Apply(c!["messages"]!.DeepClone().AsArray(), (bool)c["add_generation_prompt"]!,
                (string?)config["bos_token"], (string?)config["eos_token"], c["tools"]?.DeepClone().AsArray(),
                c["kwargs"]?.DeepClone().AsObject());
            Assert.True((string)c["rendered"]! == rendered, $"case {(string)c["name"]!}:\nexpected:\n{(string)c["rendered"]!}\nactual:\n{rendered}");
        }
    }
}
