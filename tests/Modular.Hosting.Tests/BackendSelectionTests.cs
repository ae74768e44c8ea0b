using System.Runtime.Loader;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Modular.Hosting.Tests;

public sealed class BackendSelectionTests : IDisposable
{
    private readonly TestPlugins _env = new();
    private readonly ServiceCollection _services = new();

    public void Dispose() => _env.Dispose();

    private static string Scored(string project, string settings) =>
        TestPlugins.Entry(TestPlugins.Dll(project), $"\"settings\": {{ {settings} }}");

    private LoadedPlugins Load(string backend, params string[] entries) =>
        PluginHost.Load(_env.Write(backend, entries), _services, new ConfigurationBuilder().Build());

    [Theory]
    [InlineData(1.0, 3.0, "beta")]
    [InlineData(5.0, 3.0, "alpha")]
    [InlineData(0.0, 0.5, "beta")]
    [InlineData(2.0, 2.0, "alpha")] // a tie goes to the plugin listed first
    public void AutoPicksTheHighestNonZeroProbe(double alphaScore, double betaScore, string expected)
    {
        var loaded = Load("auto", Scored("Alpha", $"\"score\": {alphaScore}"), Scored("Beta", $"\"score\": {betaScore}"));
        using var provider = _services.BuildServiceProvider();

        var selection = loaded.SelectBackend(provider); // plugins.json says "auto"

        Assert.Equal(expected, selection.Choice.Plugin.Name);
        Assert.Equal(expected, selection.Provider.Name);
        Assert.Same(selection.Choice.Plugin.LoadContext, AssemblyLoadContext.GetLoadContext(selection.Provider.GetType().Assembly));
        Assert.StartsWith($"backend \"{expected}\" chosen by auto: highest probe {expected}: ", selection.Reason);
        var other = expected == "alpha" ? "beta" : "alpha";
        Assert.Contains($"others: {other}: ", selection.Reason);
        Assert.Equal(2, selection.Choice.Probes.Count);
    }

    [Fact]
    public void AutoWithNoProbeAboveZeroListsEveryProbeDetail()
    {
        var loaded = Load("auto", Scored("Alpha", "\"score\": 0"), Scored("Beta", "\"score\": 0"));
        var e = Assert.Throws<PluginLoadException>(() => loaded.ChooseBackend("auto"));
        Assert.Contains("backend \"auto\": no backend can run on this machine", e.Message);
        Assert.Contains("alpha: 0 (alpha: score 0 from settings)", e.Message);
        Assert.Contains("beta: 0 (beta: score 0 from settings)", e.Message);
    }

    [Fact]
    public void ProbeThatThrowsCountsAsZero()
    {
        var loaded = Load("auto", Scored("Alpha", "\"score\": 9, \"probeThrows\": true"), Scored("Beta", "\"score\": 1"));
        var choice = loaded.ChooseBackend("auto");
        Assert.Equal("beta", choice.Plugin.Name);
        Assert.Contains("alpha: 0 (Probe() threw InvalidOperationException: alpha probe exploded)", choice.Reason);
    }

    [Fact]
    public void ByNameIgnoresProbeScores()
    {
        var loaded = Load("auto", Scored("Alpha", "\"score\": 1"), Scored("Beta", "\"score\": 8"));
        using var provider = _services.BuildServiceProvider();
        var selection = loaded.SelectBackend("Alpha", provider);
        Assert.Equal("alpha", selection.Provider.Name);
        Assert.Equal("backend \"alpha\" chosen by name; probe 1: alpha: score 1 from settings", selection.Reason);
    }

    [Fact]
    public void ByNameWithZeroProbeWarnsInTheReason()
    {
        var loaded = Load("auto", Scored("Alpha", "\"score\": 0"));
        Assert.Contains("although its probe reports 0", loaded.ChooseBackend("alpha").Reason);
    }

    [Fact]
    public void UnknownBackendListsTheAvailableOnes()
    {
        var loaded = Load("auto", TestPlugins.Entry(TestPlugins.Dll("Alpha")), TestPlugins.Entry(TestPlugins.Dll("Beta")));
        var e = Assert.Throws<PluginLoadException>(() => loaded.ChooseBackend("rocm"));
        Assert.Contains("unknown backend \"rocm\"", e.Message);
        Assert.Contains("available backends: alpha, beta", e.Message);
    }

    [Fact]
    public void PluginThatRegistersNoProviderIsNotABackend()
    {
        var loaded = Load("auto", TestPlugins.Entry(TestPlugins.Dll("AlphaTwin")), TestPlugins.Entry(TestPlugins.Dll("Beta")));
        Assert.Equal(["beta"], loaded.Backends.Select(p => p.Name));
        var e = Assert.Throws<PluginLoadException>(() => loaded.ChooseBackend("alpha"));
        Assert.Contains("plugin \"alpha\"", e.Message);
        Assert.Contains("is not a backend", e.Message);
        Assert.Contains("available backends: beta", e.Message);
    }

    [Fact]
    public void AutoWithoutAnyBackendSaysSo()
    {
        var loaded = Load("auto", TestPlugins.Entry(TestPlugins.Dll("AlphaTwin")));
        var e = Assert.Throws<PluginLoadException>(() => loaded.ChooseBackend("auto"));
        Assert.Contains("no backend plugin is loaded", e.Message);
        Assert.Contains("loaded plugins: alpha", e.Message);
    }
}
