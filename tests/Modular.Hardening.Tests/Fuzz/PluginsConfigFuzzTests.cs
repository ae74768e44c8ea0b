using System.Text;
using CsCheck;
using Modular.Hosting;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>plugins.json parsing: any text is either a config or a <see cref="PluginLoadException"/> naming the file.</summary>
public sealed class PluginsConfigFuzzTests
{
    private const string Valid = """
        {
          // comment
          "backend": "cpu",
          "plugins": [
            { "name": "cpu", "path": "artifacts/plugins/cpu/Modular.Backends.Cpu.dll", "sha256": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff" },
            { "path": "x/guided.dll", "enabled": false, "settings": { "a": 1, "b": { "c": [1, 2] } } },
          ]
        }
        """;

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ",", ":", "\"backend\"", "\"plugins\"", "\"name\"", "\"path\"", "\"sha256\"", "\"enabled\"", "\"settings\"",
        "\"auto\"", "\"cpu\"", "\"\"", "\"../../etc/passwd\"", "\"C:\\\\x.dll\"", "true", "false", "null", "1", "-1e999", "\"zz\"",
        "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"", "/* c */", "// c\n", "\"a:b\"", "\"\\u0000\"",
    ];

    private static void Parse(byte[] utf8)
    {
        try
        {
            var config = PluginsConfigReader.Parse(utf8, "/fuzz/plugins.json");
            Assert.NotNull(config.Backend);
            foreach (var p in config.Plugins) Assert.False(string.IsNullOrEmpty(p.FullPath));
        }
        catch (PluginLoadException e)
        {
            Assert.Contains("/fuzz/plugins.json", e.Message);
        }
    }

    /// <summary>Byte mutations of a valid file.</summary>
    [Fact]
    public void MutatedPluginsJson_OnlyPluginLoadException()
    {
        var original = Encoding.UTF8.GetBytes(Valid);
        FuzzBudget.Run(Gen.Select(Gen.Int, Gen.Int[1, 6]), t => Parse(Mutator.Mutate(original, t.Item1, t.Item2, original.Length)),
            FuzzBudget.Seconds / 2);
    }

    /// <summary>Random token soups.</summary>
    [Fact]
    public void RandomPluginsJson_OnlyPluginLoadException() =>
        FuzzBudget.Run(Gen.OneOf(Fragments).Array[0, 30], parts => Parse(Encoding.UTF8.GetBytes(string.Join(" ", parts))),
            FuzzBudget.Seconds / 2);
}
