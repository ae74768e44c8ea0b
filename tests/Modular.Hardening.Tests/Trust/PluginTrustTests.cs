using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Modular.Hardening.Tests.Fuzz;
using Modular.Hardening.Tests.Http;
using Modular.Hosting;

namespace Modular.Hardening.Tests.Trust;

/// <summary>plugins.json SHA-256 pins: a mismatch refuses to start, naming the file, before the assembly is loaded.</summary>
public sealed class PluginTrustTests
{
    private static string PluginsJson(FuzzFiles files, string sha) => files.WriteText("plugins.json", new JsonObject
    {
        ["backend"] = "faulty",
        ["plugins"] = new JsonArray(new JsonObject { ["name"] = "faulty", ["path"] = TestServer.FaultyPlugin, ["sha256"] = sha }),
    }.ToJsonString());

    [Fact]
    public void Sha256Mismatch_RefusesToStart_NamingTheFile()
    {
        using var files = new FuzzFiles();
        var wrong = new string('0', 64);
        var e = Assert.Throws<PluginLoadException>(() => PluginHost.Load(PluginsJson(files, wrong), new ServiceCollection(), new ConfigurationBuilder().Build()));
        Assert.Contains("SHA-256 mismatch", e.Message);
        Assert.Contains(TestServer.FaultyPlugin, e.Message);
        Assert.Contains(wrong, e.Message);
    }

    [Fact]
    public void Sha256Match_Loads()
    {
        using var files = new FuzzFiles();
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(TestServer.FaultyPlugin)));
        var loaded = PluginHost.Load(PluginsJson(files, sha.ToUpperInvariant()), new ServiceCollection(), new ConfigurationBuilder().Build());
        Assert.Single(loaded.Plugins);
    }

    [Fact]
    public void PluginFileChangedAfterPinning_Refused()
    {
        using var files = new FuzzFiles();
        var copy = Path.Combine(files.Root, "Modular.TestPlugins.FaultyBackend.dll");
        File.Copy(TestServer.FaultyPlugin, copy);
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(copy)));
        using (var f = File.OpenWrite(copy)) { f.Seek(0, SeekOrigin.End); f.WriteByte(0); } // one appended byte
        var json = files.WriteText("plugins.json", new JsonObject
        {
            ["backend"] = "faulty",
            ["plugins"] = new JsonArray(new JsonObject { ["path"] = copy, ["sha256"] = sha }),
        }.ToJsonString());
        var e = Assert.Throws<PluginLoadException>(() => PluginHost.Load(json, new ServiceCollection(), new ConfigurationBuilder().Build()));
        Assert.Contains("SHA-256 mismatch for " + copy, e.Message);
    }
}
