using System.Numerics;
using System.Diagnostics;
using System.Text;
using Modular.Abstractions;
using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>Timing probes printed for inspection (cold and warm mask cost in typical states).</summary>
public sealed class PerfProbeTests(ITestOutputHelper output)
{
    [Fact]
    public void ColdAndWarmMaskTimes()
    {
        var vocab = ByteLevelVocabulary.Llama3();
        var decoder = new GuidedDecoder();
        var mask = new ulong[(vocab.Count + 63) / 64];
        foreach (var (schema, prefix) in new[] {
            ("{\"type\":\"string\"}", "\"ab"), ("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}}}", "{\"na"),
            ("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}}}", "{\"name\":\"x"),
            ("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}}}", "{\"age\":1") })
        {
            var c = decoder.Compile(new GuidedSpec(GuidedKind.JsonSchema, schema), vocab);
            var m = c.CreateMatcher();
            Assert.True(m.AcceptBytes(Encoding.UTF8.GetBytes(prefix)));
            var sw = Stopwatch.StartNew();
            m.FillMask(mask);
            double cold = sw.Elapsed.TotalMicroseconds;
            sw.Restart();
            for (int i = 0; i < 100; i++) m.FillMask(mask);
            double warm = sw.Elapsed.TotalMicroseconds / 100;
            int allowed = mask.Sum(w => BitOperations.PopCount(w));
            output.WriteLine($"{schema} after {prefix}: cold {cold:F0} µs, warm {warm:F1} µs, allowed {allowed}, trie nodes {c.Context.Trie.NodeCount}, states {c.Context.Lexer.StateCount}");
        }
    }
}
