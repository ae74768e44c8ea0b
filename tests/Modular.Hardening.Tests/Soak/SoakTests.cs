using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Modular.Hardening.Tests.Http;

namespace Modular.Hardening.Tests.Soak;

/// <summary>
/// A bounded soak (not in CI: runs only with <c>MODULAR_SOAK=1</c>): 64 concurrent clients against a real server on
/// bard-2m for <c>MODULAR_SOAK_SECONDS</c> (default 600) with mixed plain, streaming, client-aborted and (when the
/// guided plugin is built) guided requests. Every 10 s it samples the managed heap (size after the last GC and
/// bytes allocated now), the working set and the KV blocks in use; it reports p50/p99 latency per 2-minute window
/// and writes a markdown report to <c>MODULAR_SOAK_REPORT</c> (default: modular-soak.md in the temp folder).
/// It fails on a growth trend of the heap or working set, on KV blocks still held at the end, on a last window
/// whose p99 is more than twice the median of the windows before it (the first, warm-up window aside), and on
/// any 500.
/// </summary>
public sealed class SoakTests
{
    private sealed record Sample(double Seconds, long HeapAfterGc, long Allocated, long WorkingSet, int KvInUse, long Completed);

    private const int Clients = 64;
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(10);
    private const double WindowSeconds = 120;

