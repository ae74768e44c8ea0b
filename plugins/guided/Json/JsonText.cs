using System.Text;
using System.Text.Json;
using Modular.Plugins.Guided.Lexing;

namespace Modular.Plugins.Guided.Json;

/// <summary>Compact JSON serialization with minimal escaping (raw UTF-8), the form guided JSON masks accept.</summary>
public static class JsonText
{
    /// <summary>Writes <paramref name="e"/> compactly; numbers keep their source text.</summary>
    public static string Compact(JsonElement e)
    {
        var sb = new StringBuilder();
        Write(e, sb);
        return sb.ToString();
    }

    private static void Write(JsonElement e, StringBuilder sb)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                sb.Append('{');
                bool first = true;
                foreach (var p in e.EnumerateObject())
                {
                    if (!first) sb.Append(',');
                    first = false;
                    sb.Append(JsonStringDfa.Quote(p.Name)).Append(':');
                    Write(p.Value, sb);
                }
                sb.Append('}');
                break;
            case JsonValueKind.Array:
                sb.Append('[');
                bool f = true;
                foreach (var x in e.EnumerateArray())
                {
                    if (!f) sb.Append(',');
                    f = false;
                    Write(x, sb);
                }
                sb.Append(']');
                break;
            case JsonValueKind.String: sb.Append(JsonStringDfa.Quote(e.GetString()!)); break;
            default: sb.Append(e.GetRawText()); break;
        }
    }
}
