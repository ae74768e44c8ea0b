using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Testing;
using NJsonSchema;
using OpenAI;
using OpenAI.Chat;

namespace Modular.Server.Tests;

/// <summary>
/// Tool calling against the real server (bard-2m, guided plugin from plugins.json) through the official OpenAI SDK:
/// forced calls come back as ChatToolCalls whose arguments validate against the tool's schema, streamed calls
/// reassemble to the same, and tool-call history renders.
/// </summary>
public sealed class ToolCallingTests(ServerFixture server)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private OpenAIClientOptions Options => new() { Endpoint = new Uri(server.BaseUri, "v1") };
    private ChatClient Chat => new(ServerFixture.ModelName, new ApiKeyCredential(ServerFixture.ApiKey), Options);

    internal const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
         "required":["city","unit"],"additionalProperties":false}
        """;
    internal const string TimeSchema = """
        {"type":"object","properties":{"zone":{"type":"string","pattern":"^[A-Z][a-z]{2,8}$"},"hour":{"type":"integer","minimum":0,"maximum":23}},
         "required":["zone","hour"],"additionalProperties":false}
        """;
    // Local $refs: under tool_choice "required" they must still resolve once the schema is nested in the anyOf.
    internal const string BookingSchema = """
        {"$defs":{"day":{"type":"string","enum":["monday","tuesday"]},"count":{"type":"integer","minimum":1,"maximum":9}},
         "type":"object","properties":{"day":{"$ref":"#/$defs/day"},"guests":{"$ref":"#/$defs/count"}},
         "required":["day","guests"],"additionalProperties":false}
        """;

    private static readonly Dictionary<string, string> s_schemas = new()
    {
        ["get_weather"] = WeatherSchema,
        ["get_time"] = TimeSchema,
        ["book_room"] = BookingSchema,
    };

    private static ChatCompletionOptions WithTools(ChatToolChoice choice, int maxTokens = 120)
    {
        var o = new ChatCompletionOptions { Temperature = 0, MaxOutputTokenCount = maxTokens, ToolChoice = choice };
        o.Tools.Add(ChatTool.CreateFunctionTool("get_weather", "Weather in a city", BinaryData.FromString(WeatherSchema)));
        o.Tools.Add(ChatTool.CreateFunctionTool("get_time", "Local time", BinaryData.FromString(TimeSchema)));
        o.Tools.Add(ChatTool.CreateFunctionTool("book_room", "Book a room", BinaryData.FromString(BookingSchema)));
        return o;
    }

    private static List<ChatMessage> Ask => [new SystemChatMessage("You may call functions."), new UserChatMessage("What is the weather in Verona?")];

    /// <summary>Asserts the arguments parse as a JSON object and validate against the named tool's parameters.</summary>
    internal static async Task AssertValidArguments(string name, string arguments)
    {
        Assert.True(s_schemas.TryGetValue(name, out var schemaText), $"unknown function {name}");
        var parsed = JsonNode.Parse(arguments);
        Assert.True(parsed is JsonObject, $"arguments of {name} are not an object: {arguments}");
        var schema = await JsonSchema.FromJsonAsync(schemaText!, Ct);
        var errors = schema.Validate(arguments);
        Assert.True(errors.Count == 0, $"arguments of {name} {arguments} break its schema: {string.Join("; ", errors)}");
    }

    [Fact]
    public async Task Required_choice_returns_a_tool_call_that_validates()
    {
        ChatCompletion c = await Chat.CompleteChatAsync(Ask, WithTools(ChatToolChoice.CreateRequiredChoice()), Ct);
        Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
        var call = Assert.Single(c.ToolCalls);
        Assert.StartsWith("call_", call.Id);
        Assert.Equal(ChatToolCallKind.Function, call.Kind);
        Assert.Empty(c.Content);
        await AssertValidArguments(call.FunctionName, call.FunctionArguments.ToString());
    }

    [Fact]
    public async Task Named_choice_calls_that_function_with_valid_arguments()
    {
        foreach (var name in new[] { "get_time", "book_room", "get_weather" })
        {
            ChatCompletion c = await Chat.CompleteChatAsync(Ask, WithTools(ChatToolChoice.CreateFunctionChoice(name)), Ct);
            Assert.Equal(ChatFinishReason.ToolCalls, c.FinishReason);
            var call = Assert.Single(c.ToolCalls);
            Assert.Equal(name, call.FunctionName);
            await AssertValidArguments(name, call.FunctionArguments.ToString());
        }
    }

    [Fact]
    public async Task Sampled_required_calls_validate_for_every_choice()
    {
        // n = 6 samples at temperature 1: the constraint must hold whatever the sampler picks.
        var body = new
        {
            messages = new[] { new { role = "user", content = "Book me a room." } },
            tools = s_schemas.Select(kv => new { type = "function", function = new { name = kv.Key, parameters = JsonNode.Parse(kv.Value) } }),
            tool_choice = "required", n = 6, temperature = 1.0, seed = 17, max_tokens = 150,
        };
        var json = await Api.OkAsync(server.Http, "v1/chat/completions", body);
        var choices = json["choices"]!.AsArray();
        Assert.Equal(6, choices.Count);
        foreach (var choice in choices)
        {
            Assert.Equal("tool_calls", choice!["finish_reason"]!.GetValue<string>());
            var message = choice["message"]!;
            Assert.Null(message["content"]);
            var call = Assert.Single(message["tool_calls"]!.AsArray())!;
            Assert.Equal("function", call["type"]!.GetValue<string>());
            await AssertValidArguments(call["function"]!["name"]!.GetValue<string>(), call["function"]!["arguments"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Streamed_tool_calls_reassemble_to_the_non_streamed_call()
    {
        foreach (var choice in new[] { ChatToolChoice.CreateRequiredChoice(), ChatToolChoice.CreateFunctionChoice("book_room") })
        {
            var options = WithTools(choice);
            ChatCompletion whole = await Chat.CompleteChatAsync(Ask, options, Ct);
            var expected = Assert.Single(whole.ToolCalls);

            string? id = null, name = null;
            var args = new StringBuilder();
            int argPieces = 0;
            ChatFinishReason? finish = null;
            await foreach (var u in Chat.CompleteChatStreamingAsync(Ask, options, Ct))
            {
                foreach (var t in u.ToolCallUpdates)
                {
                    Assert.Equal(0, t.Index);
                    if (t.ToolCallId is not null) { Assert.Null(id); id = t.ToolCallId; }
                    if (t.FunctionName is not null) { Assert.Null(name); name = t.FunctionName; }
                    string piece = t.FunctionArgumentsUpdate?.ToString() ?? "";
                    if (piece.Length > 0) argPieces++;
                    Assert.True(name is not null || piece.Length == 0, "arguments streamed before the function name");
                    args.Append(piece);
                }
                finish ??= u.FinishReason;
            }
            Assert.StartsWith("call_", id);
            Assert.Equal(expected.FunctionName, name);
            Assert.Equal(expected.FunctionArguments.ToString(), args.ToString()); // greedy: the same text, piece by piece
            // How many pieces arrive depends on how fast this client reads: the engine hands over whatever was
            // generated since the last read, so one piece is legitimate on a busy machine.
            Assert.True(argPieces >= 1, "no argument text was streamed");
            Assert.Equal(ChatFinishReason.ToolCalls, finish);
            await AssertValidArguments(name!, args.ToString());
        }
    }

    [Fact]
    public async Task A_conversation_with_a_tool_call_and_its_result_renders_and_answers()
    {
        var call = ChatToolCall.CreateFunctionToolCall("call_abc123", "get_weather", BinaryData.FromString("""{"city":"Verona","unit":"celsius"}"""));
        List<ChatMessage> history =
        [
            new UserChatMessage("What is the weather in Verona?"),
            new AssistantChatMessage([call]),
            new ToolChatMessage("call_abc123", "Sunny and warm, 24 degrees."),
        ];
        var options = WithTools(ChatToolChoice.CreateAutoChoice(), maxTokens: 16);
        ChatCompletion c = await Chat.CompleteChatAsync(history, options, Ct);
        Assert.True(c.FinishReason is ChatFinishReason.Stop or ChatFinishReason.Length, $"finish {c.FinishReason}");
        Assert.Empty(c.ToolCalls); // a Shakespeare model writes prose, which auto mode leaves as content
        Assert.NotEmpty(c.Content);

        // The tool result is part of the prompt: the prompt grows by at least its tokens.
        ChatCompletion without = await Chat.CompleteChatAsync([history[0]], options, Ct);
        Assert.True(c.Usage.InputTokenCount > without.Usage.InputTokenCount + 8,
            $"history prompt {c.Usage.InputTokenCount} tokens vs {without.Usage.InputTokenCount} without the tool turn");
    }

    [Fact]
    public async Task Qwen3_template_renders_tools_and_tool_call_history_over_http()
    {
        // Kept short: Qwen's tools preamble alone is ~450 bard-2m tokens, and bard-2m's context is 512.
        var config = JsonNode.Parse(File.ReadAllText(Fixtures.Shared("tokenizers", "qwen3", "tokenizer_config.json")))!;
        string template = config["chat_template"]!.GetValue<string>();
        var body = new JsonObject
        {
            ["messages"] = JsonNode.Parse("""
                [{"role":"user","content":"Weather?"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Rome\"}"}}]},
                 {"role":"tool","tool_call_id":"call_1","content":"Sun."}]
                """),
            ["tools"] = JsonNode.Parse("""[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"""),
            ["chat_template"] = template,
            ["max_tokens"] = 4,
            ["temperature"] = 0,
        };
        var json = await Api.OkAsync(server.Http, "v1/chat/completions", body.ToJsonString());
        // Qwen's rendering of this conversation (tools block, tool call, tool response) is far longer than its text.
        Assert.True(json["usage"]!["prompt_tokens"]!.GetValue<int>() > 200, json["usage"]!.ToJsonString());
    }

    [Fact]
    public async Task Auto_choice_without_a_call_is_plain_content()
    {
        ChatCompletion c = await Chat.CompleteChatAsync(Ask, WithTools(ChatToolChoice.CreateAutoChoice(), maxTokens: 12), Ct);
        Assert.Empty(c.ToolCalls);
        Assert.True(c.FinishReason is ChatFinishReason.Stop or ChatFinishReason.Length);
        Assert.NotEmpty(c.Content[0].Text);
    }

    public static TheoryData<string, string, string> BadTools => new()
    {
        { "unknown named function", """{"tool_choice":{"type":"function","function":{"name":"fly"}}}""", "tool_choice" },
        { "parameters not an object", """{"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]}""", "tools" },
        { "required without tools", """{"tool_choice":"required","tools":null}""", "tool_choice" },
        { "bad tool_choice string", """{"tool_choice":"always"}""", "tool_choice" },
        { "tool type", """{"tools":[{"type":"retrieval"}]}""", "tools" },
        { "duplicate names", """{"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}""", "tools" },
        { "forced call plus response_format", """{"tool_choice":"required","response_format":{"type":"json_object"}}""", "tool_choice" },
        { "schema the decoder refuses", """{"tool_choice":"required","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"a":{"$ref":"http://example.com/a.json"}}}}}]}""", "tools" },
        { "history tool_calls not an array", """{"messages":[{"role":"assistant","content":null,"tool_calls":{}}]}""", "messages" },
    };

    [Theory]
    [MemberData(nameof(BadTools))]
    public async Task Bad_tools_are_a_400_naming_the_field(string name, string overrides, string param)
    {
        var body = new JsonObject
        {
            ["messages"] = JsonNode.Parse("""[{"role":"user","content":"hi"}]"""),
            ["tools"] = JsonNode.Parse("""[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]"""),
            ["max_tokens"] = 2,
        };
        foreach (var (k, v) in JsonNode.Parse(overrides)!.AsObject()) body[k] = v?.DeepClone();
        var (status, json) = await Api.PostAsync(server.Http, "v1/chat/completions", body.ToJsonString());
        Assert.True(status == 400, $"{name}: {status} {json?.ToJsonString()}");
        Api.AssertOpenAiError(json, name);
        Assert.Equal(param, json!["error"]!["param"]!.GetValue<string>());
    }
}
