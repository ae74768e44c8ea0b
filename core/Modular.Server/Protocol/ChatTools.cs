using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>One function the client offers the model (an entry of <c>tools</c>).</summary>
/// <param name="Name">Function name, unique within the request.</param>
/// <param name="Parameters">JSON Schema text of the arguments object.</param>
/// <param name="Index">Position in <c>tools</c> (for error messages).</param>
internal sealed record ToolFunction(string Name, string Parameters, int Index);

/// <summary>How <c>tool_choice</c> lets the model use the tools.</summary>
internal enum ToolChoiceMode
{
    /// <summary>No tool calls: plain content, tools left out of the prompt.</summary>
    None,
    /// <summary>Unconstrained; a tool call is recognised in the text when the model wrote one.</summary>
    Auto,
    /// <summary>The output is constrained to one call of any of the tools.</summary>
    Required,
    /// <summary>The output is constrained to the arguments of one named tool.</summary>
    Named,
}

/// <summary>
/// The request's <c>tools</c>, <c>tool_choice</c> and <c>parallel_tool_calls</c>, validated: functions with
/// unique names and object parameter schemas, a choice that names a known function.
/// </summary>
internal sealed class ChatTools
{
    private ChatTools(IReadOnlyList<ToolFunction> functions, ToolChoiceMode mode, ToolFunction? named, JsonArray? templateTools, bool parallel)
    {
        Functions = functions;
        Mode = mode;
        Named = named;
        TemplateTools = templateTools;
        ParallelCalls = parallel;
    }

    /// <summary>The declared functions, in request order.</summary>
    public IReadOnlyList<ToolFunction> Functions { get; }
    /// <summary>The effective tool choice.</summary>
    public ToolChoiceMode Mode { get; }
    /// <summary>The forced function when <see cref="Mode"/> is <see cref="ToolChoiceMode.Named"/>.</summary>
    public ToolFunction? Named { get; }
    /// <summary>What the chat template sees as <c>tools</c> (null: no tools rendered).</summary>
    public JsonArray? TemplateTools { get; }
    /// <summary>Whether several calls may be returned (auto mode only; constrained modes produce one).</summary>
    public bool ParallelCalls { get; }

    /// <summary>True when the output is constrained to a tool call.</summary>
    public bool Constrains => Mode is ToolChoiceMode.Required or ToolChoiceMode.Named;

    /// <summary>Looks a function up by name.</summary>
    public ToolFunction? Find(string name)
    {
        foreach (var t in Functions) if (t.Name == name) return t;
        return null;
    }

