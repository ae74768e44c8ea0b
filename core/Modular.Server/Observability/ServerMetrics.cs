using Modular.Engine;
using Modular.Server.Engine;
using Prometheus;

namespace Modular.Server.Observability;

/// <summary>
/// vLLM's Prometheus metric set under the <c>modular:</c> prefix, one label <c>model_name</c>. Gauges and the
/// engine's cumulative counters are read from each engine's metrics snapshot just before a scrape; latency
/// histograms are observed per request as outputs stream out.
/// </summary>
public sealed class ServerMetrics
{
    private static readonly double[] TtftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
    private static readonly double[] ItlBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
    private static readonly double[] E2eBuckets = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

    // prometheus-net only accepts [a-zA-Z_][a-zA-Z0-9_]* names, so series are registered as modular_* and the
    // exposition text is rewritten to vLLM's colon-separated namespace on the way out.
    private const string Prefix = "modular_";
    private const string ExposedPrefix = "modular:";

    private readonly IReadOnlyList<ServedModel> _models;
    private readonly Dictionary<string, EngineMetricsSnapshot?> _last = new();
    private readonly object _gate = new();
    private readonly Gauge _running, _waiting, _kvUsage;
    private readonly Counter _prefixQueries, _prefixHits, _preemptions, _promptTokens, _generationTokens, _success;
    private readonly Histogram _ttft, _itl, _e2e, _promptLength, _generationLength;

    /// <summary>Creates the metrics in their own registry (one server, one registry).</summary>
    public ServerMetrics(IReadOnlyList<ServedModel> models)
    {
        _models = models;
        Registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(Registry);
        string[] label = ["model_name"];
        _running = f.CreateGauge(Prefix + "num_requests_running", "Number of sequences running on the engine.", label);
        _waiting = f.CreateGauge(Prefix + "num_requests_waiting", "Number of sequences waiting to be processed.", label);
        _kvUsage = f.CreateGauge(Prefix + "kv_cache_usage_perc", "KV-cache usage: 1 means 100 percent of blocks held.", label);
        _prefixQueries = f.CreateCounter(Prefix + "prefix_cache_queries_total", "Prefix-cache queries, in tokens.", label);
        _prefixHits = f.CreateCounter(Prefix + "prefix_cache_hits_total", "Prefix-cache hits, in tokens.", label);
        _preemptions = f.CreateCounter(Prefix + "num_preemptions_total", "Cumulative number of preemptions.", label);
        _promptTokens = f.CreateCounter(Prefix + "prompt_tokens_total", "Number of prefill tokens processed.", label);
        _generationTokens = f.CreateCounter(Prefix + "generation_tokens_total", "Number of generation tokens processed.", label);
        _success = f.CreateCounter(Prefix + "request_success_total", "Requests finished, by finish reason.", ["model_name", "finished_reason"]);
        _ttft = f.CreateHistogram(Prefix + "time_to_first_token_seconds", "Time to first token in seconds.", new HistogramConfiguration { LabelNames = label, Buckets = TtftBuckets });
        _itl = f.CreateHistogram(Prefix + "inter_token_latency_seconds", "Time between consecutive output tokens in seconds.", new HistogramConfiguration { LabelNames = label, Buckets = ItlBuckets });
        _e2e = f.CreateHistogram(Prefix + "e2e_request_latency_seconds", "End-to-end request latency in seconds.", new HistogramConfiguration { LabelNames = label, Buckets = E2eBuckets });
        _promptLength = f.CreateHistogram(Prefix + "request_prompt_tokens", "Prompt length of finished requests, in tokens.", new HistogramConfiguration { LabelNames = label, Buckets = Histogram.ExponentialBuckets(1, 2, 20) });
        _generationLength = f.CreateHistogram(Prefix + "request_generation_tokens", "Generated tokens of finished requests.", new HistogramConfiguration { LabelNames = label, Buckets = Histogram.ExponentialBuckets(1, 2, 20) });
        Registry.AddBeforeCollectCallback(Refresh);
    }

    /// <summary>The registry /metrics serialises.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Records a first token's latency.</summary>
    public void ObserveFirstToken(string model, double seconds) => _ttft.WithLabels(model).Observe(seconds);

    /// <summary>Records <paramref name="count"/> inter-token gaps of <paramref name="seconds"/> each.</summary>
    public void ObserveInterToken(string model, double seconds, int count) => _itl.WithLabels(model).Observe(seconds, count);

    /// <summary>Records a finished request.</summary>
    public void ObserveFinished(string model, string reason, double e2eSeconds, int promptTokens, int generationTokens)
    {
        _e2e.WithLabels(model).Observe(e2eSeconds);
        _success.WithLabels(model, reason).Inc();
        _promptLength.WithLabels(model).Observe(promptTokens);
        _generationLength.WithLabels(model).Observe(generationTokens);
    }

    /// <summary>Writes the Prometheus text exposition, names under <c>modular:</c>.</summary>
    public async Task WriteAsync(Stream output, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(buffer, cancellationToken).ConfigureAwait(false);
        string text = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        var bytes = System.Text.Encoding.UTF8.GetBytes(ToExposedNames(text));
        await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Renames <c>modular_x</c> series to <c>modular:x</c> in exposition text (sample lines and HELP/TYPE comments).</summary>
    internal static string ToExposedNames(string text)
    {
        var sb = new System.Text.StringBuilder(text.Length);
        foreach (var line in text.Split('\n'))
        {
            if (sb.Length > 0) sb.Append('\n');
            int at = line.StartsWith(Prefix, StringComparison.Ordinal) ? 0
                : line.StartsWith("# HELP " + Prefix, StringComparison.Ordinal) || line.StartsWith("# TYPE " + Prefix, StringComparison.Ordinal) ? 7
                : -1;
            if (at < 0) sb.Append(line);
            else sb.Append(line, 0, at).Append(ExposedPrefix).Append(line, at + Prefix.Length, line.Length - at - Prefix.Length);
        }
        return sb.ToString();
    }

    // Engine counters only grow; each scrape adds what they gained since the previous one.
    private void Refresh()
    {
        lock (_gate)
        {
            foreach (var m in _models)
            {
                var s = m.Engine.Metrics();
                string name = m.Name;
                _running.WithLabels(name).Set(s.Running);
                _waiting.WithLabels(name).Set(s.Waiting);
                _kvUsage.WithLabels(name).Set(s.KvCacheUsage);
                _last.TryGetValue(name, out var prev);
                Add(_prefixQueries, name, s.PrefixCacheQueryTokens, prev?.PrefixCacheQueryTokens);
                Add(_prefixHits, name, s.PrefixCacheHitTokens, prev?.PrefixCacheHitTokens);
                Add(_preemptions, name, s.Preemptions, prev?.Preemptions);
                Add(_promptTokens, name, s.PromptTokens, prev?.PromptTokens);
                Add(_generationTokens, name, s.GenerationTokens, prev?.GenerationTokens);
                _last[name] = s;
            }
        }
    }

    private static void Add(Counter c, string model, long now, long? before)
    {
        long delta = now - (before ?? 0);
        var child = c.WithLabels(model);
        if (delta > 0) child.Inc(delta);
        else if (before is null) child.Inc(0); // publish the series at zero
    }
}
