using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Hosting;

/// <summary>
/// What a command needs from the plugins: the chosen backend, quantizers by method, the guided decoder and
/// scheduling policies - resolved once from plugins.json. The single place the CLI and server turn plugins.json
/// into services.
/// </summary>
public sealed class PluginRuntime : IDisposable
{
    private readonly ServiceProvider _services;

    private PluginRuntime(LoadedPlugins plugins, ServiceProvider services, BackendSelection selection, IBackend backend)
    {
        Plugins = plugins;
        _services = services;
        Selection = selection;
        Backend = backend;
    }

    /// <summary>The loaded plugins.</summary>
    public LoadedPlugins Plugins { get; }
    /// <summary>Which backend was chosen and why.</summary>
    public BackendSelection Selection { get; }
    /// <summary>The opened backend.</summary>
    public IBackend Backend { get; }
    /// <summary>Services registered by the plugins.</summary>
    public IServiceProvider Services => _services;

    /// <summary>The quantizer for a <c>quant_method</c>, or null when no loaded plugin reads it.</summary>
    public IQuantizer? Quantizer(string method)
    {
        foreach (var q in _services.GetServices<IQuantizer>())
            if (string.Equals(q.Method, method, StringComparison.OrdinalIgnoreCase)) return q;
        return null;
    }

    /// <summary>The guided decoder, or null when no guided plugin is loaded.</summary>
    public IGuidedDecoder? GuidedDecoder => _services.GetService<IGuidedDecoder>();

    /// <summary>Scheduling policies from plugins (the engine has its own fcfs and priority).</summary>
    public IEnumerable<ISchedulerPolicy> SchedulerPolicies => _services.GetServices<ISchedulerPolicy>();

    /// <summary>Routers registered by plugins.</summary>
    public IEnumerable<IRouter> Routers => _services.GetServices<IRouter>();

    /// <summary>Loads plugins.json, picks the backend (<paramref name="backend"/> or the file's choice) and opens it.</summary>
    public static PluginRuntime Open(string pluginsJson, string? backend = null, BackendOptions? options = null,
        IConfiguration? configuration = null)
    {
        var (plugins, provider) = LoadServices(pluginsJson, configuration);
        try
        {
            var selection = backend is null ? plugins.SelectBackend(provider) : plugins.SelectBackend(backend, provider);
            IBackend device;
            try { device = selection.Provider.Create(options ?? new BackendOptions()); }
            catch (Exception e) when (e is not PluginLoadException)
            {
                throw new PluginLoadException($"backend \"{selection.Choice.Plugin.Name}\" failed to open its device: {e.Message}",
                    pluginName: selection.Choice.Plugin.Name, path: selection.Choice.Plugin.Entry.FullPath);
            }
            return new PluginRuntime(plugins, provider, selection, device);
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads plugins.json into a container of its own (a web host's services are none of the plugins' business) and
    /// builds it; no backend is chosen. The caller owns the provider.
    /// </summary>
    public static (LoadedPlugins Plugins, ServiceProvider Services) LoadServices(string pluginsJson, IConfiguration? configuration = null)
    {
        var collection = new ServiceCollection();
        var plugins = PluginHost.Load(pluginsJson, collection, configuration ?? new ConfigurationBuilder().Build());
        return (plugins, collection.BuildServiceProvider());
    }

    /// <summary>
    /// plugins.json to use when none is given: $MODULAR_PLUGINS, ./plugins.json, or the first plugins.json in a
    /// folder above the running program (the repository root when run from a build).
    /// </summary>
    public static string DefaultPluginsJson()
    {
        var env = Environment.GetEnvironmentVariable("MODULAR_PLUGINS");
        if (!string.IsNullOrEmpty(env)) return env;
        var local = Path.GetFullPath("plugins.json");
        if (File.Exists(local)) return local;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var p = Path.Combine(dir.FullName, "plugins.json");
            if (File.Exists(p)) return p;
        }
        throw new PluginLoadException("no plugins.json found (looked at $MODULAR_PLUGINS, ./plugins.json and the folders above the program); pass --plugins");
    }

    /// <summary>Disposes the backend and the plugins' services.</summary>
    public void Dispose()
    {
        Backend.Dispose();
        _services.Dispose();
    }
}