    /// <summary>Reads and validates the tool fields; null when the request uses no tools.</summary>
    /// <param name="f">The request object.</param>
    /// <param name="limits">Bounds on the tool count and each tool's parameters schema (null: the defaults).</param>
    public static ChatTools? Bind(JsonFields f, ServerLimits? limits = null)
    {
        limits ??= new ServerLimits();
        var toolsEl = f.Array("tools");
        var choiceEl = f.Get("tool_choice");
        bool parallel = f.Bool("parallel_tool_calls") ?? true;
        if (toolsEl is null && choiceEl is null) return null;

        var functions = toolsEl is { } arr ? ReadFunctions(arr, limits) : [];
        var (mode, named) = ReadChoice(choiceEl, functions);
        if (functions.Count == 0 && mode is not ToolChoiceMode.None)
            throw ApiException.BadField("tool_choice", mode == ToolChoiceMode.Auto
                ? "tool_choice: \"auto\" needs at least one entry in tools"
                : $"tool_choice: {(mode == ToolChoiceMode.Required ? "\"required\"" : "a named function")} needs at least one entry in tools");
        // "none" keeps the functions out of the prompt: the model must not be invited to call what cannot be called.
        JsonArray? templateTools = mode == ToolChoiceMode.None || toolsEl is null ? null : JsonNode.Parse(toolsEl.Value.GetRawText())!.AsArray();
        if (templateTools is not null) NormalizeForTemplate(templateTools);
        return new ChatTools(functions, mode, named, templateTools, parallel);
    }

    private static List<ToolFunction> ReadFunctions(JsonElement tools, ServerLimits limits)
    {
        int count = tools.GetArrayLength();
        if (count > limits.MaxTools) throw ApiException.BadField("tools", $"tools: at most {limits.MaxTools} tools are allowed, got {count}");
        var list = new List<ToolFunction>(count);
        int i = 0;
        foreach (var t in tools.EnumerateArray())
        {
            string where = $"tools[{i}]";
            if (t.ValueKind != JsonValueKind.Object) throw ApiException.BadField("tools", $"{where}: expected an object, got {JsonFields.Kind(t)}");
            var tf = new JsonFields(t, where);
            string type = tf.String("type") ?? throw ApiException.BadField("tools", $"{where}.type: is required (\"function\")");
            if (type != "function") throw ApiException.BadField("tools", $"{where}.type: \"{Short(type)}\" is not supported; only \"function\" tools are");
            var fn = tf.Object("function") ?? throw ApiException.BadField("tools", $"{where}.function: is required");
            var ff = new JsonFields(fn, where + ".function");
            string name = ff.String("name") ?? throw ApiException.BadField("tools", $"{where}.function.name: is required");
            if (!IsValidName(name))
                throw ApiException.BadField("tools", $"{where}.function.name: \"{Short(name)}\" must be 1 to 64 letters, digits, '_', '-' or '.'");
            ff.String("description");
            bool strict = ff.Bool("strict") ?? false;
            string parameters;
            if (ff.Get("parameters") is { } p)
            {
                if (p.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadField("tools", $"{where}.function.parameters: expected a JSON Schema object, got {JsonFields.Kind(p)}");
                // Measured on the bytes as sent, before the schema is copied or compiled into a constraint.
                int size = JsonMarshal.GetRawUtf8Value(p).Length;
                if (size > limits.MaxToolParametersBytes)
                    throw ApiException.BadField("tools", $"{where}.function.parameters: the schema is {size} bytes; at most {limits.MaxToolParametersBytes} are allowed");
                parameters = strict ? StrictJsonSchema.Close(p.GetRawText()) : p.GetRawText();
            }
            else parameters = """{"type":"object","properties":{},"additionalProperties":false}"""; // OpenAI: no parameters = an empty argument list
            foreach (var other in list)
                if (other.Name == name) throw ApiException.BadField("tools", $"{where}.function.name: \"{name}\" is already declared by tools[{other.Index}]");
            list.Add(new ToolFunction(name, parameters, i));
            i++;
        }
        return list;
    }

    private static (ToolChoiceMode, ToolFunction?) ReadChoice(JsonElement? choice, List<ToolFunction> functions)
    {
        if (choice is not { } c) return (functions.Count > 0 ? ToolChoiceMode.Auto : ToolChoiceMode.None, null);
        if (c.ValueKind == JsonValueKind.String)
        {
            return c.GetString() switch
            {
                "none" => (ToolChoiceMode.None, null),
                "auto" => (ToolChoiceMode.Auto, null),
                "required" => (ToolChoiceMode.Required, null),
                var s => throw ApiException.BadField("tool_choice", $"tool_choice: \"{Short(s!)}\" is not supported; use \"none\", \"auto\", \"required\" or {{\"type\":\"function\",\"function\":{{\"name\":...}}}}"),
            };
        }
        if (c.ValueKind != JsonValueKind.Object)
            throw ApiException.BadField("tool_choice", $"tool_choice: expected a string or an object, got {JsonFields.Kind(c)}");
        var cf = new JsonFields(c, "tool_choice");
        string type = cf.String("type") ?? throw ApiException.BadField("tool_choice", "tool_choice.type: is required (\"function\")");
        if (type != "function") throw ApiException.BadField("tool_choice", $"tool_choice.type: \"{Short(type)}\" is not supported; use \"function\"");
        var fn = cf.Object("function") ?? throw ApiException.BadField("tool_choice", "tool_choice.function: is required");
        string name = new JsonFields(fn, "tool_choice.function").String("name") ?? throw ApiException.BadField("tool_choice", "tool_choice.function.name: is required");
        foreach (var t in functions)
            if (t.Name == name) return (ToolChoiceMode.Named, t);
        string known = functions.Count == 0 ? "no tools are declared" : "declared: " + string.Join(", ", functions.Select(t => t.Name));
        throw ApiException.BadField("tool_choice", $"tool_choice.function.name: \"{Short(name)}\" is not among tools ({known})");
    }

    // HF templates read tools[i].function.parameters as a mapping; a tool declared without parameters gets the empty one.
    private static void NormalizeForTemplate(JsonArray tools)
    {
        foreach (var t in tools)
            if (t?["function"] is JsonObject fn && fn["parameters"] is null)
                fn["parameters"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
    }

    private static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 64) return false;
        foreach (char ch in name)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' or '.')) return false;
        return true;
    }

    private static string Short(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
