using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Server.Http;
using Modular.Server.Protocol;
using Modular.Templates;
using Modular.Testing;

namespace Modular.Server.Tests;

/// <summary>
/// The tool-call pieces without a model: recognising calls in free text, streaming them in pieces that reassemble
/// to the whole, the forced-call schema, and tool-call history as HF chat templates read it.
/// </summary>
public sealed class ToolParsingTests
{
    private static ChatTools Tools(string choice = "\"auto\"", bool parallel = true)
    {
        using var doc = JsonDocument.Parse($$$"""
            {"tools":[
              {"type":"function","function":{"name":"get_weather","parameters":{{{ToolCallingTests.WeatherSchema}}}}},
              {"type":"function","function":{"name":"book_room","parameters":{{{ToolCallingTests.BookingSchema}}}}}],
             "tool_choice":{{{choice}}}, "parallel_tool_calls":{{{(parallel ? "true" : "false")}}}}
            """);
        return ChatTools.Bind(new JsonFields(doc.RootElement))!;
    }

    public static TheoryData<string, string?, string> Recognised => new()
    {
        // text, expected content (null: none), expected "name|arguments" calls joined by " ; "
        { "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Rome\", \"unit\": \"celsius\"}}\n</tool_call>", null,
          "get_weather|{\"city\": \"Rome\", \"unit\": \"celsius\"}" },
        { "Let me look.\n<tool_call>{\"name\":\"get_weather\",\"arguments\":{\"city\":\"A\"}}</tool_call>\n<tool_call>{\"name\":\"book_room\",\"arguments\":{\"day\":\"monday\"}}",
          "Let me look.\n", "get_weather|{\"city\":\"A\"} ; book_room|{\"day\":\"monday\"}" },
        { "{\"name\": \"book_room\", \"parameters\": {\"day\": \"tuesday\", \"guests\": 2}}", null, "book_room|{\"day\": \"tuesday\", \"guests\": 2}" },
        { "  {\"name\":\"get_weather\",\"parameters\":{\"city\":\"X\"}}; {\"name\":\"book_room\",\"parameters\":{}}", null,
          "get_weather|{\"city\":\"X\"} ; book_room|{}" },
        { "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Y\\\"}\"}", null, "get_weather|{\"city\":\"Y\"}" },
    };

    [Theory]
    [MemberData(nameof(Recognised))]
    public void Auto_mode_recognises_hermes_and_llama3_calls_whole_and_streamed(string text, string? content, string calls)
    {
        var whole = ChatMessageWriter.Final(Output(text), Tools());
        Assert.Equal(content, whole.Content);
        Assert.Equal(calls, string.Join(" ; ", whole.Calls.Select(c => c.Name + "|" + c.Arguments)));
        Assert.Equal("tool_calls", whole.FinishReason);
        Assert.All(whole.Calls, c => Assert.StartsWith("call_", c.Id));

        var (streamedContent, streamedCalls) = Stream(Tools(), text, step: 3);
        Assert.Equal(content ?? "", streamedContent);
        Assert.Equal(calls, string.Join(" ; ", streamedCalls.Select(c => c.Name + "|" + c.Args)));
    }

    public static TheoryData<string> NotCalls => new()
    {
        "ROMEO: I hope so.",
        "{\"name\": \"launch_missiles\", \"arguments\": {}}",          // not a declared tool
        "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Ro",   // cut off
        "{\"name\": \"get_weather\", \"arguments\": {}} and then some prose",
        "<tool_call>{\"name\": \"get_weather\", \"arguments\": [1]}</tool_call>",
        "What a <tool_ of a thing <tool_call",
        "",
    };

    [Theory]
    [MemberData(nameof(NotCalls))]
    public void Text_without_a_recognisable_call_stays_content(string text)
    {
        var whole = ChatMessageWriter.Final(Output(text), Tools());
        Assert.Equal(text, whole.Content);
        Assert.Empty(whole.Calls);
        Assert.Equal("stop", whole.FinishReason);
        var (streamed, calls) = Stream(Tools(), text, step: 2);
        Assert.Equal(text, streamed);
        Assert.Empty(calls);
    }

