using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Modular.Templates.Runtime;

/// <summary>Converts the render context (System.Text.Json nodes) into runtime values, the way json.loads would.</summary>
internal static class JsonBridge
{
    public static object? FromNode(JsonNode? node, int depth = 0)
    {
        if (depth > 512) throw new RuntimeFault("render context is nested more than 512 levels deep");
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
            {
                var dict = new OrderedDictionary<string, object?>(obj.Count, StringComparer.Ordinal);
                foreach (var kv in obj) dict[kv.Key] = FromNode(kv.Value, depth + 1);
                return dict;
            }
            case JsonArray arr:
            {
                var list = new List<object?>(arr.Count);
                foreach (var item in arr) list.Add(FromNode(item, depth + 1));
                return list;
            }
            case JsonValue value:
                return FromValue(value);
            default:
                throw new RuntimeFault($"unsupported JSON node {node.GetType().Name}");
        }
    }

    private static object? FromValue(JsonValue value)
    {
        switch (value.GetValueKind())
        {
            case JsonValueKind.String: return value.GetValue<string>();
            case JsonValueKind.True: return true;
            case JsonValueKind.False: return false;
            case JsonValueKind.Null: return null;
            case JsonValueKind.Number: return Number(value);
            default:
                return FromNode(JsonNode.Parse(value.ToJsonString()));
        }
    }

    /// <summary>JSON integers become int, anything with a fraction or exponent becomes float (as in Python).</summary>
    private static object Number(JsonValue value)
    {
        if (value.TryGetValue<long>(out long l)) return l;
        if (value.TryGetValue<int>(out int i)) return (long)i;
        if (value.TryGetValue<double>(out double d) && !value.TryGetValue<JsonElement>(out _)) return d;
        string text = value.ToJsonString();
        bool isFloat = text.AsSpan().IndexOfAny(".eE") >= 0;
        if (!isFloat && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long whole)) return whole;
        return double.Parse(text, CultureInfo.InvariantCulture);
    }
}
