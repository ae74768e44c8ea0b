namespace Modular.Engine;

/// <summary>
/// Engine counters and latency samples. The engine thread writes; any thread may read <see cref="Snapshot"/>.
/// Counters only grow; gauges are the state after the latest step.
/// </summary>
public sealed class EngineMetrics
{
    /// <summary>Upper bounds (seconds) of the latency histogram buckets, as vLLM's Prometheus exporter uses.</summary>
    public static readonly double[] LatencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

    private readonly object _gate = new();
    private readonly LatencyHistogram _ttft = new(LatencyBuckets);
    private readonly LatencyHistogram _itl = new(LatencyBuckets);
    private readonly LatencyHistogram _e2e = new(LatencyBuckets);
    private int _running, _waiting;
    private double _kvUsage;
    private long _prefixQueries, _prefixHits, _preemptions, _promptTokens, _computedTokens, _generationTokens, _steps;
    private long _finished, _aborted, _failed;

    internal void SetGauges(int running, int waiting, double kvUsage, long prefixQueries, long prefixHits, long preemptions)
    {
        lock (_gate)
        {
            _running = running; _waiting = waiting; _kvUsage = kvUsage;
            _prefixQueries = prefixQueries; _prefixHits = prefixHits; _preemptions = preemptions;
        }
    }

    internal void AddPromptTokens(int prompt)
    {
        lock (_gate) _promptTokens += prompt;
    }

    internal void AddStepTokens(int computed, int generation)
    {
        // Once per executed step: gauges are also refreshed by idle polls and aborts, which are not steps.
        lock (_gate) { _computedTokens += computed; _generationTokens += generation; _steps++; }
    }

    internal void ObserveFirstToken(double seconds) { lock (_gate) _ttft.Observe(seconds); }
    internal void ObserveInterToken(double seconds) { lock (_gate) _itl.Observe(seconds); }

    internal void ObserveFinished(double e2eSeconds, string reason)
    {
        lock (_gate)
        {
            _e2e.Observe(e2eSeconds);
            if (reason == FinishReasons.Abort) _aborted++;
            else if (reason == FinishReasons.Error) _failed++;
            else _finished++;
        }
    }

    /// <summary>A consistent copy of every counter, gauge and histogram.</summary>
    public EngineMetricsSnapshot Snapshot()
    {
        lock (_gate)
            return new EngineMetricsSnapshot(_running, _waiting, _kvUsage, _prefixQueries, _prefixHits, _preemptions,
                _promptTokens, _computedTokens, _generationTokens, _steps, _finished, _aborted, _failed, _ttft.Copy(), _itl.Copy(), _e2e.Copy());
    }
}

/// <summary>Engine state at one moment.</summary>
/// <param name="Running">Sequences running.</param>
/// <param name="Waiting">Sequences waiting (new or preempted).</param>
/// <param name="KvCacheUsage">Fraction of KV blocks held by sequences.</param>
/// <param name="PrefixCacheQueryTokens">Tokens looked up in the prefix cache.</param>
/// <param name="PrefixCacheHitTokens">Tokens found there.</param>
/// <param name="Preemptions">Sequences preempted (recompute).</param>
/// <param name="PromptTokens">Prompt tokens of admitted requests.</param>
/// <param name="ComputedTokens">Tokens run through the model (prefill chunks, recomputation and decodes; prefix-cache hits excluded).</param>
/// <param name="GenerationTokens">Tokens generated.</param>
/// <param name="Steps">Engine steps that computed tokens.</param>
/// <param name="RequestsFinished">Requests that finished normally.</param>
/// <param name="RequestsAborted">Requests aborted.</param>
/// <param name="RequestsFailed">Requests that failed.</param>
/// <param name="TimeToFirstToken">TTFT seconds.</param>
/// <param name="InterTokenLatency">Gaps between consecutive tokens of a sample, seconds.</param>
/// <param name="EndToEndLatency">Arrival to finish, seconds.</param>
public sealed record EngineMetricsSnapshot(int Running, int Waiting, double KvCacheUsage, long PrefixCacheQueryTokens,
    long PrefixCacheHitTokens, long Preemptions, long PromptTokens, long ComputedTokens, long GenerationTokens, long Steps,
    long RequestsFinished, long RequestsAborted, long RequestsFailed,
    HistogramSnapshot TimeToFirstToken, HistogramSnapshot InterTokenLatency, HistogramSnapshot EndToEndLatency)
{
    /// <summary>Hit rate of the prefix cache in tokens (0 when nothing was looked up).</summary>
    public double PrefixCacheHitRate => PrefixCacheQueryTokens == 0 ? 0 : (double)PrefixCacheHitTokens / PrefixCacheQueryTokens;
}

/// <summary>A cumulative histogram (Prometheus style) plus the most recent samples for percentiles.</summary>
/// <param name="Bounds">Bucket upper bounds.</param>
/// <param name="Counts">Observations at or below each bound (cumulative); the last entry is +Inf.</param>
/// <param name="Count">All observations.</param>
/// <param name="Sum">Sum of observations.</param>
/// <param name="Recent">Up to the last 1024 observations, oldest first.</param>
public sealed record HistogramSnapshot(IReadOnlyList<double> Bounds, IReadOnlyList<long> Counts, long Count, double Sum, IReadOnlyList<double> Recent)
{
    /// <summary>The <paramref name="q"/>-quantile (0..1) of the recent samples, or NaN when there are none.</summary>
    public double Quantile(double q)
    {
        if (Recent.Count == 0) return double.NaN;
        var sorted = Recent.ToArray();
        Array.Sort(sorted);
        int i = (int)Math.Clamp(Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1);
        return sorted[i];
    }

    /// <summary>Mean of all observations, or NaN.</summary>
    public double Mean => Count == 0 ? double.NaN : Sum / Count;
}

/// <summary>Histogram state behind <see cref="EngineMetrics"/>; guarded by the metrics lock.</summary>
internal sealed class LatencyHistogram(double[] bounds)
{
    private const int RecentCapacity = 1024;
    private readonly long[] _counts = new long[bounds.Length + 1];
    private readonly double[] _recent = new double[RecentCapacity];
    private long _count;
    private double _sum;

    public void Observe(double v)
    {
        int b = 0;
        while (b < bounds.Length && v > bounds[b]) b++;
        _counts[b]++;
        _recent[_count % RecentCapacity] = v;
        _count++;
        _sum += v;
    }

    public HistogramSnapshot Copy()
    {
        var cumulative = new long[_counts.Length];
        long run = 0;
        for (int i = 0; i < _counts.Length; i++) cumulative[i] = run += _counts[i];
        int n = (int)Math.Min(_count, RecentCapacity);
        var recent = new double[n];
        for (int i = 0; i < n; i++) recent[i] = _recent[(_count - n + i) % RecentCapacity];
        return new HistogramSnapshot(bounds, cumulative, _count, _sum, recent);
    }
}
