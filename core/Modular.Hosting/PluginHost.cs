using System.Reflection;
using System.Security.Cryptography;
using McMaster.NETCore.Plugins;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Modular.Abstractions;

namespace Modular.Hosting;

/// <summary>
/// Loads the plugins listed in plugins.json, each into its own <see cref="System.Runtime.Loader.AssemblyLoadContext"/>,
/// and lets them register their services.
/// </summary>
/// <remarks>
/// <para>
/// Only the contracts are shared with the host: Modular.Abstractions and the Microsoft.Extensions abstractions its
/// interfaces mention (DI, configuration, primitives). With <c>PreferSharedTypes</c> any assembly the host itself has
/// is taken from the host as well, so an <see cref="IServiceCollection"/> passed to a plugin is the host's type.
/// Everything else a plugin carries (its own packages, helper libraries) stays private to its context, so two
/// plugins may use different versions of the same library.
/// </para>
/// <para>
/// Loading is done in two passes: every enabled entry is first loaded and checked (file present, SHA-256 pin, exactly
/// one <see cref="IPlugin"/>, contract version, unique name), and only when all pass are the plugins' <c>Register</c>
/// methods called, so that a bad entry is reported before any plugin has touched the service collection.
/// </para>
/// <para>
/// After a plugin's <c>Register</c>, the host scans the plugin assembly with Scrutor for public non-abstract classes
/// implementing <see cref="ISchedulerPolicy"/>, <see cref="IQuantizer"/>, <see cref="IGuidedDecoder"/> or
/// <see cref="IRouter"/> and registers, as singletons under those contract interfaces only, the classes not already
/// registered as an implementation type or instance. Implementations a plugin registers through a factory cannot be
/// recognised, so such a plugin should register by type or instance (or keep the class non-public).
/// </para>
/// </remarks>
public static class PluginHost
{
    /// <summary>Types whose assemblies plugins share with the host.</summary>
    private static readonly Type[] SharedTypes =
    [
        typeof(IPlugin),
        typeof(IServiceCollection),
        typeof(IConfiguration),
        typeof(IChangeToken),
    ];

    /// <summary>Extension contracts the host registers by scanning when a plugin leaves them out.</summary>
    private static readonly Type[] ScannedContracts =
    [
        typeof(ISchedulerPolicy),
        typeof(IQuantizer),
        typeof(IGuidedDecoder),
        typeof(IRouter),
    ];

