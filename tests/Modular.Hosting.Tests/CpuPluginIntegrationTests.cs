using System.Runtime.Loader;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Testing;

namespace Modular.Hosting.Tests;

/// <summary>The product's CPU backend plugin, when it has been built into artifacts/plugins/cpu, loads through the host.</summary>
public sealed class CpuPluginIntegrationTests : IDisposable
{
    private readonly TestPlugins _env = new();

    public void Dispose() => _env.Dispose();

    [Fact]
    public void BuiltCpuPluginLoadsIsolatedAndWinsAutoOverAZeroProbe()
    {
        var cpu = Path.Combine(Fixtures.RepoRoot, "artifacts", "plugins", "cpu", "Modular.Backends.Cpu.dll");
        Assert.SkipUnless(File.Exists(cpu), $"CPU plugin not built ({cpu}); build backends/cpu to run this test");
        var services = new ServiceCollection();
        var json = _env.Write("auto",
            TestPlugins.Entry(cpu, "\"name\": \"cpu\""),
            TestPlugins.Entry(TestPlugins.Dll("Beta"), "\"settings\": { \"score\": 0 }"));

        var loaded = PluginHost.Load(json, services, new ConfigurationBuilder().Build());
        using var provider = services.BuildServiceProvider();
        var selection = provider.GetRequiredService<LoadedPlugins>().SelectBackend(provider);

        Assert.Equal("cpu", selection.Choice.Plugin.Name);
        Assert.Equal("cpu", selection.Provider.Name);
        Assert.NotSame(AssemblyLoadContext.Default, AssemblyLoadContext.GetLoadContext(selection.Provider.GetType().Assembly));
        Assert.Same(loaded, provider.GetRequiredService<LoadedPlugins>());
        Assert.StartsWith("backend \"cpu\" chosen by auto", selection.Reason);
    }
}
