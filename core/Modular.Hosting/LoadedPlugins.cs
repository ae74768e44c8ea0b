using System.Globalization;
using System.Runtime.Loader;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Hosting;

/// <summary>
/// The plugins <see cref="PluginHost.Load"/> loaded, in plugins.json order, and the backend choice among them.
/// </summary>
public sealed class LoadedPlugins
{
    private readonly List<LoadedPlugin> _plugins;

    internal LoadedPlugins(PluginsConfig config, List<LoadedPlugin> plugins)
    {
        Config = config;
        _plugins = plugins;
    }

    /// <summary>The plugins.json these came from (its <see cref="PluginsConfig.Backend"/> is the configured choice).</summary>
    public PluginsConfig Config { get; }

    /// <summary>Loaded (enabled) plugins in file order.</summary>
    public IReadOnlyList<LoadedPlugin> Plugins => _plugins;

    /// <summary>Plugins that registered an <see cref="IBackendProvider"/>, in file order.</summary>
    public IReadOnlyList<LoadedPlugin> Backends => _plugins.FindAll(p => p.IsBackend);

    /// <summary>The loaded plugin called <paramref name="name"/> (case-insensitive), or null.</summary>
    public LoadedPlugin? Find(string name) =>
        _plugins.Find(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Chooses the backend plugin: by name, or for "auto" the backend whose <see cref="IPlugin.Probe"/> is highest
    /// and non-zero (ties go to the one listed first in plugins.json).
    /// </summary>
    /// <exception cref="PluginLoadException">
    /// Unknown name (the message lists the available backends), a plugin that is not a backend, or "auto" with no
    /// backend scoring above zero (the message lists each probe's detail).
    /// </exception>
    public BackendChoice ChooseBackend(string nameOrAuto)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrAuto);
        var backends = Backends;
        if (string.Equals(nameOrAuto, PluginsConfig.AutoBackend, StringComparison.OrdinalIgnoreCase))
            return ChooseAuto(backends);

        var plugin = Find(nameOrAuto);
        if (plugin is null)
            throw new PluginLoadException(
                $"unknown backend \"{nameOrAuto}\": no plugin of that name is loaded from {Config.SourcePath}; available backends: {NameList(backends)}",
                pluginName: nameOrAuto, path: Config.SourcePath);
        if (!plugin.IsBackend)
            throw new PluginLoadException(
                $"plugin \"{plugin.Name}\" ({plugin.Entry.FullPath}) is not a backend: it registered no IBackendProvider; available backends: {NameList(backends)}",
                pluginName: plugin.Name, path: plugin.Entry.FullPath);

        var probe = RunProbe(plugin);
        var reason = probe.Score > 0
            ? $"backend \"{plugin.Name}\" chosen by name; probe {probe.Score.ToString("0.###", CultureInfo.InvariantCulture)}: {probe.Detail}"
            : $"backend \"{plugin.Name}\" chosen by name although its probe reports 0 (it may fail to open the device): {probe.Detail}";
        return new BackendChoice(plugin, reason, [probe]);
    }

    /// <summary>
    /// Chooses the backend (see <see cref="ChooseBackend"/>) and resolves the <see cref="IBackendProvider"/> the chosen
    /// plugin registered from <paramref name="services"/>, the provider built from the collection passed to
    /// <see cref="PluginHost.Load"/>.
    /// </summary>
    public BackendSelection SelectBackend(string nameOrAuto, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var choice = ChooseBackend(nameOrAuto);
        var provider = ResolveProvider(choice.Plugin, services);
        return new BackendSelection(choice, provider);
    }

    /// <summary>Selects the backend named by plugins.json's <c>backend</c> field.</summary>
    public BackendSelection SelectBackend(IServiceProvider services) => SelectBackend(Config.Backend, services);

    private BackendChoice ChooseAuto(IReadOnlyList<LoadedPlugin> backends)
    {
        if (backends.Count == 0)
            throw new PluginLoadException(
                $"backend \"auto\": no backend plugin is loaded from {Config.SourcePath} (a backend registers an IBackendProvider); loaded plugins: {NameList(_plugins)}",
                path: Config.SourcePath);

        var probes = new List<ProbeResult>(backends.Count);
        var best = -1;
        for (var i = 0; i < backends.Count; i++)
        {
            probes.Add(RunProbe(backends[i]));
            if (probes[i].Score > 0 && (best < 0 || probes[i].Score > probes[best].Score)) best = i;
        }

        if (best < 0)
            throw new PluginLoadException(
                $"backend \"auto\": no backend can run on this machine (every probe returned 0): {string.Join("; ", probes)}",
                path: Config.SourcePath);

        var reason = new StringBuilder();
        reason.Append(CultureInfo.InvariantCulture, $"backend \"{backends[best].Name}\" chosen by auto: highest probe {probes[best]}");
        if (probes.Count > 1)
        {
            reason.Append("; others: ");
            var first = true;
            for (var i = 0; i < probes.Count; i++)
            {
                if (i == best) continue;
                if (!first) reason.Append("; ");
                reason.Append(probes[i]);
                first = false;
            }
        }
        return new BackendChoice(backends[best], reason.ToString(), probes);
    }

    /// <summary>Probes are documented not to throw; one that does counts as "cannot run here" rather than crashing.</summary>
    private static ProbeResult RunProbe(LoadedPlugin plugin)
    {
        double score;
        try
        {
            score = plugin.Plugin.Probe();
        }
        catch (Exception e)
        {
            return new ProbeResult(plugin.Name, 0, $"Probe() threw {e.GetType().Name}: {e.Message}");
        }
        string detail;
        try
        {
            detail = plugin.Plugin.ProbeDetail;
        }
        catch (Exception e)
        {
            detail = $"ProbeDetail threw {e.GetType().Name}: {e.Message}";
        }
        if (!double.IsFinite(score) || score < 0)
            return new ProbeResult(plugin.Name, 0, $"invalid probe score {score.ToString(CultureInfo.InvariantCulture)}; {detail}");
        return new ProbeResult(plugin.Name, score, detail);
    }

    /// <summary>
    /// Finds the provider that came from the plugin's load context, so that a provider type defined in one of the
    /// plugin's private dependencies is attributed correctly too.
    /// </summary>
    private static IBackendProvider ResolveProvider(LoadedPlugin plugin, IServiceProvider services)
    {
        IBackendProvider? found = null;
        foreach (var provider in services.GetServices<IBackendProvider>())
        {
            if (AssemblyLoadContext.GetLoadContext(provider.GetType().Assembly) != plugin.LoadContext) continue;
            if (found is not null)
                throw new PluginLoadException(
                    $"plugin \"{plugin.Name}\" ({plugin.Entry.FullPath}) registered more than one IBackendProvider ({found.GetType().FullName}, {provider.GetType().FullName}); a backend plugin registers exactly one",
                    pluginName: plugin.Name, path: plugin.Entry.FullPath);
            found = provider;
        }
        return found ?? throw new PluginLoadException(
            $"plugin \"{plugin.Name}\" ({plugin.Entry.FullPath}) registered an IBackendProvider, but the service provider returned none from its assembly; build the provider from the IServiceCollection given to PluginHost.Load",
            pluginName: plugin.Name, path: plugin.Entry.FullPath);
    }

    private static string NameList(IReadOnlyList<LoadedPlugin> plugins)
    {
        if (plugins.Count == 0) return "(none)";
        var names = new string[plugins.Count];
        for (var i = 0; i < names.Length; i++) names[i] = plugins[i].Name;
        return string.Join(", ", names);
    }
}
