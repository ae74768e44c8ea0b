using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>
/// Turns the request's <c>messages</c> into the array a chat template renders: content given as an array of parts
/// is joined into one string (text parts only), an assistant's <c>tool_calls</c> get their arguments as mappings,
/// other message fields (name, tool_call_id, reasoning_content) pass through as sent.
/// </summary>
internal static class ChatMessages
{
    /// <param name="messages">The request's <c>messages</c> array.</param>
    /// <param name="maxMessages">Most messages allowed.</param>
    /// <param name="maxContentParts">Most parts in one message's content array.</param>
    public static JsonArray Read(JsonElement messages, int maxMessages, int maxContentParts = ServerLimits.DefaultMaxContentParts)
    {
        int count = messages.GetArrayLength();
        if (count == 0) throw ApiException.BadField("messages", "messages: must contain at least one message");
        if (count > maxMessages) throw ApiException.BadField("messages", $"messages: at most {maxMessages} messages are allowed, got {count}");
        var result = new JsonArray();
        int i = 0;
        foreach (var m in messages.EnumerateArray())
        {
            string where = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object)
                throw ApiException.BadField("messages", $"{where}: expected an object, got {JsonFields.Kind(m)}");
            var f = new JsonFields(m, where);
            string role = f.String("role") ?? throw ApiException.BadField("messages", $"{where}.role: is required");
            if (role.Length == 0) throw ApiException.BadField("messages", $"{where}.role: must not be empty");
            var msg = new JsonObject();
            foreach (var p in m.EnumerateObject())
            {
                if (p.NameEquals("content")) continue;
                msg[p.Name] = JsonNode.Parse(p.Value.GetRawText());
            }
            msg["role"] = role;
            msg["content"] = Content(f, where, maxContentParts);
            if (f.Get("tool_calls") is { } calls) msg["tool_calls"] = ToolCalls(calls, where);
            if (role == "tool" && f.Get("tool_call_id") is { } tcid && tcid.ValueKind != JsonValueKind.String)
                throw ApiException.BadField("messages", $"{where}.tool_call_id: expected a string, got {JsonFields.Kind(tcid)}");
            result.Add(msg);
            i++;
        }
        return result;
    }

    /// <summary>
    /// An assistant message's tool calls as HF templates read them: <c>function.arguments</c> becomes a mapping
    /// (clients send it as a JSON string; Llama-3.1-style templates apply <c>tojson</c> to it, Qwen's take either).
    /// </summary>
    private static JsonArray ToolCalls(JsonElement calls, string where)
    {
        if (calls.ValueKind != JsonValueKind.Array)
            throw ApiException.BadField("messages", $"{where}.tool_calls: expected an array, got {JsonFields.Kind(calls)}");
        var result = new JsonArray();
        int k = 0;
        foreach (var call in calls.EnumerateArray())
        {
            string cw = $"{where}.tool_calls[{k}]";
            if (call.ValueKind != JsonValueKind.Object) throw ApiException.BadField("messages", $"{cw}: expected an object, got {JsonFields.Kind(call)}");
            var cf = new JsonFields(call, cw);
            var fn = cf.Object("function") ?? throw ApiException.BadField("messages", $"{cw}.function: is required");
            var ff = new JsonFields(fn, cw + ".function");
            if (ff.String("name") is null) throw ApiException.BadField("messages", $"{cw}.function.name: is required");
            var node = JsonNode.Parse(call.GetRawText())!.AsObject();
            if (ff.Get("arguments") is { } args)
            {
                if (args.ValueKind == JsonValueKind.String)
                {
                    JsonNode? parsed = null;
                    try { parsed = JsonNode.Parse(args.GetString()!); }
                    catch (JsonException) { } // not JSON: the template gets the string as sent
                    if (parsed is JsonObject) node["function"]!["arguments"] = parsed;
                }
                else if (args.ValueKind != JsonValueKind.Object)
                    throw ApiException.BadField("messages", $"{cw}.function.arguments: expected a JSON string or an object, got {JsonFields.Kind(args)}");
            }
            result.Add(node);
            k++;
        }
        return result;
    }

    private static string Content(JsonFields f, string where, int maxParts)
    {
        if (f.Get("content") is not { } c) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array)
            throw ApiException.BadField("messages", $"{where}.content: expected a string or an array of content parts, got {JsonFields.Kind(c)}");
        int parts = c.GetArrayLength();
        if (parts > maxParts)
            throw ApiException.BadField("messages", $"{where}.content: at most {maxParts} content parts are allowed, got {parts}");
        var text = new StringBuilder();
        int k = 0;
        foreach (var part in c.EnumerateArray())
        {
            string pw = $"{where}.content[{k}]";
            if (part.ValueKind == JsonValueKind.String)
            {
                Append(text, part.GetString()!);
            }
            else if (part.ValueKind == JsonValueKind.Object)
            {
                var pf = new JsonFields(part, pw);
                string type = pf.String("type") ?? throw ApiException.BadField("messages", $"{pw}.type: is required");
                if (type is not ("text" or "input_text"))
                    throw ApiException.BadField("messages", $"{pw}.type: \"{type}\" content is not supported by this text-only model; send text parts");
                Append(text, pf.String("text") ?? throw ApiException.BadField("messages", $"{pw}.text: is required"));
            }
            else throw ApiException.BadField("messages", $"{pw}: expected a content part object, got {JsonFields.Kind(part)}");
            k++;
        }
        return text.ToString();
    }

    // vLLM joins text parts with a newline.
    private static void Append(StringBuilder sb, string s)
    {
        if (sb.Length > 0) sb.Append('\n');
        sb.Append(s);
    }
}