    [Fact]
    public void Content_streams_before_a_call_is_complete_and_the_tag_prefix_is_held()
    {
        var stream = new ToolCallStream(Tools());
        Assert.Equal("Good ", stream.Update("Good ", false).Content.ToString());
        Assert.Equal("morrow", stream.Update("Good morrow<tool", false).Content.ToString()); // "<tool" may begin a tag
        Assert.True(stream.Update("Good morrow<tool_call>{\"na", false).IsEmpty);
        var last = stream.Update("Good morrow<tool_call>{\"name\":\"book_room\",\"arguments\":{}}</tool_call>", true);
        Assert.Equal("", last.Content.ToString());
        Assert.Equal("book_room", Assert.Single(last.Calls).Name);
        Assert.Equal("tool_calls", stream.FinishReason("stop"));
    }

    [Fact]
    public void Parallel_tool_calls_false_keeps_the_first_call()
    {
        var whole = ChatMessageWriter.Final(Output("{\"name\":\"get_weather\",\"parameters\":{}}; {\"name\":\"book_room\",\"parameters\":{}}"), Tools(parallel: false));
        Assert.Equal("get_weather", Assert.Single(whole.Calls).Name);
    }

    [Fact]
    public void Required_mode_streams_the_arguments_as_they_grow()
    {
        string text = "{\"name\":\"book_room\",\"arguments\":{\"day\":\"monday\",\"guests\":3}}";
        var (content, calls) = Stream(Tools("\"required\""), text, step: 1, out int pieces);
        Assert.Equal("", content);
        var call = Assert.Single(calls);
        Assert.Equal("book_room", call.Name);
        Assert.Equal("{\"day\":\"monday\",\"guests\":3}", call.Args);
        Assert.True(pieces > 10, $"{pieces} argument pieces");
        // Arguments first, name last (the decoder may order keys either way): same call.
        var (_, swapped) = Stream(Tools("\"required\""), "{\"arguments\":{\"day\":\"tuesday\"},\"name\":\"book_room\"}", step: 4);
        Assert.Equal("book_room|{\"day\":\"tuesday\"}", string.Join("", swapped.Select(c => c.Name + "|" + c.Args)));
    }

    [Fact]
    public void A_cut_off_forced_call_reports_length_not_tool_calls()
    {
        var required = ChatMessageWriter.Final(Output("{\"name\":\"book_room\",\"arguments\":{\"day\":\"mon", "length"), Tools("\"required\""));
        Assert.Equal("length", required.FinishReason);
        Assert.Equal("{\"day\":\"mon", Assert.Single(required.Calls).Arguments);
        var early = ChatMessageWriter.Final(Output("{\"na", "length"), Tools("\"required\""));
        Assert.Empty(early.Calls);
        Assert.Equal("{\"na", early.Content);
        var named = ChatMessageWriter.Final(Output("{\"city\":\"Ro", "length"), Tools("""{"type":"function","function":{"name":"get_weather"}}"""));
        Assert.Equal(("get_weather", "length"), (Assert.Single(named.Calls).Name, named.FinishReason));
    }

    [Fact]
    public void Required_schema_nests_each_tool_and_rewrites_its_local_refs()
    {
        var tools = Tools("\"required\"");
        var schema = ToolConstraint.RequiredSchema(tools.Functions);
        var branches = schema["anyOf"]!.AsArray();
        Assert.Equal(2, branches.Count);
        Assert.Equal("book_room", branches[1]!["properties"]!["name"]!["const"]!.GetValue<string>());
        var day = branches[1]!["properties"]!["arguments"]!["properties"]!["day"]!["$ref"]!.GetValue<string>();
        Assert.Equal("#/anyOf/1/properties/arguments/$defs/day", day);
        // The rewritten pointer resolves to the definition inside the combined document.
        var target = schema["anyOf"]![1]!["properties"]!["arguments"]!["$defs"]!["day"]!;
        Assert.Equal("string", target["type"]!.GetValue<string>());
    }

