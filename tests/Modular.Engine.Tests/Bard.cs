using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Verification;
using Modular.Testing;
using Modular.Tokenization;

[assembly: CollectionBehavior(CollectionBehavior.CollectionPerAssembly)]

namespace Modular.Engine.Tests;

/// <summary>
/// The bundled bard-2m model on the CPU, loaded once for the whole test run, and helpers every engine test uses:
/// engines over it with chosen limits, greedy references from <see cref="SequenceDriver"/>, corpus prompts, and the
/// no-leak check.
/// </summary>
public static class Bard
{
    private static readonly Lazy<(CpuBackend Backend, TransformerModel Model, HfTokenizer Tokenizer)> Loaded = new(() =>
    {
        var backend = new CpuBackend();
        var model = TransformerModel.Load(Fixtures.BundledModel, backend);
        return (backend, model, HfTokenizer.FromDirectory(Fixtures.BundledModel));
    });

    public static TransformerModel Model => Loaded.Value.Model;
    public static CpuBackend Backend => Loaded.Value.Backend;
    public static HfTokenizer Tokenizer => Loaded.Value.Tokenizer;
    public static int Vocab => Model.Config.VocabSize;

    /// <summary>An engine over bard-2m with <paramref name="numBlocks"/> KV blocks.</summary>
    public static LLM Engine(int numBlocks = 256, int maxBatchedTokens = 2048, int maxSeqs = 256, bool prefixCaching = true, int blockSize = 16, string policy = "fcfs") =>
        LLM.Create(Model, Tokenizer, new EngineOptions
        {
            NumBlocks = numBlocks, MaxNumBatchedTokens = maxBatchedTokens, MaxNumSeqs = maxSeqs,
            EnablePrefixCaching = prefixCaching, BlockSize = blockSize, Policy = policy,
        });

    /// <summary>After every engine test: no request holds a KV block.</summary>
    public static void AssertNoLeaks(LLM llm)
    {
        // The final output is sent after the blocks are released, so the pool is settled by now.
        Assert.Equal(0, llm.Engine.Core.NumUnfinishedRequests);
        Assert.Equal(llm.Allocator.TotalBlocks, llm.Allocator.FreeBlocks);
        for (int b = 0; b < llm.Allocator.TotalBlocks; b++) Assert.Equal(0, llm.Allocator.RefCount(b));
    }

    /// <summary>Greedy continuation of one prompt computed alone, straight on the model runner (no engine).</summary>
    public static int[] GreedyReference(int[] prompt, int maxTokens, bool stopAtEos = false) => GreedyReference(Model, prompt, maxTokens, stopAtEos);

    /// <summary>Greedy continuation of one prompt on <paramref name="model"/>, computed alone without the engine.</summary>
    public static int[] GreedyReference(TransformerModel model, int[] prompt, int maxTokens, bool stopAtEos = false)
    {
        using var runner = ModelRunner.Create(model, (prompt.Length + maxTokens) / 16 + 2, 16);
        var driver = new SequenceDriver(runner);
        var output = new List<int>();
        var logits = driver.Feed(prompt, allLogits: false);
        for (int t = 0; t < maxTokens; t++)
        {
            int next = Argmax(logits);
            output.Add(next);
            if (stopAtEos && model.Config.EosTokenIds.Contains(next)) break;
            if (t + 1 < maxTokens) logits = driver.Feed([next], allLogits: false);
        }
        return [.. output];
    }

    public static int Argmax(ReadOnlySpan<float> row)
    {
        int best = 0;
        for (int i = 1; i < row.Length; i++) if (row[i] > row[best]) best = i;
        return best;
    }

    /// <summary>The Shakespeare excerpt shipped with the tests (public domain).</summary>
    public static string Corpus { get; } = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Data", "shakespeare-excerpt.txt"));

    /// <summary>Corpus tokens starting near character <paramref name="offset"/>, <paramref name="length"/> of them, BOS first.</summary>
    public static int[] CorpusTokens(int offset, int length)
    {
        var ids = Tokenizer.Encode(Corpus.Substring(offset, Math.Min(length * 8, Corpus.Length - offset)), addSpecialTokens: true);
        Assert.True(ids.Length >= length, $"corpus slice at {offset} gave only {ids.Length} tokens");
        return ids[..length];
    }

    public static SamplingParams Greedy(int maxTokens) => new() { Temperature = 0, MaxTokens = maxTokens, IgnoreEos = true };
}
