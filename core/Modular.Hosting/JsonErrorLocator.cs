using System.Text.Json;

namespace Modular.Hosting;

/// <summary>
/// Finds the JSON path (<c>$.plugins[1].path</c>) of the place where a document stops being valid JSON, by reading
/// it token by token and keeping a stack of the containers entered.
/// </summary>
internal static class JsonErrorLocator
{
    private struct Frame
    {
        public bool IsArray;
        public int Index;        // index of the element being read (arrays); -1 before the first
        public string? Property;  // last property name seen (objects)
    }

    /// <summary>Path of the last position reached before the reader failed ("$" when it failed at once).</summary>
    public static string PathAtError(ReadOnlySpan<byte> utf8Json, JsonReaderOptions options)
    {
        var stack = new List<Frame>();
        var reader = new Utf8JsonReader(utf8Json, options);
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        StartValue(stack);
                        stack.Add(new Frame { IsArray = reader.TokenType == JsonTokenType.StartArray, Index = -1 });
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        if (stack.Count > 0) stack.RemoveAt(stack.Count - 1);
                        break;
                    case JsonTokenType.PropertyName:
                        if (stack.Count > 0)
                        {
                            var top = stack[^1];
                            top.Property = reader.GetString();
                            stack[^1] = top;
                        }
                        break;
                    default:
                        StartValue(stack);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // expected: this is where the document breaks
        }
        return Format(stack);
    }

    /// <summary>Appends a property to a path, quoting names that are not plain identifiers.</summary>
    public static string Append(string path, string property)
    {
        foreach (var c in property)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_' && c != '-')
                return $"{path}['{property.Replace("'", "\\'", StringComparison.Ordinal)}']";
        }
        return property.Length == 0 ? $"{path}['']" : $"{path}.{property}";
    }

    private static void StartValue(List<Frame> stack)
    {
        if (stack.Count == 0 || !stack[^1].IsArray) return;
        var top = stack[^1];
        top.Index++;
        stack[^1] = top;
    }

    private static string Format(List<Frame> stack)
    {
        var path = "$";
        foreach (var frame in stack)
        {
            if (frame.IsArray)
            {
                if (frame.Index >= 0) path += $"[{frame.Index}]";
            }
            else if (frame.Property is { } p)
            {
                path = Append(path, p);
            }
        }
        return path;
    }
}