    [Fact]
    public async Task Soak_64Clients_MixedTraffic()
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("MODULAR_SOAK") == "1", "soak runs only with MODULAR_SOAK=1");
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("MODULAR_SOAK_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 600;
        bool guided = File.Exists(TestServer.GuidedPlugin);
        await using var server = await TestServer.StartAsync(engine: new() { MaxModelLen = 256, NumBlocks = 1024, MaxNumSeqs = 64, MaxNumBatchedTokens = 1024 });
        var engine = server.Server.Models[0].Engine;
        int totalBlocks = engine.KvBlocks().Total;

        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        long completed = 0, aborted = 0, failed = 0, streamed = 0, guidedDone = 0;
        var latencies = new List<(double At, double Ms)>();
        var statusCounts = new Dictionary<int, int>();
        var samples = new List<Sample>();
        var proc = Process.GetCurrentProcess();

        Sample Take()
        {
            proc.Refresh();
            var (free, total) = engine.KvBlocks();
            return new Sample(clock.Elapsed.TotalSeconds, GC.GetGCMemoryInfo().HeapSizeBytes, GC.GetTotalMemory(false), proc.WorkingSet64, total - free, Interlocked.Read(ref completed));
        }

        async Task Client(int id)
        {
            var rng = new Random(id);
            while (clock.Elapsed < deadline)
            {
                int kind = rng.Next(10);
                bool stream = kind < 4;
                var body = new JsonObject
                {
                    ["model"] = TestServer.Model,
                    ["max_tokens"] = rng.Next(4, 48),
                    ["temperature"] = rng.NextDouble(),
                    ["stream"] = stream,
                };
                if (rng.Next(2) == 0) body["prompt"] = "ROMEO: " + new string('a', rng.Next(0, 40));
                else body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "JULIET: speak " + rng.Next() });
                bool isGuided = guided && kind == 9;
                if (isGuided) body["guided_regex"] = "(yes|no|maybe)[.!]";
                string path = body.ContainsKey("prompt") ? "v1/completions" : "v1/chat/completions";
                using var cts = new CancellationTokenSource();
                if (kind == 8) cts.CancelAfter(rng.Next(5, 200)); // client aborts mid-request
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    var (status, _, _) = await server.PostAsync(path, body.ToJsonString(), cts.Token);
                    lock (statusCounts) statusCounts[status] = statusCounts.GetValueOrDefault(status) + 1;
                    if (status == 200)
                    {
                        Interlocked.Increment(ref completed);
                        if (stream) Interlocked.Increment(ref streamed);
                        if (isGuided) Interlocked.Increment(ref guidedDone);
                        lock (latencies) latencies.Add((clock.Elapsed.TotalSeconds, Stopwatch.GetElapsedTime(t0).TotalMilliseconds));
                    }
                    else Interlocked.Increment(ref failed);
                }
                catch (OperationCanceledException) { Interlocked.Increment(ref aborted); }
            }
        }

        var sampler = Task.Run(async () =>
        {
            while (clock.Elapsed < deadline)
            {
                lock (samples) samples.Add(Take());
                await Task.Delay(SampleEvery);
            }
        });
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(Client));
        await sampler;

        // Let aborted requests drain, then every block must be free again.
        var (freeAtEnd, _) = engine.KvBlocks();
        for (int i = 0; i < 100 && freeAtEnd != totalBlocks; i++)
        {
            await Task.Delay(100);
            freeAtEnd = engine.KvBlocks().Free;
        }
        double? usage = await server.MetricAsync("modular:kv_cache_usage_perc");
        GC.Collect();
        samples.Add(Take());

        // Trends are fitted after a warm-up (the first minute, or the first fifth of a shorter run): JIT, pools
        // and the prefix cache fill then, which is growth but not a leak.
        double warmup = Math.Min(60, seconds / 5);
        var steady = samples.Take(samples.Count - 1).Where(x => x.Seconds >= warmup).ToList();
        var heap = steady.Select(x => (x.Seconds, (double)x.HeapAfterGc)).ToList();
        var ws = steady.Select(x => (x.Seconds, (double)x.WorkingSet)).ToList();
        double heapGrowth = Trend.Growth(heap), wsGrowth = Trend.Growth(ws);
        double heapMean = heap.Count > 0 ? heap.Average(p => p.Item2) : 0, wsMean = ws.Count > 0 ? ws.Average(p => p.Item2) : 0;
        // A leak shows as growth well beyond the sawtooth of collections: a quarter of the mean, and at least 16 / 32 MiB.
        double heapAllowed = Math.Max(0.25 * heapMean, 16 << 20), wsAllowed = Math.Max(0.25 * wsMean, 32 << 20);

        var windows = latencies.GroupBy(l => (int)(l.At / WindowSeconds)).OrderBy(g => g.Key)
            .Select(g => (Window: g.Key, Ms: g.Select(l => l.Ms).Order().ToArray())).ToList();
        // A trailing window shorter than half a window (a run not a multiple of 2 min) is reported but not judged.
        var judged = windows.Where(w => Math.Min(seconds, (w.Window + 1) * WindowSeconds) - w.Window * WindowSeconds >= WindowSeconds / 2 && w.Ms.Length >= 50).ToList();

        static string Mb(double bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"## Run: {seconds:F0} s, {Clients} clients, guided={guided}, {Environment.ProcessorCount} cores, {RuntimeInfo()}");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"* Completed (200): {completed} ({completed / seconds:F1}/s), of which streamed {streamed}, guided {guidedDone}");
        report.AppendLine(CultureInfo.InvariantCulture, $"* Aborted by the client: {aborted}; non-200 answers: {failed}");
        report.AppendLine(CultureInfo.InvariantCulture, $"* Statuses: {string.Join(", ", statusCounts.OrderBy(k => k.Key).Select(k => $"{k.Key} x {k.Value}"))}");
        report.AppendLine(CultureInfo.InvariantCulture, $"* KV blocks at the end: {totalBlocks - freeAtEnd} of {totalBlocks} in use; kv_cache_usage_perc {usage?.ToString(CultureInfo.InvariantCulture) ?? "n/a"}");
        report.AppendLine(CultureInfo.InvariantCulture, $"* Managed heap after GC, t >= {warmup:F0} s: min {Mb(heap.Min(p => p.Item2))} MiB, max {Mb(heap.Max(p => p.Item2))} MiB, mean {Mb(heapMean)} MiB, fitted growth over the run {Mb(heapGrowth)} MiB (allowed {Mb(heapAllowed)})");
        report.AppendLine(CultureInfo.InvariantCulture, $"* Working set, t >= {warmup:F0} s: min {Mb(ws.Min(p => p.Item2))} MiB, max {Mb(ws.Max(p => p.Item2))} MiB, mean {Mb(wsMean)} MiB, fitted growth over the run {Mb(wsGrowth)} MiB (allowed {Mb(wsAllowed)})");
        report.AppendLine();
        report.AppendLine("| t (s) | heap after last GC (MiB) | allocated now (MiB) | working set (MiB) | KV blocks in use | completed |");
        report.AppendLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var x in samples)
            report.AppendLine(CultureInfo.InvariantCulture, $"| {x.Seconds:F0} | {Mb(x.HeapAfterGc)} | {Mb(x.Allocated)} | {Mb(x.WorkingSet)} | {x.KvInUse} | {x.Completed} |");
        report.AppendLine();
        report.AppendLine("| window | requests | p50 (ms) | p99 (ms) |");
        report.AppendLine("|---|---:|---:|---:|");
        foreach (var (w, ms) in windows)
        {
            string label = w * WindowSeconds >= seconds ? "after the deadline (in flight then)" : $"{w * WindowSeconds:F0}-{Math.Min(seconds, (w + 1) * WindowSeconds):F0} s";
            report.AppendLine(CultureInfo.InvariantCulture, $"| {label} | {ms.Length} | {Trend.Quantile(ms, 0.5):F0} | {Trend.Quantile(ms, 0.99):F0} |");
        }
        string text = report.ToString();
        Console.WriteLine(text);
        TestContext.Current.SendDiagnosticMessage(text);
        string path = Environment.GetEnvironmentVariable("MODULAR_SOAK_REPORT") is { Length: > 0 } p ? p : Path.Combine(Path.GetTempPath(), "modular-soak.md");
        File.WriteAllText(path, text);

        Assert.Equal(totalBlocks, freeAtEnd);
        Assert.Equal(0, usage);
        Assert.Equal(200, await server.HealthAsync());
        Assert.True(completed > 0);
        Assert.False(statusCounts.ContainsKey(500), "the soak saw 500s");
        Assert.True(heapGrowth <= heapAllowed, $"managed heap grew {Mb(heapGrowth)} MiB over the run (allowed {Mb(heapAllowed)})");
        Assert.True(wsGrowth <= wsAllowed, $"working set grew {Mb(wsGrowth)} MiB over the run (allowed {Mb(wsAllowed)})");
        // The first window holds the warm-up (JIT, first compilations of guided constraints); the last window's
        // p99 is judged against the median p99 of the windows between.
        if (judged.Count >= 3 && judged[0].Window == 0)
        {
            var middle = judged.Skip(1).Take(judged.Count - 2).Select(w => Trend.Quantile(w.Ms, 0.99)).Order().ToArray();
            double reference = Trend.Quantile(middle, 0.5), last = Trend.Quantile(judged[^1].Ms, 0.99);
            Assert.True(last <= 2 * reference, $"p99 rose from {reference:F0} ms (median of the middle windows) to {last:F0} ms in the last window");
        }
    }

    private static string RuntimeInfo() =>
#if DEBUG
        "Debug build";
#else
        "Release build";
#endif
}
