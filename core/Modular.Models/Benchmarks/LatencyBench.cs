using System.Diagnostics;
using Modular.Abstractions;

namespace Modular.Models.Benchmarks;

/// <summary>Settings of <see cref="LatencyBench"/>: one batch of fixed input and output lengths.</summary>
public sealed record LatencySettings(int BatchSize = 1, int InputLen = 128, int OutputLen = 128, int Warmup = 1, int Iterations = 3, int BlockSize = 16, int Seed = 0)
{
    /// <summary>KV cache dtype option ("auto" or null: the backend's activation dtype; "fp8"; see <see cref="KvCacheDTypes"/>).</summary>
    public string? KvCacheDType { get; init; }
}

/// <summary>Timings of one iteration: the prefill of the whole batch, then every decode step.</summary>
public sealed record LatencyIteration(double TotalSeconds, double PrefillSeconds, double DecodeSeconds);

/// <summary>Result of a latency run: per-iteration timings and the derived rates.</summary>
public sealed record LatencyResult(LatencySettings Settings, IReadOnlyList<LatencyIteration> Iterations)
{
    private static double Percentile(IEnumerable<double> xs, double p)
    {
        var s = xs.Order().ToArray();
        if (s.Length == 0) return double.NaN;
        double rank = p * (s.Length - 1);
        int lo = (int)Math.Floor(rank), hi = (int)Math.Ceiling(rank);
        return s[lo] + (s[hi] - s[lo]) * (rank - lo);
    }

    /// <summary>Mean seconds per iteration.</summary>
    public double MeanSeconds => Iterations.Average(i => i.TotalSeconds);
    /// <summary>Median seconds per iteration.</summary>
    public double MedianSeconds => Percentile(Iterations.Select(i => i.TotalSeconds), 0.5);
    /// <summary>99th percentile seconds per iteration.</summary>
    public double P99Seconds => Percentile(Iterations.Select(i => i.TotalSeconds), 0.99);
    /// <summary>Generated tokens per second during decode (median iteration).</summary>
    public double DecodeTokensPerSecond => Settings.BatchSize * (Settings.OutputLen - 1) / Percentile(Iterations.Select(i => i.DecodeSeconds), 0.5);
    /// <summary>Prompt tokens per second during prefill (median iteration).</summary>
    public double PrefillTokensPerSecond => Settings.BatchSize * Settings.InputLen / Percentile(Iterations.Select(i => i.PrefillSeconds), 0.5);
    /// <summary>All tokens generated per second of whole iterations (vLLM's "tokens/s" of bench latency).</summary>
    public double OutputTokensPerSecond => Settings.BatchSize * Settings.OutputLen / MedianSeconds;
}

/// <summary>
/// <c>modular bench latency</c>: the model alone on one fixed batch - prefill every prompt in one step, then decode
/// greedily one token per sequence per step - timed over warm-up plus N iterations, as vLLM's bench latency does.
/// </summary>
public static class LatencyBench
{
    /// <summary>Runs the benchmark on <paramref name="model"/>.</summary>
    public static LatencyResult Run(TransformerModel model, LatencySettings s, Action<string>? log = null)
    {
        int total = s.InputLen + s.OutputLen, bs = s.BlockSize, perSeq = (total + bs - 1) / bs;
        using var runner = ModelRunner.Create(model, perSeq * s.BatchSize, bs, KvCacheDTypes.Resolve(s.KvCacheDType, model.Backend));
        var rng = new Random(s.Seed);
        var prompts = new int[s.BatchSize][];
        for (int b = 0; b < s.BatchSize; b++)
        {
            prompts[b] = new int[s.InputLen];
            for (int i = 0; i < s.InputLen; i++) prompts[b][i] = rng.Next(model.Config.VocabSize);
        }
        var results = new List<LatencyIteration>();
        for (int it = 0; it < s.Warmup + s.Iterations; it++)
        {
            var r = Iterate(runner, prompts, s, perSeq);
            if (it >= s.Warmup) results.Add(r);
            log?.Invoke($"{(it < s.Warmup ? "warm-up" : "iteration")} {it + 1}: {r.TotalSeconds:F3} s (prefill {r.PrefillSeconds:F3} s, decode {r.DecodeSeconds:F3} s)");
        }
        return new LatencyResult(s, results);
    }

    private static LatencyIteration Iterate(ModelRunner runner, int[][] prompts, LatencySettings s, int perSeq)
    {
        int batch = prompts.Length, bs = s.BlockSize;
        var tables = new int[batch * perSeq];
        for (int i = 0; i < tables.Length; i++) tables[i] = i;
        var next = new int[batch];
        var sw = Stopwatch.StartNew();
        // Prefill: all prompts in one step.
        {
            int t = batch * s.InputLen;
            var ids = new int[t]; var pos = new int[t]; var slots = new int[t];
            var qsl = new int[batch + 1]; var lens = new int[batch]; var rows = new int[batch];
            for (int b = 0; b < batch; b++)
            {
                for (int i = 0; i < s.InputLen; i++)
                {
                    int row = b * s.InputLen + i;
                    ids[row] = prompts[b][i]; pos[row] = i; slots[row] = GreedyStep.Slot(tables, b, perSeq, i, bs);
                }
                qsl[b + 1] = (b + 1) * s.InputLen; lens[b] = s.InputLen; rows[b] = (b + 1) * s.InputLen - 1;
            }
            GreedyStep.Run(runner, ids, pos, slots, qsl, lens, tables, perSeq, rows, next);
        }
        double prefill = sw.Elapsed.TotalSeconds;
        // Decode: one token per sequence per step.
        var dIds = new int[batch]; var dPos = new int[batch]; var dSlots = new int[batch];
        var dQsl = new int[batch + 1]; var dLens = new int[batch]; var dRows = new int[batch];
        for (int b = 0; b <= batch; b++) dQsl[b] = b;
        for (int b = 0; b < batch; b++) dRows[b] = b;
        for (int step = 1; step < s.OutputLen; step++)
        {
            int p = s.InputLen + step - 1;
            for (int b = 0; b < batch; b++)
            {
                dIds[b] = next[b]; dPos[b] = p; dSlots[b] = GreedyStep.Slot(tables, b, perSeq, p, bs); dLens[b] = p + 1;
            }
            GreedyStep.Run(runner, dIds, dPos, dSlots, dQsl, dLens, tables, perSeq, dRows, next);
        }
        double totalSeconds = sw.Elapsed.TotalSeconds;
        return new LatencyIteration(totalSeconds, prefill, totalSeconds - prefill);
    }
}
