using System.Text.Json;
using Modular.Engine;

namespace Modular.Server.Protocol;

/// <summary>
/// Writes the assistant message of a chat choice (whole, or as a streamed delta) with OpenAI's <c>tool_calls</c>:
/// <c>[{"id":"call_...","type":"function","function":{"name":...,"arguments":"&lt;JSON text&gt;"}}]</c>, and in a delta
/// <c>[{"index":k,"id","type","function":{"name","arguments"}}]</c> for a call's first piece, then
/// <c>[{"index":k,"function":{"arguments":"..."}}]</c>.
/// </summary>
internal static class ChatMessageWriter
{
    /// <summary>The final message of a sample, split by <paramref name="tools"/> when the request has a tool choice.</summary>
    public static (string? Content, List<ParsedToolCall> Calls, string FinishReason) Final(CompletionOutput c, ChatTools? tools)
    {
        string reason = c.FinishReason ?? FinishReasons.Stop;
        if (tools is null || tools.Mode == ToolChoiceMode.None) return (c.Text, [], reason);
        var stream = new ToolCallStream(tools);
        var d = stream.Update(c.Text, final: true);
        var calls = new List<ParsedToolCall>();
        foreach (var piece in d.Calls)
        {
            if (piece.Id is not null) calls.Add(new ParsedToolCall(piece.Id, piece.Name!, piece.Arguments));
            else calls[piece.Index] = calls[piece.Index] with { Arguments = calls[piece.Index].Arguments + piece.Arguments };
        }
        string content = d.Content.ToString();
        // OpenAI sends content null beside tool calls when the model wrote nothing else.
        return (calls.Count > 0 && string.IsNullOrWhiteSpace(content) ? null : content, calls, stream.FinishReason(reason));
    }

    /// <summary>Writes <c>"content"</c> and <c>"tool_calls"</c> of a whole message.</summary>
    public static void WriteMessageBody(Utf8JsonWriter w, string? content, List<ParsedToolCall> calls)
    {
        if (content is null) w.WriteNull("content"); else w.WriteString("content", content);
        w.WriteNull("refusal");
        w.WriteStartArray("tool_calls");
        foreach (var call in calls)
        {
            w.WriteStartObject();
            w.WriteString("id", call.Id);
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", call.Name);
            w.WriteString("arguments", call.Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Writes the <c>"tool_calls"</c> member of a streamed delta (nothing when there are no pieces).</summary>
    public static void WriteDeltaCalls(Utf8JsonWriter w, List<ToolCallDelta> pieces)
    {
        if (pieces.Count == 0) return;
        w.WriteStartArray("tool_calls");
        foreach (var p in pieces)
        {
            w.WriteStartObject();
            w.WriteNumber("index", p.Index);
            if (p.Id is not null)
            {
                w.WriteString("id", p.Id);
                w.WriteString("type", "function");
            }
            w.WriteStartObject("function");
            if (p.Name is not null) w.WriteString("name", p.Name);
            w.WriteString("arguments", p.Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
