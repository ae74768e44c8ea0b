using System.Diagnostics;
using Modular.Abstractions;

namespace Modular.Models.Benchmarks;

/// <summary>
/// Settings of <see cref="StaticBatchBench"/>: <paramref name="NumPrompts"/> random prompts run in static batches
/// of <paramref name="BatchSize"/>, each batch prefilled <paramref name="PrefillTokens"/> tokens per step (whole
/// prompts) and then decoded greedily for <paramref name="OutputLen"/> tokens per prompt, EOS ignored.
/// </summary>
public sealed record StaticBatchSettings(int NumPrompts = 512, int InputLen = 512, int OutputLen = 256, int BatchSize = 256,
    int PrefillTokens = 16384, int BlockSize = 16, int WarmupSteps = 8, int Seed = 0)
{
    /// <summary>KV cache dtype option ("auto" or null: the backend's activation dtype; "fp8"; see <see cref="KvCacheDTypes"/>).</summary>
    public string? KvCacheDType { get; init; }
}

/// <summary>Wall-clock seconds of a <see cref="StaticBatchBench"/> run, split into prefill and decode steps.</summary>
public sealed record StaticBatchResult(StaticBatchSettings Settings, double TotalSeconds, double PrefillSeconds, double DecodeSeconds, int DecodeSteps)
{
    /// <summary>Generated tokens over the whole run's time, prefill included (the W2 figure).</summary>
    public double OutputTokensPerSecond => (double)Settings.NumPrompts * Settings.OutputLen / TotalSeconds;
    /// <summary>Prompt tokens per second of prefill steps alone.</summary>
    public double PrefillTokensPerSecond => (double)Settings.NumPrompts * Settings.InputLen / PrefillSeconds;
    /// <summary>Mean milliseconds of one decode step (all sequences of a batch).</summary>
    public double DecodeStepMilliseconds => DecodeSeconds * 1000 / DecodeSteps;
}

/// <summary>
/// Offline throughput with static batches, the model alone (no scheduler): the W2 workload as the peers run it.
/// Prompts of one length batch perfectly, so this is also what continuous batching reaches on that workload.
/// The first <see cref="StaticBatchSettings.WarmupSteps"/> decode steps of an untimed warm-up batch record the
/// decode graphs, as the peers compile theirs before timing.
/// </summary>
public static class StaticBatchBench
{
    /// <summary>Runs the benchmark on <paramref name="model"/>.</summary>
    public static StaticBatchResult Run(TransformerModel model, StaticBatchSettings s, Action<string>? log = null)
    {
        if (s.NumPrompts % s.BatchSize != 0) throw new ArgumentException($"NumPrompts {s.NumPrompts} must be a multiple of BatchSize {s.BatchSize}");
        int bs = s.BlockSize, perSeq = (s.InputLen + s.OutputLen + bs - 1) / bs;
        using var runner = ModelRunner.Create(model, perSeq * s.BatchSize, bs, KvCacheDTypes.Resolve(s.KvCacheDType, model.Backend));
        var rng = new Random(s.Seed);
        int[][] NewPrompts()
        {
            var p = new int[s.BatchSize][];
            for (int b = 0; b < p.Length; b++)
            {
                p[b] = new int[s.InputLen];
                for (int i = 0; i < s.InputLen; i++) p[b][i] = rng.Next(model.Config.VocabSize);
            }
            return p;
        }
        var warm = RunBatch(runner, NewPrompts(), s, perSeq, Math.Min(s.OutputLen, s.WarmupSteps + 1));
        log?.Invoke($"warm-up batch: prefill {warm.Prefill:F3} s, {warm.Steps} decode steps {warm.Decode:F3} s");
        double prefill = 0, decode = 0;
        int steps = 0;
        var total = Stopwatch.StartNew();
        for (int batch = 0; batch < s.NumPrompts / s.BatchSize; batch++)
        {
            var r = RunBatch(runner, NewPrompts(), s, perSeq, s.OutputLen);
            prefill += r.Prefill; decode += r.Decode; steps += r.Steps;
            log?.Invoke($"batch {batch + 1}: prefill {r.Prefill:F3} s, decode {r.Decode:F3} s ({r.Decode * 1000 / r.Steps:F2} ms/step)");
        }
        return new StaticBatchResult(s, total.Elapsed.TotalSeconds, prefill, decode, steps);
    }

    private static (double Prefill, double Decode, int Steps) RunBatch(ModelRunner runner, int[][] prompts, StaticBatchSettings s, int perSeq, int outputLen)
    {
        int batch = prompts.Length, bs = s.BlockSize;
        var tables = new int[batch * perSeq];
        for (int i = 0; i < tables.Length; i++) tables[i] = i;
        var next = new int[batch];
        var sw = Stopwatch.StartNew();
        int perStep = Math.Max(1, s.PrefillTokens / s.InputLen);
        for (int first = 0; first < batch; first += perStep)
        {
            int n = Math.Min(perStep, batch - first), t = n * s.InputLen;
            var ids = new int[t]; var pos = new int[t]; var slots = new int[t];
            var qsl = new int[n + 1]; var lens = new int[n]; var rows = new int[n];
            var stepTables = new int[n * perSeq];
            Array.Copy(tables, first * perSeq, stepTables, 0, n * perSeq);
            for (int b = 0; b < n; b++)
            {
                for (int i = 0; i < s.InputLen; i++)
                {
                    int row = b * s.InputLen + i;
                    ids[row] = prompts[first + b][i]; pos[row] = i; slots[row] = GreedyStep.Slot(tables, first + b, perSeq, i, bs);
                }
                qsl[b + 1] = (b + 1) * s.InputLen; lens[b] = s.InputLen; rows[b] = (b + 1) * s.InputLen - 1;
            }
            var chunk = new int[n];
            GreedyStep.Run(runner, ids, pos, slots, qsl, lens, stepTables, perSeq, rows, chunk);
            Array.Copy(chunk, 0, next, first, n);
        }
        double prefill = sw.Elapsed.TotalSeconds;
        var dIds = new int[batch]; var dPos = new int[batch]; var dSlots = new int[batch];
        var dQsl = new int[batch + 1]; var dLens = new int[batch]; var dRows = new int[batch];
        for (int b = 0; b <= batch; b++) dQsl[b] = b;
        for (int b = 0; b < batch; b++) dRows[b] = b;
        int steps = 0;
        for (int step = 1; step < outputLen; step++, steps++)
        {
            int p = s.InputLen + step - 1;
            for (int b = 0; b < batch; b++)
            {
                dIds[b] = next[b]; dPos[b] = p; dSlots[b] = GreedyStep.Slot(tables, b, perSeq, p, bs); dLens[b] = p + 1;
            }
            GreedyStep.Run(runner, dIds, dPos, dSlots, dQsl, dLens, tables, perSeq, dRows, next);
        }
        double all = sw.Elapsed.TotalSeconds;
        return (prefill, all - prefill, Math.Max(steps, 1));
    }
}
