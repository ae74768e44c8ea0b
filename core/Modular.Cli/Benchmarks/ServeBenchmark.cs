using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Modular.Cli.Benchmarks;

/// <summary>One request of a serving benchmark: prompt text and how many tokens to ask for.</summary>
internal sealed record ServeRequest(string Prompt, int MaxTokens);

/// <summary>What a client saw of one request.</summary>
internal sealed record ServeSample(bool Ok, double Ttft, double E2e, int OutputTokens, double[] Itl, string? Error)
{
    /// <summary>Time per output token after the first.</summary>
    public double Tpot => OutputTokens > 1 ? (E2e - Ttft) / (OutputTokens - 1) : 0;
}

/// <summary>Settings: arrival process, concurrency cap, SLOs for goodput.</summary>
internal sealed record ServeSettings(string BaseUrl, string Model, double RequestRate, int MaxConcurrency, bool Burst, int Seed,
    double? SloTtftMs, double? SloTpotMs, string? ApiKey);

/// <summary>
/// <c>modular bench serve</c>: drives any OpenAI-compatible server with streaming completions, arrivals Poisson at a
/// request rate (or all at once), capped by a concurrency limit, and measures TTFT, TPOT, ITL and e2e per request
/// from the client side, as vLLM's bench serve does.
/// </summary>
internal static class ServeBenchmark
{
    public static async Task<(IReadOnlyList<ServeSample> Samples, double Seconds)> RunAsync(ServeSettings s, IReadOnlyList<ServeRequest> requests, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(s.BaseUrl.TrimEnd('/') + "/"), Timeout = Timeout.InfiniteTimeSpan };
        if (s.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", s.ApiKey);
        var rng = new Random(s.Seed);
        using var gate = new SemaphoreSlim(s.MaxConcurrency > 0 ? s.MaxConcurrency : int.MaxValue);
        var tasks = new List<Task<ServeSample>>(requests.Count);
        var clock = Stopwatch.StartNew();
        foreach (var r in requests)
        {
            if (!s.Burst && s.RequestRate > 0 && !double.IsInfinity(s.RequestRate))
            {
                // Exponential inter-arrival times give a Poisson arrival process at the requested rate.
                double wait = -Math.Log(1 - rng.NextDouble()) / s.RequestRate;
                await Task.Delay(TimeSpan.FromSeconds(wait), ct);
            }
            await gate.WaitAsync(ct);
            tasks.Add(Task.Run(async () =>
            {
                try { return await OneAsync(http, s.Model, r, ct); }
                finally { gate.Release(); }
            }, ct));
        }
        var samples = await Task.WhenAll(tasks);
        return (samples, clock.Elapsed.TotalSeconds);
    }

