using System.Runtime.Loader;
using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Abstractions;

namespace Modular.Hosting.Tests;

public sealed class PluginHostLoadTests : IDisposable
{
    private readonly TestPlugins _env = new();
    private readonly ServiceCollection _services = new();

    public void Dispose() => _env.Dispose();

    private LoadedPlugins Load(string pluginsJson, IConfiguration? configuration = null) =>
        PluginHost.Load(pluginsJson, _services, configuration ?? new ConfigurationBuilder().Build());

    private PluginLoadException LoadFails(string pluginsJson) =>
        Assert.Throws<PluginLoadException>(() => Load(pluginsJson));

    private static string Sha256Of(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void LoadsBackendPluginsInFileOrderAndRegistersTheirProviders()
    {
        var json = _env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha")), TestPlugins.Entry(TestPlugins.Dll("Beta"), "\"name\": \"beta\""));

        var loaded = Load(json);

        Assert.Equal(["alpha", "beta"], loaded.Plugins.Select(p => p.Name));
        Assert.All(loaded.Plugins, p => Assert.True(p.IsBackend));
        Assert.Equal(Sha256Of(TestPlugins.Dll("Alpha")), loaded.Plugins[0].Sha256);
        using var provider = _services.BuildServiceProvider();
        Assert.Equal(["alpha", "beta"], provider.GetServices<IBackendProvider>().Select(p => p.Name));
    }

    [Fact]
    public void EachPluginAndItsPrivateDependencyLiveInTheirOwnLoadContext()
    {
        var loaded = Load(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha")), TestPlugins.Entry(TestPlugins.Dll("Beta"))));
        var alpha = loaded.Plugins[0];
        var beta = loaded.Plugins[1];

        Assert.NotSame(AssemblyLoadContext.Default, alpha.LoadContext);
        Assert.NotSame(alpha.LoadContext, beta.LoadContext);
        Assert.Same(alpha.LoadContext, AssemblyLoadContext.GetLoadContext(alpha.Assembly));

        // The base class lives in Modular.TestPlugins.Common, which both plugins carry privately: two copies.
        var alphaCommon = alpha.Plugin.GetType().BaseType!.Assembly;
        var betaCommon = beta.Plugin.GetType().BaseType!.Assembly;
        Assert.Equal("Modular.TestPlugins.Common", alphaCommon.GetName().Name);
        Assert.Same(alpha.LoadContext, AssemblyLoadContext.GetLoadContext(alphaCommon));
        Assert.Same(beta.LoadContext, AssemblyLoadContext.GetLoadContext(betaCommon));
        Assert.NotSame(alphaCommon, betaCommon);
        Assert.DoesNotContain(AssemblyLoadContext.Default.Assemblies, a => a.GetName().Name == "Modular.TestPlugins.Common");

        // The contracts are the host's: the plugin's IPlugin and IServiceCollection come from the default context.
        var register = alpha.Plugin.GetType().GetMethod(nameof(IPlugin.Register))!;
        Assert.Same(typeof(IServiceCollection), register.GetParameters()[0].ParameterType);
        Assert.Same(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(alpha.Plugin.GetType().GetInterface(nameof(IPlugin))!.Assembly));
    }

    [Fact]
    public void ScanRegistersOnlyPublicConcreteExtensionsThePluginLeftOut()
    {
        var loaded = Load(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha"))));
        var alpha = loaded.Plugins[0];

        // AlphaFifoPolicy is public and unregistered; PolicyBase is abstract; HiddenPolicy is internal;
        // AlphaRouter was registered by the plugin itself and must not appear twice.
        var scanned = Assert.Single(alpha.Scanned);
        Assert.Equal(typeof(ISchedulerPolicy), scanned.ServiceType);
        Assert.Equal("AlphaFifoPolicy", scanned.ImplementationType!.Name);
        Assert.Equal(ServiceLifetime.Singleton, scanned.Lifetime);
        Assert.Contains(alpha.Registered, d => d.ServiceType == typeof(IRouter));

        using var provider = _services.BuildServiceProvider();
        Assert.Equal(["alpha-fifo"], provider.GetServices<ISchedulerPolicy>().Select(p => p.Name));
        Assert.Single(provider.GetServices<IRouter>());
    }

    [Fact]
    public void SettingsReachThePluginAndAppConfigurationOverridesThem()
    {
        var json = _env.Write("auto",
            TestPlugins.Entry(TestPlugins.Dll("Alpha"), "\"settings\": { \"score\": 2.5 }"),
            TestPlugins.Entry(TestPlugins.Dll("Beta"), "\"settings\": { \"score\": 2.5 }"));
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["plugins:beta:score"] = "7" })
            .Build();

        var loaded = Load(json, configuration);

        Assert.Equal(2.5, loaded.Find("alpha")!.Plugin.Probe());
        Assert.Equal(7, loaded.Find("beta")!.Plugin.Probe());
        Assert.Equal("beta: score 7 from settings", loaded.Find("BETA")!.Plugin.ProbeDetail);
    }

    [Fact]
    public void RelativePathsResolveAgainstThePluginsJsonFolder()
    {
        var copied = _env.CopyPlugin("Alpha", Path.Combine("plugins", "alpha"));
        var json = _env.Write("auto", TestPlugins.Entry("plugins/alpha/Modular.TestPlugins.Alpha.dll"));

        var loaded = Load(json);

        Assert.Equal(copied, loaded.Plugins[0].Entry.FullPath);
        Assert.Equal(copied, loaded.Plugins[0].Assembly.Location);
    }

    [Fact]
    public void DisabledEntriesAreSkippedEvenWhenTheirFileIsMissing()
    {
        var json = _env.Write("auto",
            TestPlugins.Entry(Path.Combine(_env.Dir, "gone.dll"), "\"enabled\": false"),
            TestPlugins.Entry(TestPlugins.Dll("Beta")));
        Assert.Equal(["beta"], Load(json).Plugins.Select(p => p.Name));
    }

    [Fact]
    public void MissingFileNamesPluginAndResolvedPath()
    {
        var json = _env.Write("auto", TestPlugins.Entry("nowhere/gamma.dll", "\"name\": \"gamma\""));
        var e = LoadFails(json);
        Assert.Contains("plugin \"gamma\" ($.plugins[0] in " + json + ")", e.Message);
        Assert.Contains("assembly file not found: " + Path.Combine(_env.Dir, "nowhere", "gamma.dll"), e.Message);
        Assert.Contains("resolved against " + _env.Dir, e.Message);
        Assert.Equal("gamma", e.PluginName);
    }

    [Fact]
    public void AssemblyWithoutIPluginIsRefused()
    {
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("NoEntry"))));
        Assert.Contains("plugin \"Modular.TestPlugins.NoEntry\"", e.Message);
        Assert.Contains("has no public non-abstract class implementing Modular.Abstractions.IPlugin", e.Message);
    }

    [Fact]
    public void AssemblyWithTwoIPluginsIsRefusedNamingBoth()
    {
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("TwoEntries"))));
        Assert.Contains("has 2 IPlugin implementations", e.Message);
        Assert.Contains("Modular.TestPlugins.TwoEntries.FirstPlugin", e.Message);
        Assert.Contains("Modular.TestPlugins.TwoEntries.SecondPlugin", e.Message);
    }

    [Fact]
    public void ContractVersionMismatchNamesBothVersionsAndRegistersNothing()
    {
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha")), TestPlugins.Entry(TestPlugins.Dll("ContractV99"))));
        Assert.Contains("plugin \"future\" ($.plugins[1]", e.Message);
        Assert.Contains("major version 99", e.Message);
        Assert.Contains($"this host provides {ContractVersion.Current} (major {ContractVersion.Major})", e.Message);
        Assert.Empty(_services); // checks run before any plugin registers
    }

    [Fact]
    public void DuplicatePluginNamesAreRefusedNamingBothFiles()
    {
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha")), TestPlugins.Entry(TestPlugins.Dll("AlphaTwin"))));
        Assert.Contains("plugin \"alpha\" ($.plugins[1]", e.Message);
        Assert.Contains("duplicate plugin name", e.Message);
        Assert.Contains(TestPlugins.Dll("Alpha"), e.Message);
        Assert.Empty(_services);
    }

    [Fact]
    public void ConfiguredNameMustMatchThePluginsOwnName()
    {
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha"), "\"name\": \"gamma\"")));
        Assert.Contains("$.plugins[0].name is \"gamma\" but the assembly's plugin (Modular.TestPlugins.Alpha.AlphaPlugin) is called \"alpha\"", e.Message);
    }

    [Fact]
    public void MatchingSha256PinLoads()
    {
        var dll = TestPlugins.Dll("Beta");
        var pin = Sha256Of(dll).ToUpperInvariant(); // pins compare case-insensitively
        var loaded = Load(_env.Write("auto", TestPlugins.Entry(dll, $"\"sha256\": \"{pin}\"")));
        Assert.Equal(pin.ToLowerInvariant(), loaded.Plugins[0].Sha256);
    }

    [Fact]
    public void Sha256MismatchIsRefusedBeforeTheAssemblyIsLoaded()
    {
        var copy = _env.CopyPlugin("Beta", "pinned");
        var wrong = new string('0', 64);
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(copy, $"\"sha256\": \"{wrong}\"")));

        Assert.Contains("SHA-256 mismatch for " + copy, e.Message);
        Assert.Contains("expects " + wrong, e.Message);
        Assert.Contains("the file hashes to " + Sha256Of(copy), e.Message);
        Assert.DoesNotContain(AssemblyLoadContext.All.SelectMany(c => c.Assemblies), a => a.Location == copy);
    }

    [Fact]
    public void NonAssemblyFileIsRefusedClearly()
    {
        var fake = Path.Combine(_env.Dir, "fake.dll");
        File.WriteAllText(fake, "not a PE file");
        var e = LoadFails(_env.Write("auto", TestPlugins.Entry(fake)));
        Assert.Contains("plugin \"fake\"", e.Message);
        Assert.Contains("cannot load " + fake + " as a .NET assembly", e.Message);
    }
}
