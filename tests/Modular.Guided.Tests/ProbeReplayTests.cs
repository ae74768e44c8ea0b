using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided;
using Modular.Plugins.Guided.Json;

namespace Modular.Guided.Tests;

/// <summary>Replays one fixture instance token by token with per-mask timings (GUIDED_PROBE=folder/file.json:test).</summary>
public sealed class ProbeReplayTests
{
    [Fact]
    public void ReplayOneInstance()
    {
        var probe = Environment.GetEnvironmentVariable("GUIDED_PROBE");
        Assert.SkipWhen(string.IsNullOrEmpty(probe), "set GUIDED_PROBE=Folder/file.json:test to replay one instance");
        var parts = probe!.Split(':');
        var vocab = ByteLevelVocabulary.Llama3();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Modular.Testing.Fixtures.Shared("jsonschema"), parts[0])));
        var decoder = new GuidedDecoder();
        var c = decoder.Compile(new GuidedSpec(GuidedKind.JsonSchema, doc.RootElement.GetProperty("schema").GetRawText()), vocab);
        var text = JsonText.Compact(doc.RootElement.GetProperty("tests")[int.Parse(parts[1])].GetProperty("data"));
        var ids = c.Context.Trie.TokenizeLongestMatch(Encoding.UTF8.GetBytes(text))!;
        var m = c.CreateMatcher();
        var mask = new ulong[(vocab.Count + 63) / 64];
        var sb = new StringBuilder();
        for (int i = 0; i <= ids.Count; i++)
        {
            { var cc = m.CurrentCursor; var swf0 = Stopwatch.StartNew(); var f0 = cc.Union >= 0 ? c.Context.Lexer.Free(cc.Union) : default; Console.WriteLine($"pre-free {swf0.Elapsed.TotalMilliseconds:F1} ms states {c.Context.Lexer.StateCount}"); }
            var sw = Stopwatch.StartNew();
            m.FillMask(mask);
            double cold = sw.Elapsed.TotalMicroseconds;
            sw.Restart();
            m.FillMask(mask);
            double warm = sw.Elapsed.TotalMicroseconds;
            var cur = m.CurrentCursor;
            var u = cur.Union >= 0 ? c.Context.Lexer[cur.Union] : null;
            var swf = Stopwatch.StartNew(); var fr = cur.Union >= 0 ? c.Context.Lexer.Free(cur.Union) : default; Console.WriteLine($"freeTime {swf.Elapsed.TotalMilliseconds:F1}ms states {c.Context.Lexer.StateCount} free {System.Numerics.BitOperations.PopCount(fr.Lo)+System.Numerics.BitOperations.PopCount(fr.Hi)} utf8 {fr.Utf8} max {u?.MaxCount}"); Console.WriteLine($"{i,4} cold {cold,9:F0} warm {warm,8:F1} union {cur.Union} pairs {u?.Pairs.Length} direct {u?.Direct} atStart {cur.AtStart} configs {cur.State.Configs.Length} next {(i < ids.Count ? Encoding.UTF8.GetString(c.Context.Trie.Bytes[ids[i]]!) : "EOS")}");
            if (i < ids.Count) Assert.True(m.Accept(ids[i]));
        }
    }
}
