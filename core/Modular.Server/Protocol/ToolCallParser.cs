using System.Text.Json;

namespace Modular.Server.Protocol;

/// <summary>One tool call as returned to the client.</summary>
/// <param name="Id">"call_..." id the client quotes back in the tool message.</param>
/// <param name="Name">The function's name.</param>
/// <param name="Arguments">The arguments object as JSON text (OpenAI sends it as a string).</param>
internal sealed record ParsedToolCall(string Id, string Name, string Arguments)
{
    /// <summary>A fresh OpenAI-style call id.</summary>
    public static string NewId() => "call_" + Guid.NewGuid().ToString("N")[..24];
}

/// <summary>Text the model wrote, split into content and the tool calls found in it.</summary>
/// <param name="ContentEnd">Length of the text before the first call (the content part).</param>
/// <param name="Calls">The calls, in order.</param>
internal sealed record ToolCallText(int ContentEnd, List<ParsedToolCall> Calls);

/// <summary>
/// Recognises tool calls in free text (tool_choice "auto") in the forms chat models are trained to write: Hermes /
/// Qwen <c>&lt;tool_call&gt;{"name":..., "arguments":{...}}&lt;/tool_call&gt;</c> blocks after optional content, and
/// Llama-3's bare JSON <c>{"name":..., "parameters":{...}}</c> (several separated by ';'). A call must name a declared
/// tool and carry an object of arguments; text that does not fully fit a form stays content.
/// </summary>
internal static class ToolCallParser
{
    /// <summary>The Hermes / Qwen opening tag.</summary>
    public const string OpenTag = "<tool_call>";
    private const string CloseTag = "</tool_call>";

    /// <summary>The calls in <paramref name="text"/>, or null when it holds none in a recognised form.</summary>
    public static ToolCallText? Parse(string text, ChatTools tools)
    {
        int open = text.IndexOf(OpenTag, StringComparison.Ordinal);
        if (open >= 0) return ParseTagged(text, open, tools);
        int start = JsonPrefix.SkipWhitespace(text, 0);
        if (start < text.Length && text[start] == '{') return ParseBareJson(text, start, tools);
        return null;
    }

    private static ToolCallText? ParseTagged(string text, int first, ChatTools tools)
    {
        var calls = new List<ParsedToolCall>();
        int at = first;
        while (at >= 0)
        {
            int bodyStart = at + OpenTag.Length;
            int close = text.IndexOf(CloseTag, bodyStart, StringComparison.Ordinal);
            // The last block may be cut off by EOS before its closing tag; its JSON must still be whole.
            string body = close >= 0 ? text[bodyStart..close] : text[bodyStart..];
            if (Call(body.Trim(), tools) is not { } call) return null;
            calls.Add(call);
            if (close < 0) break;
            at = text.IndexOf(OpenTag, close + CloseTag.Length, StringComparison.Ordinal);
        }
        return new ToolCallText(first, calls);
    }

    private static ToolCallText? ParseBareJson(string text, int start, ChatTools tools)
    {
        var calls = new List<ParsedToolCall>();
        int i = start;
        while (true)
        {
            int end = JsonPrefix.ValueEnd(text, i, final: true);
            if (end < 0 || Call(text[i..end], tools) is not { } call) return null;
            calls.Add(call);
            i = JsonPrefix.SkipWhitespace(text, end);
            if (i >= text.Length) return new ToolCallText(0, calls);
            if (text[i] != ';') return null; // trailing prose: not a call, the whole text is content
            i = JsonPrefix.SkipWhitespace(text, i + 1);
            if (i >= text.Length) return new ToolCallText(0, calls);
        }
    }

    /// <summary>A call object <c>{"name": ..., "arguments"|"parameters": {...}}</c> naming a declared tool, or null.</summary>
    private static ParsedToolCall? Call(string json, ChatTools tools)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json); }
        catch (JsonException) { return null; }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String) return null;
            if (tools.Find(name.GetString()!) is not { } fn) return null;
            if (!root.TryGetProperty("arguments", out var args) && !root.TryGetProperty("parameters", out args))
                return null;
            // Some models write the arguments as a JSON string holding the object.
            if (args.ValueKind == JsonValueKind.String)
            {
                string inner = args.GetString()!;
                try
                {
                    using var innerDoc = JsonDocument.Parse(inner);
                    if (innerDoc.RootElement.ValueKind != JsonValueKind.Object) return null;
                    return new ParsedToolCall(ParsedToolCall.NewId(), fn.Name, innerDoc.RootElement.GetRawText());
                }
                catch (JsonException) { return null; }
            }
            if (args.ValueKind != JsonValueKind.Object) return null;
            return new ParsedToolCall(ParsedToolCall.NewId(), fn.Name, args.GetRawText());
        }
    }
}
