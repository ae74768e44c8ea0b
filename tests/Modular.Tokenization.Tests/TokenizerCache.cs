using System.Collections.Concurrent;
using Modular.Testing;
using Modular.Tokenization;

namespace Modular.Tokenization.Tests;

/// <summary>Loads each fixture tokenizer once per test run (the big vocabularies take a moment).</summary>
internal static class TokenizerCache
{
    private static readonly ConcurrentDictionary<string, Lazy<HfTokenizer>> Loaded = new();

    public static readonly string[] SharedNames = ["llama3_1", "qwen3", "llama2"];

    /// <summary>A shared fixture tokenizer; skips the test when the shared fixtures are absent.</summary>
    public static HfTokenizer Shared(string name) => Get(Fixtures.Shared("tokenizers", name));

    public static HfTokenizer Bard => Get(Fixtures.BundledModel);

    public static HfTokenizer Get(string dir) =>
        Loaded.GetOrAdd(dir, d => new Lazy<HfTokenizer>(() => HfTokenizer.FromDirectory(d))).Value;

    /// <summary>Shared tokenizer by name, or bard-2m.</summary>
    public static HfTokenizer ByName(string name) => name == "bard-2m" ? Bard : Shared(name);
}