    private static async Task<ServeSample> OneAsync(HttpClient http, string model, ServeRequest r, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["model"] = model, ["prompt"] = r.Prompt, ["max_tokens"] = r.MaxTokens, ["stream"] = true,
            ["ignore_eos"] = true, ["temperature"] = 0, ["stream_options"] = new JsonObject { ["include_usage"] = true },
        };
        var start = Stopwatch.GetTimestamp();
        double ttft = 0, last = 0;
        var itl = new List<double>();
        int tokens = 0;
        try
        {
            using var req = new HttpRequestMessage(HttpMethod.Post, "v1/completions") { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            using var resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, ct);
            if (!resp.IsSuccessStatusCode)
                return new ServeSample(false, 0, 0, 0, [], $"HTTP {(int)resp.StatusCode}: {await resp.Content.ReadAsStringAsync(ct)}");
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync(ct));
            int? usageTokens = null;
            while (await reader.ReadLineAsync(ct) is string line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                var data = line.AsSpan(6);
                if (data.SequenceEqual("[DONE]")) break;
                using var doc = JsonDocument.Parse(line[6..]);
                if (doc.RootElement.TryGetProperty("error", out var err)) return new ServeSample(false, 0, 0, 0, [], err.ToString());
                if (doc.RootElement.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object && u.TryGetProperty("completion_tokens", out var ctok))
                    usageTokens = ctok.GetInt32();
                if (!doc.RootElement.TryGetProperty("choices", out var ch) || ch.GetArrayLength() == 0) continue;
                var text = ch[0].TryGetProperty("text", out var t) ? t.GetString() : null;
                if (string.IsNullOrEmpty(text)) continue;
                double now = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (tokens == 0) ttft = now; else itl.Add(now - last);
                last = now;
                tokens++;
            }
            double e2e = Stopwatch.GetElapsedTime(start).TotalSeconds;
            return new ServeSample(true, ttft, e2e, usageTokens ?? tokens, itl.ToArray(), null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new ServeSample(false, 0, 0, 0, [], e.Message);
        }
    }

    /// <summary>Summary statistics of a run, as a JSON-friendly object and printable lines.</summary>
    public static object Summarize(ServeSettings s, IReadOnlyList<ServeSample> samples, double seconds, Action<string> print)
    {
        var ok = samples.Where(x => x.Ok).ToList();
        static double Pct(IEnumerable<double> xs, double p)
        {
            var a = xs.Order().ToArray();
            if (a.Length == 0) return double.NaN;
            double rank = p * (a.Length - 1);
            int lo = (int)rank, hi = Math.Min(a.Length - 1, lo + 1);
            return a[lo] + (a[hi] - a[lo]) * (rank - lo);
        }
        object Stats(string name, IEnumerable<double> secs)
        {
            var ms = secs.Select(x => x * 1000).ToArray();
            var r = new { mean_ms = ms.Length > 0 ? ms.Average() : double.NaN, median_ms = Pct(ms, 0.5), p99_ms = Pct(ms, 0.99) };
            print($"{name,-6} mean {r.mean_ms,9:F2} ms   median {r.median_ms,9:F2} ms   p99 {r.p99_ms,9:F2} ms");
            return r;
        }
        long outTokens = ok.Sum(x => (long)x.OutputTokens);
        int good = ok.Count(x => (s.SloTtftMs is not double t || x.Ttft * 1000 <= t) && (s.SloTpotMs is not double p || x.Tpot * 1000 <= p));
        print($"requests: {ok.Count} ok, {samples.Count - ok.Count} failed in {seconds:F2} s");
        print($"request throughput {ok.Count / seconds:F2} req/s, output token throughput {outTokens / seconds:F1} tok/s");
        if (s.SloTtftMs is not null || s.SloTpotMs is not null) print($"goodput {good / seconds:F2} req/s (SLO ttft {s.SloTtftMs} ms, tpot {s.SloTpotMs} ms)");
        var result = new
        {
            completed = ok.Count, failed = samples.Count - ok.Count, duration_s = seconds,
            request_throughput = ok.Count / seconds, output_throughput = outTokens / seconds, goodput = good / seconds,
            ttft = Stats("TTFT", ok.Select(x => x.Ttft)), tpot = Stats("TPOT", ok.Select(x => x.Tpot)),
            itl = Stats("ITL", ok.SelectMany(x => x.Itl)), e2e = Stats("E2E", ok.Select(x => x.E2e)),
            first_errors = samples.Where(x => !x.Ok).Select(x => x.Error).Take(5).ToArray(),
        };
        return result;
    }

    /// <summary>
    /// Requests of ShareGPT-like lengths cut from a corpus: prompt and output lengths drawn log-normally around
    /// ShareGPT's medians (~200 words in, ~250 tokens out), clipped to the limits.
    /// </summary>
    public static List<ServeRequest> FromCorpus(string corpus, int count, int maxPromptWords, int maxOutput, int seed)
    {
        var words = File.ReadAllText(corpus).Split((char[])[' ', '\n', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
        var rng = new Random(seed);
        double LogNormal(double median, double sigma)
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            return median * Math.Exp(sigma * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        var list = new List<ServeRequest>(count);
        for (int i = 0; i < count; i++)
        {
            int n = Math.Clamp((int)LogNormal(Math.Min(200, maxPromptWords / 2.0), 0.8), 4, maxPromptWords);
            int start = rng.Next(Math.Max(1, words.Length - n));
            int outLen = Math.Clamp((int)LogNormal(Math.Min(250, maxOutput / 2.0), 0.8), 1, maxOutput);
            list.Add(new ServeRequest(string.Join(' ', words, start, Math.Min(n, words.Length - start)), outLen));
        }
        return list;
    }
}