    [Fact]
    public void A_forced_call_without_the_guided_plugin_is_a_400_on_tool_choice()
    {
        var e = Assert.Throws<ApiException>(() => ToolConstraint.Factory(Tools("\"required\""), decoder: null, vocabulary: null!));
        Assert.Equal(400, e.Status);
        Assert.Equal("tool_choice", e.Param);
        Assert.Contains("guided", e.Message);
        Assert.Null(ToolConstraint.Factory(Tools(), decoder: null, vocabulary: null!)); // auto needs no plugin
    }

    [Fact]
    public void Structured_output_without_the_guided_plugin_is_a_400_on_its_field()
    {
        // The shared server loads the guided plugin (plugins.json), so its absence is checked here.
        using var doc = JsonDocument.Parse("""{"response_format":{"type":"json_object"}}""");
        var e = Assert.Throws<ApiException>(() => GuidedBinder.Factory(new JsonFields(doc.RootElement), decoder: null, vocabulary: null!));
        Assert.Equal(("response_format", 400), (e.Param, e.Status));
    }

    [Fact]
    public void Tool_choice_none_keeps_tools_out_of_the_prompt()
    {
        Assert.Null(Tools("\"none\"").TemplateTools);
        Assert.Equal(2, Tools().TemplateTools!.Count);
    }

    private static readonly string History = """
        [{"role":"user","content":"Weather in Verona?"},
         {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Verona\"}"}}]},
         {"role":"tool","tool_call_id":"call_1","content":"Sunny."}]
        """;

    [Fact]
    public void Qwen3_template_renders_tools_calls_and_responses()
    {
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Shared("tokenizers", "qwen3", "tokenizer_config.json")))!;
        var template = ChatTemplate.Parse(config["chat_template"]!.GetValue<string>());
        using var doc = JsonDocument.Parse(History);
        var messages = ChatMessages.Read(doc.RootElement, 16);
        string text = template.Apply(messages, true, null, "<|im_end|>", Tools().TemplateTools);
        Assert.Contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\"", text);
        Assert.Contains("<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Verona\"}}\n</tool_call><|im_end|>", text);
        Assert.Contains("<|im_start|>user\n<tool_response>\nSunny.\n</tool_response><|im_end|>\n<|im_start|>assistant\n", text);
    }

    [Fact]
    public void Arguments_reach_templates_as_a_mapping()
    {
        // Llama-3.1's template writes tool_call.arguments | tojson: a mapping gives the object, a string would be quoted.
        var template = ChatTemplate.Parse("{% for m in messages %}{% for c in m.tool_calls or [] %}{{ c.function.name }}={{ c.function.arguments | tojson }};{% endfor %}{% endfor %}");
        using var doc = JsonDocument.Parse(History);
        string text = template.Apply(ChatMessages.Read(doc.RootElement, 16), false, null, null);
        Assert.Equal("get_weather={\"city\": \"Verona\"};", text);
    }

    private static Modular.Engine.CompletionOutput Output(string text, string reason = "stop") => new()
    {
        Index = 0, Text = text, TextDelta = "", TokenIds = [], FinishReason = reason,
    };

    private static (string Content, List<(string Name, string Args)> Calls) Stream(ChatTools tools, string text, int step) =>
        Stream(tools, text, step, out _);

    // Feeds the text in growing prefixes as the engine would, then reassembles what the client receives.
    private static (string Content, List<(string Name, string Args)> Calls) Stream(ChatTools tools, string text, int step, out int argPieces)
    {
        var stream = new ToolCallStream(tools);
        var content = new StringBuilder();
        var calls = new List<(string Name, StringBuilder Args)>();
        argPieces = 0;
        for (int end = Math.Min(step, text.Length); ; end = Math.Min(end + step, text.Length))
        {
            bool final = end == text.Length;
            var d = stream.Update(text[..end], final);
            content.Append(d.Content);
            foreach (var p in d.Calls)
            {
                if (p.Id is not null) { Assert.Equal(calls.Count, p.Index); calls.Add((p.Name!, new StringBuilder())); }
                if (p.Arguments.Length > 0) argPieces++;
                calls[p.Index].Args.Append(p.Arguments);
            }
            if (final) break;
        }
        return (content.ToString(), calls.Select(c => (c.Name, c.Args.ToString())).ToList());
    }
}