    /// <summary>
    /// Reads <paramref name="pluginsJsonPath"/>, loads every enabled plugin, checks it and calls its
    /// <see cref="IPlugin.Register"/> with its settings.
    /// </summary>
    /// <param name="pluginsJsonPath">plugins.json; relative plugin paths resolve against its folder.</param>
    /// <param name="services">Collection the plugins register into.</param>
    /// <param name="configuration">
    /// Application configuration. A plugin's configuration is its plugins.json <c>settings</c> object overlaid by the
    /// section <c>plugins:&lt;name&gt;</c> of this configuration (so command line and environment can override).
    /// </param>
    /// <returns>The loaded plugins, also registered in <paramref name="services"/> as a singleton.</returns>
    /// <exception cref="PluginLoadException">Any problem with plugins.json or a plugin; the message says which and what.</exception>
    public static LoadedPlugins Load(string pluginsJsonPath, IServiceCollection services, IConfiguration configuration)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pluginsJsonPath);
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var config = PluginsConfigReader.Read(pluginsJsonPath);
        var loaded = new List<LoadedPlugin>();
        foreach (var entry in config.Plugins)
        {
            if (!entry.Enabled) continue;
            var plugin = LoadOne(entry, config.SourcePath);
            var twin = loaded.Find(p => string.Equals(p.Name, plugin.Name, StringComparison.OrdinalIgnoreCase));
            if (twin is not null)
                throw Fail(entry, config.SourcePath, plugin.Name,
                    $"duplicate plugin name: {twin.Entry.JsonPath} ({twin.Entry.FullPath}) is also called \"{twin.Name}\"; plugin names must be unique");
            loaded.Add(plugin);
        }

        foreach (var plugin in loaded)
            Register(plugin, services, configuration, config.SourcePath);
        var result = new LoadedPlugins(config, loaded);
        // So that the engine can resolve it and call SelectBackend with the built provider.
        services.AddSingleton(result);
        return result;
    }

    private static LoadedPlugin LoadOne(PluginEntry entry, string source)
    {
        var name = entry.DisplayName;
        if (!File.Exists(entry.FullPath))
        {
            var resolved = Path.IsPathFullyQualified(entry.Path) ? "" : $" (\"{entry.Path}\" resolved against {Path.GetDirectoryName(source)})";
            throw Fail(entry, source, name, $"assembly file not found: {entry.FullPath}{resolved}; build the plugin first or fix {entry.JsonPath}.path");
        }

        // The pin is checked on the bytes on disk before anything is loaded from them.
        var actual = HashFile(entry, source, name);
        if (entry.Sha256 is { } expected && !string.Equals(expected, actual, StringComparison.OrdinalIgnoreCase))
            throw Fail(entry, source, name,
                $"SHA-256 mismatch for {entry.FullPath}: {entry.JsonPath}.sha256 expects {expected} but the file hashes to {actual}; the file was changed or the pin is stale");

        PluginLoader loader;
        Assembly assembly;
        try
        {
            loader = PluginLoader.CreateFromAssemblyFile(entry.FullPath, SharedTypes, c => c.PreferSharedTypes = true);
            assembly = loader.LoadDefaultAssembly();
        }
        catch (Exception e) when (e is BadImageFormatException or FileLoadException or FileNotFoundException or InvalidOperationException or IOException)
        {
            throw Fail(entry, source, name, $"cannot load {entry.FullPath} as a .NET assembly: {e.Message}", e);
        }

        var pluginType = FindPluginType(entry, source, assembly);
        IPlugin plugin;
        try
        {
            plugin = (IPlugin)Activator.CreateInstance(pluginType)!;
        }
        catch (MissingMethodException e)
        {
            throw Fail(entry, source, name, $"{pluginType.FullName} needs a public parameterless constructor", e);
        }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            throw Fail(entry, source, name, $"constructor of {pluginType.FullName} threw {e.InnerException.GetType().Name}: {e.InnerException.Message}", e.InnerException);
        }

        string pluginName;
        int contract;
        try
        {
            pluginName = plugin.Name;
            contract = plugin.ContractVersion;
        }
        catch (Exception e)
        {
            throw Fail(entry, source, name, $"{pluginType.FullName} threw {e.GetType().Name} when asked for Name/ContractVersion: {e.Message}", e);
        }

        if (string.IsNullOrWhiteSpace(pluginName) || pluginName.Contains(':'))
            throw Fail(entry, source, name, $"{pluginType.FullName}.Name is \"{pluginName}\", which is not a valid plugin name (non-empty, no ':')");
        if (entry.Name is { } configured && !string.Equals(configured, pluginName, StringComparison.OrdinalIgnoreCase))
            throw Fail(entry, source, configured, $"{entry.JsonPath}.name is \"{configured}\" but the assembly's plugin ({pluginType.FullName}) is called \"{pluginName}\"");
        if (contract != ContractVersion.Major)
            throw Fail(entry, source, pluginName,
                $"contract version mismatch: the plugin was built against Modular.Abstractions major version {contract}, this host provides {ContractVersion.Current} (major {ContractVersion.Major}); rebuild the plugin against this version");

        return new LoadedPlugin(entry, plugin, assembly, loader, actual);
    }

    private static Type FindPluginType(PluginEntry entry, string source, Assembly assembly)
    {
        Type[] exported;
        try
        {
            exported = assembly.GetExportedTypes();
        }
        catch (Exception e) when (e is ReflectionTypeLoadException or FileNotFoundException or FileLoadException or TypeLoadException)
        {
            throw Fail(entry, source, entry.DisplayName, $"cannot read the types of {entry.FullPath} (a dependency is missing from its folder?): {e.Message}", e);
        }

        var found = new List<Type>();
        var foreign = new List<Type>();
        foreach (var type in exported)
        {
            if (!type.IsClass || type.IsAbstract || type.IsGenericTypeDefinition) continue;
            if (typeof(IPlugin).IsAssignableFrom(type))
            {
                found.Add(type);
                continue;
            }
            foreach (var i in type.GetInterfaces())
            {
                if (i.FullName == typeof(IPlugin).FullName) foreign.Add(type);
            }
        }

        if (found.Count == 1) return found[0];
        if (found.Count > 1)
            throw Fail(entry, source, entry.DisplayName,
                $"{entry.FullPath} has {found.Count} IPlugin implementations ({string.Join(", ", found.Select(t => t.FullName))}); a plugin assembly must have exactly one");
        if (foreign.Count > 0)
            throw Fail(entry, source, entry.DisplayName,
                $"{foreign[0].FullName} implements a different copy of Modular.Abstractions.IPlugin (from {foreign[0].GetInterfaces().First(i => i.FullName == typeof(IPlugin).FullName).Assembly.Location}); reference Modular.Abstractions with Private=false ExcludeAssets=runtime so the host's copy is used");
        throw Fail(entry, source, entry.DisplayName,
            $"{entry.FullPath} has no public non-abstract class implementing Modular.Abstractions.IPlugin; is this the plugin's main assembly?");
    }

    private static void Register(LoadedPlugin plugin, IServiceCollection services, IConfiguration configuration, string source)
    {
        var pluginConfiguration = PluginConfiguration(plugin.Entry, plugin.Name, configuration, source);
        var before = services.Count;
        try
        {
            plugin.Plugin.Register(services, pluginConfiguration);
        }
        catch (Exception e)
        {
            throw Fail(plugin.Entry, source, plugin.Name, $"Register threw {e.GetType().Name}: {e.Message}", e);
        }
        plugin.Registered = Slice(services, before);

        var known = ImplementationTypes(services);
        before = services.Count;
        services.Scan(scan => scan
            .FromAssemblies(plugin.Assembly)
            .AddClasses(classes => classes.AssignableToAny(ScannedContracts).Where(t => !known.Contains(t)))
            .AsImplementedInterfaces(i => Array.IndexOf(ScannedContracts, i) >= 0)
            .WithSingletonLifetime());
        plugin.Scanned = Slice(services, before);
    }

    /// <summary>The plugin's settings object from plugins.json, overlaid by <c>plugins:&lt;name&gt;</c> of the app configuration.</summary>
    private static IConfiguration PluginConfiguration(PluginEntry entry, string name, IConfiguration configuration, string source)
    {
        var builder = new ConfigurationBuilder();
        if (entry.Settings is { } settings)
            builder.AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(settings.GetRawText())));
        builder.AddConfiguration(configuration.GetSection("plugins:" + name));
        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is FormatException or InvalidDataException)
        {
            throw Fail(entry, source, name, $"{entry.JsonPath}.settings cannot be turned into configuration: {e.Message}", e);
        }
    }

    private static HashSet<Type> ImplementationTypes(IServiceCollection services)
    {
        var types = new HashSet<Type>();
        foreach (var d in services)
        {
            var type = d.IsKeyedService
                ? d.KeyedImplementationType ?? d.KeyedImplementationInstance?.GetType()
                : d.ImplementationType ?? d.ImplementationInstance?.GetType();
            if (type is not null) types.Add(type);
        }
        return types;
    }

    private static ServiceDescriptor[] Slice(IServiceCollection services, int from)
    {
        var added = new ServiceDescriptor[services.Count - from];
        for (var i = 0; i < added.Length; i++) added[i] = services[from + i];
        return added;
    }

    private static string HashFile(PluginEntry entry, string source, string name)
    {
        try
        {
            using var stream = File.OpenRead(entry.FullPath);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fail(entry, source, name, $"cannot read {entry.FullPath}: {e.Message}", e);
        }
    }

    private static PluginLoadException Fail(PluginEntry entry, string source, string pluginName, string what, Exception? inner = null) =>
        new($"plugin \"{pluginName}\" ({entry.JsonPath} in {source}): {what}", pluginName, entry.FullPath, inner);
}
