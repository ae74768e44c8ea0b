using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Hosting;
using IRouter = Modular.Abstractions.IRouter;

namespace Modular.Server.Routing;

/// <summary>The one router plugins.json provides, with the plugin it came from; disposing frees the plugins' services.</summary>
public sealed class LoadedRouter : IDisposable
{
    private readonly ServiceProvider _services;

    private LoadedRouter(IRouter router, LoadedPlugin plugin, LoadedPlugins plugins, ServiceProvider services)
    {
        Router = router;
        Plugin = plugin;
        Plugins = plugins;
        _services = services;
    }

    /// <summary>The router.</summary>
    public IRouter Router { get; }
    /// <summary>The plugin that registered it (its plugins.json entry holds the settings).</summary>
    public LoadedPlugin Plugin { get; }
    /// <summary>Everything plugins.json loaded.</summary>
    public LoadedPlugins Plugins { get; }

    /// <summary>Loads plugins.json (no backend is chosen or opened) and finds its single <see cref="IRouter"/>.</summary>
    /// <exception cref="PluginLoadException">plugins.json or a plugin is wrong.</exception>
    /// <exception cref="InvalidOperationException">No router or several.</exception>
    public static LoadedRouter Load(string pluginsJson, IConfiguration? configuration = null)
    {
        var (plugins, services) = PluginRuntime.LoadServices(pluginsJson, configuration);
        try
        {
            var routers = services.GetServices<IRouter>().ToList();
            string source = plugins.Config.SourcePath;
            if (routers.Count == 0)
                throw new InvalidOperationException($"{source}: no plugin registered an IRouter; add the router plugin (artifacts/plugins/router/Modular.Plugins.Router.dll) with its settings");
            if (routers.Count > 1)
                throw new InvalidOperationException($"{source}: {routers.Count} routers are registered ({string.Join(", ", routers.Select(r => r.GetType().FullName))}); exactly one is used");
            var context = System.Runtime.Loader.AssemblyLoadContext.GetLoadContext(routers[0].GetType().Assembly);
            foreach (var p in plugins.Plugins)
                if (p.LoadContext == context) return new LoadedRouter(routers[0], p, plugins, services);
            throw new InvalidOperationException($"{source}: the router {routers[0].GetType().FullName} does not come from a loaded plugin");
        }
        catch
        {
            services.Dispose();
            throw;
        }
    }

    /// <summary>Frees the plugins' services.</summary>
    public void Dispose() => _services.Dispose();
}
