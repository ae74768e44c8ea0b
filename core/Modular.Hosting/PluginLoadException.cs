namespace Modular.Hosting;

/// <summary>
/// Thrown when plugins.json cannot be read or a plugin cannot be loaded, registered or selected. The message names
/// the file (and the JSON path or plugin) and says what is wrong, so it can be shown to a person as is.
/// </summary>
public sealed class PluginLoadException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Full, human-readable message.</param>
    /// <param name="pluginName">Name of the plugin concerned, when known.</param>
    /// <param name="path">File concerned (plugins.json or a plugin assembly), when known.</param>
    /// <param name="inner">Underlying error, if any.</param>
    public PluginLoadException(string message, string? pluginName = null, string? path = null, Exception? inner = null)
        : base(message, inner)
    {
        PluginName = pluginName;
        FilePath = path;
    }

    /// <summary>Name of the plugin concerned, when known.</summary>
    public string? PluginName { get; }

    /// <summary>File concerned (plugins.json or a plugin assembly), when known.</summary>
    public string? FilePath { get; }
}
