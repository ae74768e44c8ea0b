using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Modular.Server.Http;

namespace Modular.Server.Protocol;

/// <summary>
/// Turns the request's <c>messages</c> into the array a chat template renders: content given as an array of parts
/// is joined into one string (text parts only), other message fields (name, tool_calls, tool_call_id,
/// reasoning_content) pass through as sent.
/// </summary>
internal static class ChatMessages
{
    public static JsonArray Read(JsonElement messages, int maxMessages)
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
            msg["content"] = Content(f, where);
            result.Add(msg);
            i++;
        }
        return result;
    }

    private static string Content(JsonFields f, string where)
    {
        if (f.Get("content") is not { } c) return "";
        if (c.ValueKind == JsonValueKind.String) return c.GetString()!;
        if (c.ValueKind != JsonValueKind.Array)
            throw ApiException.BadField("messages", $"{where}.content: expected a string or an array of content parts, got {JsonFields.Kind(c)}");
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
