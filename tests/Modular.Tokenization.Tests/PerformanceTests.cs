using System.Diagnostics;
using Modular.Testing;

namespace Modular.Tokenization.Tests;

/// <summary>Encoding throughput on real text: the server encodes every prompt, so this must stay well clear of model time.</summary>
public sealed class PerformanceTests
{
    [Theory]
    [InlineData("llama3_1")]
    [InlineData("qwen3")]
    [InlineData("llama2")]
    [InlineData("bard-2m")]
    public void Encode_Shakespeare_Throughput(string name)
    {
        var tok = TokenizerCache.ByName(name);
        string corpus = File.ReadAllText(Fixtures.Shared("corpus", "shakespeare.txt"));
        // Prompt-sized chunks (~2 KB), as the server sees them. The first pass warms the JIT and the word caches
        // (a server sees the same words again and again); the second is measured.
        var chunks = new List<string>();
        for (int i = 0; i + 2000 <= 400_000; i += 2000) chunks.Add(corpus.Substring(i, 2000));
        long tokens = 0;
        foreach (var c in chunks) tokens += tok.Encode(c).Length;
        tokens = 0;
        var sw = Stopwatch.StartNew();
        foreach (var c in chunks) tokens += tok.Encode(c).Length;
        sw.Stop();
        double mbPerSec = chunks.Count * 2000 / 1e6 / sw.Elapsed.TotalSeconds;
        TestContext.Current.TestOutputHelper?.WriteLine($"{name}: {chunks.Count} prompts of 2000 chars, {tokens} tokens in {sw.Elapsed.TotalMilliseconds:F0} ms = {mbPerSec:F2} MB/s, {sw.Elapsed.TotalMilliseconds * 1000 / chunks.Count:F0} µs/prompt");
        // Generous floor for a shared 2-core machine; a per-call vocabulary rebuild would take seconds per prompt.
        Assert.True(mbPerSec > 0.5, $"{name} encodes only {mbPerSec:F2} MB/s");
    }
}
