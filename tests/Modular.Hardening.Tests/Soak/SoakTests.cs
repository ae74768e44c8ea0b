using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Modular.Hardening.Tests.Http;

namespace Modular.Hardening.Tests.Soak;

/// <summary>
/// A bounded soak (not in CI: runs only with <c>MODULAR_SOAK=1</c>): 64 concurrent clients against a real server on
/// bard-2m for <c>MODULAR_SOAK_SECONDS</c> (default 600) with mixed plain, streaming, aborted and (when the guided
/// plugin is built) guided requests. Prints GC heap and working set every 10 s, p50/p99 latency per minute, and
/// checks that every KV block is free at the end.
/// </summary>
public sealed class SoakTests
{
    private sealed record Sample(double Seconds, long GcHeap, long WorkingSet, long Completed);

    [Fact]
    public async Task Soak_64Clients_MixedTraffic()
    {
        Assert.SkipUnless(Environment.GetEnvironmentVariable("MODULAR_SOAK") == "1", "soak runs only with MODULAR_SOAK=1");
        double seconds = double.TryParse(Environment.GetEnvironmentVariable("MODULAR_SOAK_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : 600;
        bool guided = File.Exists(TestServer.GuidedPlugin);
        await using var server = await TestServer.StartAsync(engine: new() { MaxModelLen = 256, NumBlocks = 1024, MaxNumSeqs = 64, MaxNumBatchedTokens = 1024 });

        var clock = Stopwatch.StartNew();
        var deadline = TimeSpan.FromSeconds(seconds);
        long completed = 0, aborted = 0, failed = 0;
        var latencies = new List<(double At, double Ms)>();
        var statusCounts = new Dictionary<int, int>();
        var samples = new List<Sample>();
        var proc = Process.GetCurrentProcess();

        async Task Client(int id)
        {
            var rng = new Random(id);
            while (clock.Elapsed < deadline)
            {
                int kind = rng.Next(10);
                var body = new JsonObject
                {
                    ["model"] = TestServer.Model,
                    ["max_tokens"] = rng.Next(4, 48),
                    ["temperature"] = rng.NextDouble(),
                    ["stream"] = kind < 4,
                };
                if (rng.Next(2) == 0) body["prompt"] = "ROMEO: " + new string('a', rng.Next(0, 40));
                else body["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = "JULIET: speak " + rng.Next() });
                if (guided && kind == 9) body["guided_regex"] = "(yes|no|maybe)[.!]";
                string path = body.ContainsKey("prompt") ? "v1/completions" : "v1/chat/completions";
                using var cts = new CancellationTokenSource();
                if (kind == 8) cts.CancelAfter(rng.Next(5, 200)); // client aborts
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    var (status, _, _) = await server.PostAsync(path, body.ToJsonString(), cts.Token);
                    lock (statusCounts) statusCounts[status] = statusCounts.GetValueOrDefault(status) + 1;
                    if (status == 200)
                    {
                        Interlocked.Increment(ref completed);
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
                proc.Refresh();
                samples.Add(new Sample(clock.Elapsed.TotalSeconds, GC.GetTotalMemory(false), proc.WorkingSet64, Interlocked.Read(ref completed)));
                await Task.Delay(TimeSpan.FromSeconds(10));
            }
        });
        await Task.WhenAll(Enumerable.Range(0, 64).Select(Client));
        await sampler;

        // Let aborted requests drain, then the pool must be empty.
        double? usage = null;
        for (int i = 0; i < 100 && usage is not 0; i++)
        {
            await Task.Delay(100);
            usage = await server.MetricAsync("modular:kv_cache_usage_perc");
        }
        GC.Collect();
        proc.Refresh();
        samples.Add(new Sample(clock.Elapsed.TotalSeconds, GC.GetTotalMemory(true), proc.WorkingSet64, completed));

        var report = new System.Text.StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"soak: {seconds:F0} s, 64 clients, guided={guided}: completed {completed}, aborted {aborted}, non-200 {failed}; statuses {string.Join(", ", statusCounts.OrderBy(k => k.Key).Select(k => $"{k.Key}x{k.Value}"))}");
        report.AppendLine("t_s, gc_heap_MB, working_set_MB, completed");
        foreach (var x in samples)
            report.AppendLine(CultureInfo.InvariantCulture, $"{x.Seconds:F0}, {x.GcHeap / 1048576.0:F1}, {x.WorkingSet / 1048576.0:F1}, {x.Completed}");
        report.AppendLine("minute, requests, p50_ms, p99_ms");
        foreach (var g in latencies.GroupBy(l => (int)(l.At / 60)).OrderBy(g => g.Key))
        {
            var ms = g.Select(l => l.Ms).Order().ToArray();
            report.AppendLine(CultureInfo.InvariantCulture, $"{g.Key}, {ms.Length}, {ms[ms.Length / 2]:F0}, {ms[Math.Min(ms.Length - 1, (int)(ms.Length * 0.99))]:F0}");
        }
        report.AppendLine(CultureInfo.InvariantCulture, $"kv_cache_usage at end: {usage}");
        Console.WriteLine(report);
        TestContext.Current.SendDiagnosticMessage(report.ToString());
        File.WriteAllText(Path.Combine(Path.GetTempPath(), "modular-soak.txt"), report.ToString());

        Assert.Equal(0, usage);
        Assert.Equal(200, await server.HealthAsync());
        Assert.True(completed > 0);
        Assert.False(statusCounts.ContainsKey(500), "the soak saw 500s");
    }
}
