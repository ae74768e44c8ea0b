using System.Reflection;
using System.Runtime.Loader;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Hosting;

/// <summary>A plugin that was loaded, checked and registered by <see cref="PluginHost.Load"/>.</summary>
public sealed class LoadedPlugin
{
    internal LoadedPlugin(PluginEntry entry, IPlugin plugin, Assembly assembly, PluginLoader loader, string sha256)
    {
        Entry = entry;
        Plugin = plugin;
        Assembly = assembly;
        Loader = loader;
        Sha256 = sha256;
    }

    /// <summary>The plugin's name (<see cref="IPlugin.Name"/>).</summary>
    public string Name => Plugin.Name;

    /// <summary>The plugins.json entry it came from.</summary>
    public PluginEntry Entry { get; }

    /// <summary>The plugin's entry object.</summary>
    public IPlugin Plugin { get; }

    /// <summary>The plugin's main assembly.</summary>
    public Assembly Assembly { get; }

    /// <summary>The load context holding the plugin and its private dependencies (never the default one).</summary>
    public AssemblyLoadContext LoadContext => Loader.LoadContext;

    /// <summary>Lower-case hex SHA-256 of the assembly file as loaded; copy it into <c>sha256</c> to pin the plugin.</summary>
    public string Sha256 { get; }

    /// <summary>What the plugin registered itself in <see cref="IPlugin.Register"/>.</summary>
    public IReadOnlyList<ServiceDescriptor> Registered { get; internal set; } = [];

    /// <summary>
    /// Extension implementations (<see cref="ISchedulerPolicy"/>, <see cref="IQuantizer"/>, <see cref="IGuidedDecoder"/>,
    /// <see cref="IRouter"/>) that the host registered by scanning the assembly, because the plugin did not.
    /// </summary>
    public IReadOnlyList<ServiceDescriptor> Scanned { get; internal set; } = [];

    /// <summary>True when the plugin registered a (non-keyed) <see cref="IBackendProvider"/>: it is a backend.</summary>
    public bool IsBackend
    {
        get
        {
            foreach (var d in Registered)
            {
                if (d.ServiceType == typeof(IBackendProvider) && !d.IsKeyedService) return true;
            }
            return false;
        }
    }

    /// <summary>Keeps the load context reachable for as long as the plugin is.</summary>
    internal PluginLoader Loader { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Entry.FullPath})";
}
