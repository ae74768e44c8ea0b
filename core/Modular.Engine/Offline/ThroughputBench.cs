using System.Diagnostics;
using Modular.Abstractions;
using Modular.Tokenization;

namespace Modular.Engine;

/// <summary>What a throughput run measured.</summary>
/// <param name="Requests">Requests run.</param>
/// <param name="PromptTokens">Prompt tokens over all requests.</param>
/// <param name="OutputTokens">Generated tokens over all requests.</param>
/// <param name="Seconds">Wall time from the first submission to the last completion.</param>
/// <param name="Preemptions">Preemptions during the run.</param>
/// <param name="CpuSeconds">Processor time the whole process used meanwhile (all threads): on a shared machine,
/// output tokens per CPU-second are steadier than per wall-second.</param>
/// <param name="Engine">Where the engine thread's time went during the run.</param>
public sealed record ThroughputResult(int Requests, long PromptTokens, long OutputTokens, double Seconds, long Preemptions, double CpuSeconds,
    EngineTimeSplit Engine)
{
    /// <summary>Generated tokens per second of processor time.</summary>
    public double OutputTokensPerCpuSecond => OutputTokens / CpuSeconds;
    /// <summary>Generated tokens per second.</summary>
    public double OutputTokensPerSecond => OutputTokens / Seconds;
    /// <summary>Prompt plus generated tokens per second.</summary>
    public double TotalTokensPerSecond => (PromptTokens + OutputTokens) / Seconds;
    /// <summary>Requests per second.</summary>
    public double RequestsPerSecond => Requests / Seconds;

    /// <inheritdoc />
    public override string ToString() =>
        $"{Requests} requests, {PromptTokens} prompt + {OutputTokens} output tokens in {Seconds:F2} s: " +
        $"{OutputTokensPerSecond:F1} output tok/s, {TotalTokensPerSecond:F1} total tok/s, {RequestsPerSecond:F2} req/s, {Preemptions} preemptions, " +
        $"{CpuSeconds:F2} CPU s ({OutputTokensPerCpuSecond:F1} output tok per CPU s)";
}

/// <summary>
/// Offline throughput benchmark (<c>modular bench throughput</c>), like vLLM's benchmark_throughput: submit every
/// prompt at once with ignore_eos and a fixed output length, and time until the last one finishes.
/// </summary>
public static class ThroughputBench
{
    /// <summary>
    /// <paramref name="count"/> prompts of <paramref name="promptTokens"/> tokens cut from a text corpus at seeded
    /// random offsets (character offsets, re-tokenized, then trimmed to length).
    /// </summary>
    public static IReadOnlyList<int[]> CorpusPrompts(HfTokenizer tokenizer, string corpusPath, int count, int promptTokens, int seed = 0)
    {
        string text = File.ReadAllText(corpusPath);
        int window = Math.Max(64, promptTokens * 8); // characters; comfortably more than promptTokens tokens
        if (text.Length < window) throw new ArgumentException($"{corpusPath}: corpus of {text.Length} characters is too short for {promptTokens}-token prompts");
        var rng = new Random(seed);
        var prompts = new List<int[]>(count);
        while (prompts.Count < count)
        {
            int start = rng.Next(0, text.Length - window);
            var ids = tokenizer.Encode(text.Substring(start, window), addSpecialTokens: true);
            if (ids.Length >= promptTokens) prompts.Add(ids[..promptTokens]);
        }
        return prompts;
    }

    /// <summary><paramref name="count"/> prompts of seeded random token ids below <paramref name="vocabSize"/>.</summary>
    public static IReadOnlyList<int[]> RandomPrompts(int vocabSize, int count, int promptTokens, int seed = 0)
    {
        var rng = new Random(seed);
        var prompts = new int[count][];
        for (int i = 0; i < count; i++)
        {
            prompts[i] = new int[promptTokens];
            for (int k = 0; k < promptTokens; k++) prompts[i][k] = rng.Next(vocabSize);
        }
        return prompts;
    }

    /// <summary>
    /// Runs every prompt for exactly <paramref name="outputTokens"/> tokens and measures throughput. Greedy by default,
    /// as the peers it is compared with decode; a temperature above 0 samples with a per-request seed.
    /// </summary>
    public static ThroughputResult Run(LLM llm, IReadOnlyList<int[]> prompts, int outputTokens, long seed = 0, float temperature = 0f)
    {
        var requests = new EngineRequest[prompts.Count];
        long promptTotal = 0;
        for (int i = 0; i < prompts.Count; i++)
        {
            requests[i] = new EngineRequest
            {
                RequestId = llm.NextId(), PromptTokenIds = prompts[i],
                Params = new SamplingParams { Temperature = temperature, Seed = seed + i, MaxTokens = outputTokens, IgnoreEos = true },
            };
            promptTotal += prompts[i].Length;
        }
        long preemptionsBefore = llm.Engine.Metrics.Snapshot().Preemptions;
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var engineBefore = EngineTimeSplit.Of(llm.Engine.Core);
        var clock = Stopwatch.StartNew();
        var outputs = llm.Generate(requests);
        double seconds = clock.Elapsed.TotalSeconds;
        // Read after Generate returned: the engine thread has delivered every output, so its counters are final.
        var engine = EngineTimeSplit.Of(llm.Engine.Core).Since(engineBefore);
        process.Refresh();
        double cpu = (process.TotalProcessorTime - cpuBefore).TotalSeconds;
        long generated = 0;
        foreach (var o in outputs)
        {
            if (o.Error is not null) throw new InvalidOperationException($"benchmark request {o.RequestId} failed: {o.Error}");
            generated += o.Usage.CompletionTokens;
        }
        return new ThroughputResult(prompts.Count, promptTotal, generated, seconds, llm.Engine.Metrics.Snapshot().Preemptions - preemptionsBefore, cpu, engine);
    }
}
