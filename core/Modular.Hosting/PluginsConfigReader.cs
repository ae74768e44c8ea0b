using System.Globalization;
using System.Text.Json;

namespace Modular.Hosting;

/// <summary>
/// Reads and validates plugins.json. Every error is a <see cref="PluginLoadException"/> naming the file, the JSON path
/// (e.g. <c>$.plugins[1].path</c>) and what is wrong. Comments and trailing commas are accepted; unknown properties are
/// rejected so that a misspelt key does not silently fall back to a default.
/// </summary>
public static class PluginsConfigReader
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly string[] RootKeys = ["backend", "plugins"];
    private static readonly string[] EntryKeys = ["name", "path", "sha256", "enabled", "settings"];

    /// <summary>Reads the plugins.json at <paramref name="path"/>.</summary>
    /// <exception cref="PluginLoadException">The file is missing, is not valid JSON, or has wrong fields.</exception>
    public static PluginsConfig Read(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        if (!File.Exists(fullPath))
            throw new PluginLoadException($"plugins.json not found: {fullPath}", path: fullPath);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PluginLoadException($"cannot read {fullPath}: {e.Message}", path: fullPath, inner: e);
        }
        return Parse(bytes, fullPath);
    }

    /// <summary>
    /// Parses plugins.json text. <paramref name="sourcePath"/> is used in messages and its folder is the base for
    /// relative plugin paths.
    /// </summary>
    public static PluginsConfig Parse(ReadOnlySpan<byte> utf8Json, string sourcePath)
    {
        // JsonDocument checks UTF-8 inside strings only when they are read, and the error locator below reads them.
        if (!System.Text.Unicode.Utf8.IsValid(utf8Json))
            throw new PluginLoadException($"{sourcePath}: not valid UTF-8 text", path: sourcePath);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray(), DocumentOptions);
        }
        catch (JsonException e)
        {
            // JsonDocument does not say where in the tree the error is; re-read to find the path.
            var where = JsonErrorLocator.PathAtError(utf8Json, new JsonReaderOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            });
            var line = e.LineNumber is long l ? (l + 1).ToString(CultureInfo.InvariantCulture) : "?";
            var col = e.BytePositionInLine is long b ? (b + 1).ToString(CultureInfo.InvariantCulture) : "?";
            throw new PluginLoadException(
                $"{sourcePath}: malformed JSON at {where} (line {line}, byte {col}): {FirstSentence(e.Message)}",
                path: sourcePath, inner: e);
        }

        using (document)
        {
            return ReadRoot(document.RootElement, sourcePath);
        }
    }

    private static PluginsConfig ReadRoot(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw Error(source, "$", $"expected an object with \"backend\" and \"plugins\", found {Describe(root)}");
        RejectUnknown(root, "$", RootKeys, source);

        var backend = PluginsConfig.AutoBackend;
        if (root.TryGetProperty("backend", out var backendElement))
        {
            backend = RequireString(backendElement, "$.backend", source);
            if (backend.Length == 0)
                throw Error(source, "$.backend", "must be \"auto\" or a backend plugin name, found an empty string");
        }

        var entries = new List<PluginEntry>();
        if (root.TryGetProperty("plugins", out var plugins))
        {
            if (plugins.ValueKind != JsonValueKind.Array)
                throw Error(source, "$.plugins", $"expected an array of plugin entries, found {Describe(plugins)}");
            var baseDir = System.IO.Path.GetDirectoryName(source) ?? Directory.GetCurrentDirectory();
            var index = 0;
            foreach (var item in plugins.EnumerateArray())
            {
                entries.Add(ReadEntry(item, index, baseDir, source));
                index++;
            }
        }

        // Two entries may not claim the same name: settings and backend selection are keyed by it.
        for (var i = 0; i < entries.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (entries[i].Name is { } n && string.Equals(n, entries[j].Name, StringComparison.OrdinalIgnoreCase))
                    throw Error(source, $"{entries[i].JsonPath}.name", $"duplicate plugin name \"{n}\" (already used by {entries[j].JsonPath})");
            }
        }
        return new PluginsConfig(source, backend, entries);
    }

    private static PluginEntry ReadEntry(JsonElement item, int index, string baseDir, string source)
    {
        var at = $"$.plugins[{index}]";
        if (item.ValueKind != JsonValueKind.Object)
            throw Error(source, at, $"expected a plugin object {{ \"path\": ... }}, found {Describe(item)}");
        RejectUnknown(item, at, EntryKeys, source);

        string? name = null;
        if (item.TryGetProperty("name", out var nameElement))
        {
            name = RequireString(nameElement, at + ".name", source);
            // The name is a configuration key ("plugins:<name>"), so it cannot contain the key separator.
            if (name.Length == 0 || name.Contains(':') || name.Trim() != name)
                throw Error(source, at + ".name", $"\"{name}\" is not a valid plugin name (non-empty, no ':' and no surrounding spaces)");
        }

        if (!item.TryGetProperty("path", out var pathElement))
            throw Error(source, at + ".path", "is required: the plugin assembly (.dll) to load");
        var path = RequireString(pathElement, at + ".path", source);
        if (string.IsNullOrWhiteSpace(path))
            throw Error(source, at + ".path", "must be a non-empty path to the plugin assembly");
        string fullPath;
        try
        {
            fullPath = System.IO.Path.GetFullPath(path, baseDir);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw Error(source, at + ".path", $"\"{path}\" is not a valid path: {e.Message}");
        }

        string? sha256 = null;
        if (item.TryGetProperty("sha256", out var shaElement) && shaElement.ValueKind != JsonValueKind.Null)
        {
            var text = RequireString(shaElement, at + ".sha256", source);
            if (text.Length != 64 || !IsHex(text))
                throw Error(source, at + ".sha256", $"expected 64 hex digits (a SHA-256), found \"{text}\" ({text.Length} characters)");
            sha256 = text.ToLowerInvariant();
        }

        var enabled = true;
        if (item.TryGetProperty("enabled", out var enabledElement))
        {
            enabled = enabledElement.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                _ => throw Error(source, at + ".enabled", $"expected true or false, found {Describe(enabledElement)}"),
            };
        }

        JsonElement? settings = null;
        if (item.TryGetProperty("settings", out var settingsElement) && settingsElement.ValueKind != JsonValueKind.Null)
        {
            if (settingsElement.ValueKind != JsonValueKind.Object)
                throw Error(source, at + ".settings", $"expected an object, found {Describe(settingsElement)}");
            settings = settingsElement.Clone(); // outlives the document
        }

        return new PluginEntry(index, name, path, fullPath, sha256, enabled, settings);
    }

    private static void RejectUnknown(JsonElement obj, string at, string[] allowed, string source)
    {
        foreach (var property in obj.EnumerateObject())
        {
            if (Array.IndexOf(allowed, property.Name) < 0)
                throw Error(source, JsonErrorLocator.Append(at, property.Name),
                    $"unknown property; allowed here: {string.Join(", ", allowed)}");
        }
    }

    private static string RequireString(JsonElement e, string at, string source) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Error(source, at, $"expected a string, found {Describe(e)}");

    private static bool IsHex(string s)
    {
        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c)) return false;
        }
        return true;
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => $"the string \"{e.GetString()}\"",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {e.GetRawText()}",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends its own "Path: $ | LineNumber: ..." suffix (0-based); we print our own location instead.
        foreach (var marker in (ReadOnlySpan<string>)[" Path:", " LineNumber:"])
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0) message = message[..cut];
        }
        return message;
    }

    private static PluginLoadException Error(string source, string at, string what) =>
        new($"{source}: {at} {what}", path: source);
}
