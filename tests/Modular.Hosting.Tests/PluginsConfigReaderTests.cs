using System.Text;

namespace Modular.Hosting.Tests;

public sealed class PluginsConfigReaderTests
{
    private const string Source = "/etc/modular/plugins.json";

    private static PluginsConfig Parse(string json) => PluginsConfigReader.Parse(Encoding.UTF8.GetBytes(json), Source);

    private static PluginLoadException ParseFails(string json) => Assert.Throws<PluginLoadException>(() => Parse(json));

    [Fact]
    public void ReadsEveryFieldAndResolvesRelativePathsAgainstTheFileFolder()
    {
        var config = Parse("""
            {
              // comments and trailing commas are allowed
              "backend": "cpu",
              "plugins": [
                { "name": "cpu", "path": "artifacts/plugins/cpu/Modular.Backends.Cpu.dll",
                  "sha256": "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789",
                  "enabled": false, "settings": { "threads": 4, "nested": { "a": [1, 2] } } },
                { "path": "/opt/plugins/quant.dll" },
              ]
            }
            """);

        Assert.Equal(Source, config.SourcePath);
        Assert.Equal("cpu", config.Backend);
        Assert.Equal(2, config.Plugins.Count);
        var cpu = config.Plugins[0];
        Assert.Equal("cpu", cpu.Name);
        Assert.Equal("/etc/modular/artifacts/plugins/cpu/Modular.Backends.Cpu.dll", cpu.FullPath);
        Assert.Equal("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", cpu.Sha256);
        Assert.False(cpu.Enabled);
        Assert.Equal(4, cpu.Settings!.Value.GetProperty("threads").GetInt32());
        var quant = config.Plugins[1];
        Assert.Null(quant.Name);
        Assert.Equal("/opt/plugins/quant.dll", quant.FullPath);
        Assert.True(quant.Enabled);
        Assert.Null(quant.Sha256);
        Assert.Null(quant.Settings);
        Assert.Equal("$.plugins[1]", quant.JsonPath);
    }

    [Fact]
    public void EmptyObjectMeansAutoWithNoPlugins()
    {
        var config = Parse("{}");
        Assert.Equal("auto", config.Backend);
        Assert.Empty(config.Plugins);
    }

    [Theory]
    [InlineData("""{ "plugins": [ { "path": "a.dll" }, { "path": "b.dll" "name": "x" } ] }""", "$.plugins[1].path")]
    [InlineData("""{ "plugins": [ { "path": "a.dll" }, { "path": "b.dll", "settings": { "k": tru } } ] }""", "$.plugins[1].settings.k")]
    [InlineData("""{ "backend": "auto", "plugins": [ """, "$.plugins")]
    [InlineData("""{ "backend": "auto" } }""", "$")]
    public void MalformedJsonNamesFileAndJsonPath(string json, string path)
    {
        var e = ParseFails(json);
        Assert.Contains(Source, e.Message);
        Assert.Contains($"malformed JSON at {path} (line", e.Message);
        Assert.DoesNotContain("LineNumber:", e.Message); // only our 1-based location, not System.Text.Json's 0-based one
        Assert.Equal(Source, e.FilePath);
    }

    [Theory]
    [InlineData("""[ 1 ]""", "$ expected an object")]
    [InlineData("""{ "backend": 3 }""", "$.backend expected a string, found the number 3")]
    [InlineData("""{ "backend": "" }""", "$.backend must be")]
    [InlineData("""{ "plugins": { } }""", "$.plugins expected an array")]
    [InlineData("""{ "plugins": [ "a.dll" ] }""", "$.plugins[0] expected a plugin object")]
    [InlineData("""{ "plugins": [ { "path": "a.dll" }, { "path": 5 } ] }""", "$.plugins[1].path expected a string, found the number 5")]
    [InlineData("""{ "plugins": [ { "name": "a" } ] }""", "$.plugins[0].path is required")]
    [InlineData("""{ "plugins": [ { "path": " " } ] }""", "$.plugins[0].path must be a non-empty path")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "enabled": "yes" } ] }""", "$.plugins[0].enabled expected true or false, found the string \"yes\"")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "sha256": "abc" } ] }""", "$.plugins[0].sha256 expected 64 hex digits")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "sha256": "zz00000000000000000000000000000000000000000000000000000000000000" } ] }""", "$.plugins[0].sha256 expected 64 hex digits")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "settings": [ 1 ] } ] }""", "$.plugins[0].settings expected an object, found an array")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "name": "a:b" } ] }""", "$.plugins[0].name \"a:b\" is not a valid plugin name")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "setings": { } } ] }""", "$.plugins[0].setings unknown property; allowed here: name, path, sha256, enabled, settings")]
    [InlineData("""{ "backends": "cpu" }""", "$.backends unknown property")]
    [InlineData("""{ "plugins": [ { "path": "a.dll", "name": "cpu" }, { "path": "b.dll", "name": "CPU" } ] }""", "$.plugins[1].name duplicate plugin name \"CPU\" (already used by $.plugins[0])")]
    public void WrongShapesNameFileJsonPathAndProblem(string json, string expected)
    {
        var e = ParseFails(json);
        Assert.StartsWith(Source + ": ", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void MissingFileIsNamed()
    {
        var path = Path.Combine(Path.GetTempPath(), "modular-no-such-dir", "plugins.json");
        var e = Assert.Throws<PluginLoadException>(() => PluginsConfigReader.Read(path));
        Assert.Contains("plugins.json not found: " + path, e.Message);
    }
}
