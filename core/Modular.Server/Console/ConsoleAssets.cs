using System.Reflection;
using System.Security.Cryptography;

namespace Modular.Server.WebConsole;

/// <summary>
/// The console's static files (HTML, JS, CSS) embedded in Modular.Server.dll under the logical name
/// <c>WebConsole/FILE</c>. Embedding keeps <c>modular serve</c> a single deployable with nothing fetched at run time.
/// </summary>
public static class ConsoleAssets
{
    /// <summary>Prefix of the embedded resources' logical names (set by the EmbeddedResource item in the csproj).</summary>
    public const string ResourcePrefix = "WebConsole/";

    /// <summary>The page served at <c>/</c>.</summary>
    public const string IndexName = "index.html";

    private static readonly Lazy<IReadOnlyDictionary<string, ConsoleAsset>> s_assets = new(Load);

    /// <summary>Every embedded console file by name.</summary>
    public static IReadOnlyDictionary<string, ConsoleAsset> All => s_assets.Value;

    /// <summary>Finds a file by its name under <c>/console/</c>; names are case-sensitive like URLs.</summary>
    public static bool TryGet(string name, out ConsoleAsset asset)
    {
        if (s_assets.Value.TryGetValue(name, out var found))
        {
            asset = found;
            return true;
        }
        asset = null!;
        return false;
    }

    /// <summary>The <c>Content-Type</c> for a console file name; unknown kinds are refused at load time.</summary>
    public static string ContentTypeFor(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        // RFC 9239 made text/javascript the one registered type; browsers require a JS type for module scripts.
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => throw new InvalidOperationException($"web console resource '{name}': no content type for extension '{Path.GetExtension(name)}' (expected .html, .js or .css)"),
    };

    private static IReadOnlyDictionary<string, ConsoleAsset> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var assets = new Dictionary<string, ConsoleAsset>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal)) continue;
            string name = resource[ResourcePrefix.Length..];
            byte[] bytes = Read(assembly, resource);
            string etag = "\"" + Convert.ToHexStringLower(SHA256.HashData(bytes).AsSpan(0, 12)) + "\"";
            assets[name] = new ConsoleAsset(name, ContentTypeFor(name), bytes, etag);
        }
        if (!assets.ContainsKey(IndexName))
            throw new InvalidOperationException(
                $"web console: embedded resource '{ResourcePrefix}{IndexName}' is missing from {assembly.GetName().Name}.dll; " +
                "Modular.Server.csproj must embed Console/*.html, *.js and *.css with LogicalName WebConsole/FILE");
        return assets;
    }

    private static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"web console: embedded resource '{resource}' listed but unreadable");
        using var copy = new MemoryStream((int)stream.Length);
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
