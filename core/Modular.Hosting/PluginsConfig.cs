using System.Text.Json;

namespace Modular.Hosting;

/// <summary>
/// The contents of <c>plugins.json</c>: which plugin assemblies to load and which backend to use.
/// Read it with <see cref="PluginsConfigReader.Read(string)"/>.
/// </summary>
/// <param name="SourcePath">Absolute path of the plugins.json file this was read from.</param>
/// <param name="Backend">"auto" (highest non-zero probe wins) or the name of a backend plugin.</param>
/// <param name="Plugins">Entries in file order, disabled ones included.</param>
public sealed record PluginsConfig(string SourcePath, string Backend, IReadOnlyList<PluginEntry> Plugins)
{
    /// <summary>The <see cref="Backend"/> value that asks for automatic selection by probe score.</summary>
    public const string AutoBackend = "auto";
}

/// <summary>One element of the <c>plugins</c> array of plugins.json.</summary>
/// <param name="Index">Position in the array, used in messages as <c>$.plugins[Index]</c>.</param>
/// <param name="Name">
/// Optional expected plugin name; when set, the loaded plugin's <see cref="Modular.Abstractions.IPlugin.Name"/> must equal it.
/// </param>
/// <param name="Path">Assembly path exactly as written in the file.</param>
/// <param name="FullPath">Absolute assembly path (relative paths resolve against the plugins.json folder).</param>
/// <param name="Sha256">Optional pin: lower-case hex SHA-256 of the assembly file, checked before loading.</param>
/// <param name="Enabled">False skips the entry entirely (its file need not exist).</param>
/// <param name="Settings">The <c>settings</c> object, or null when absent; handed to the plugin as configuration.</param>
public sealed record PluginEntry(
    int Index,
    string? Name,
    string Path,
    string FullPath,
    string? Sha256,
    bool Enabled,
    JsonElement? Settings)
{
    /// <summary>JSON path of this entry in plugins.json, e.g. <c>$.plugins[1]</c>.</summary>
    public string JsonPath => $"$.plugins[{Index}]";

    /// <summary>How messages refer to the entry before its plugin is loaded: its name, or its file name.</summary>
    public string DisplayName => Name ?? System.IO.Path.GetFileNameWithoutExtension(Path);
}
