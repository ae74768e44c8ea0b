using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Modular.Plugins.Router;

/// <summary>
/// Typed reads of the router's settings with messages that name the field as written in plugins.json
/// (<c>settings.rules[1].threshold</c>), since the host hands settings over as flat configuration keys.
/// </summary>
internal static class SettingsFields
{
    /// <summary>The JSON-style path of a configuration key ("rules:1:threshold" → "settings.rules[1].threshold").</summary>
    public static string PathOf(IConfiguration c, string? key = null)
    {
        var raw = c is IConfigurationSection s ? s.Path : "";
        if (key is not null) raw = raw.Length == 0 ? key : raw + ":" + key;
        var parts = raw.Split(':', StringSplitOptions.RemoveEmptyEntries);
        var text = new System.Text.StringBuilder("settings");
        foreach (var p in parts)
        {
            if (int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out _)) text.Append('[').Append(p).Append(']');
            else text.Append('.').Append(p);
        }
        return text.ToString();
    }

    public static InvalidOperationException Error(IConfiguration c, string? key, string what) =>
        new($"router {PathOf(c, key)}: {what}");

    public static string? Str(IConfiguration c, string key)
    {
        var v = c[key];
        return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
    }

    public static string RequiredStr(IConfiguration c, string key) =>
        Str(c, key) ?? throw Error(c, key, "is required (a non-empty string)");

    public static double Num(IConfiguration c, string key, double fallback, double min, double max)
    {
        var v = Str(c, key);
        if (v is null) return fallback;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || !double.IsFinite(d) || d < min || d > max)
            throw Error(c, key, $"must be a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}], not '{v}'");
        return d;
    }

    public static int Int(IConfiguration c, string key, int fallback, int min, int max)
    {
        var v = Str(c, key);
        if (v is null) return fallback;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) || i < min || i > max)
            throw Error(c, key, $"must be an integer in [{min}, {max}], not '{v}'");
        return i;
    }

    /// <summary>Elements of a JSON array, in order (configuration sorts numeric keys numerically).</summary>
    public static List<IConfigurationSection> Array(IConfiguration c, string key)
    {
        var section = c.GetSection(key);
        var list = new List<IConfigurationSection>();
        foreach (var child in section.GetChildren())
        {
            if (!int.TryParse(child.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                throw Error(c, key, $"must be a JSON array, but has the property '{child.Key}'");
            list.Add(child);
        }
        return list;
    }

    /// <summary>A string or an array of strings.</summary>
    public static List<string> Strings(IConfiguration c, string key)
    {
        var list = new List<string>();
        if (Str(c, key) is { } single)
        {
            list.Add(single);
            return list;
        }
        foreach (var item in Array(c, key))
        {
            if (item.Value is null || item.GetChildren().Any())
                throw Error(item, null, "must be a string");
            if (item.Value.Trim().Length > 0) list.Add(item.Value);
        }
        return list;
    }
}
