using System.Diagnostics;

namespace Modular.Plugins.Router.Load;

/// <summary>
/// Load of each target as seen from its <c>/metrics</c> (<c>modular:num_requests_running</c>,
/// <c>modular:num_requests_waiting</c>, <c>modular:kv_cache_usage_perc</c>; vLLM's <c>vllm:</c> names are read
/// too). Scrapes are driven by routing itself: a lookup that finds a target's numbers older than the interval starts
/// one scrape in the background and answers from what it has, so a decision never waits on the network. Between
/// scrapes the requests this router sent to a target count as outstanding on it, so a burst does not all land on the
/// target that looked idle at the last scrape.
/// </summary>
internal sealed class TargetLoadMonitor
{
    private readonly HttpClient _http;
    private readonly long _intervalTicks;
    private readonly TimeSpan _timeout;
    private readonly Dictionary<string, TargetLoad> _loads = new(StringComparer.OrdinalIgnoreCase);

    public TargetLoadMonitor(HttpClient http, IEnumerable<RouteTargetSpec> targets, TimeSpan interval, TimeSpan timeout)
    {
        _http = http;
        _intervalTicks = (long)(interval.TotalSeconds * Stopwatch.Frequency);
        _timeout = timeout;
        foreach (var t in targets) _loads[t.Name] = new TargetLoad(t);
    }

    /// <summary>Outstanding requests on <paramref name="target"/>: scraped running + waiting, plus those routed since; +∞ when its metrics cannot be read.</summary>
    public double Outstanding(string target)
    {
        var l = Get(target);
        if (l.Unreachable) return double.PositiveInfinity;
        return l.Running + l.Waiting + Volatile.Read(ref l.RoutedSinceScrape);
    }

    /// <summary>KV-cache usage (0..1) at the last scrape; +∞ when unknown or unreachable, so known targets are preferred.</summary>
    public double KvUsage(string target)
    {
        var l = Get(target);
        return l.Unreachable || l.KvUsage is not double kv ? double.PositiveInfinity : kv;
    }

    /// <summary>Counts a request routed to <paramref name="target"/> until the next scrape reflects it.</summary>
    public void Routed(string target)
    {
        if (_loads.TryGetValue(target, out var l)) Interlocked.Increment(ref l.RoutedSinceScrape);
    }

    private TargetLoad Get(string target)
    {
        var l = _loads[target];
        if (l.Spec.IsRemote && Stopwatch.GetTimestamp() - Volatile.Read(ref l.LastScrape) >= _intervalTicks
            && Interlocked.CompareExchange(ref l.Scraping, 1, 0) == 0)
            _ = Task.Run(() => ScrapeAsync(l));
        return l;
    }

    /// <summary>Scrapes every remote target now and waits (tests and start-up).</summary>
    public Task RefreshAllAsync()
    {
        var tasks = new List<Task>();
        foreach (var l in _loads.Values)
        {
            if (l.Spec.IsRemote && Interlocked.CompareExchange(ref l.Scraping, 1, 0) == 0) tasks.Add(ScrapeAsync(l));
        }
        return Task.WhenAll(tasks);
    }

    private async Task ScrapeAsync(TargetLoad l)
    {
        try
        {
            using var cts = new CancellationTokenSource(_timeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(l.Spec.Url!, "metrics"));
            if (l.Spec.ApiKey is { } key) request.Headers.Authorization = new("Bearer", key);
            int routedBefore = Volatile.Read(ref l.RoutedSinceScrape);
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
            var text = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
            l.Running = PrometheusText.Sum(text, "modular:num_requests_running") ?? PrometheusText.Sum(text, "vllm:num_requests_running") ?? 0;
            l.Waiting = PrometheusText.Sum(text, "modular:num_requests_waiting") ?? PrometheusText.Sum(text, "vllm:num_requests_waiting") ?? 0;
            // With several models on one server the busiest pool is what a new request competes with.
            l.KvUsage = PrometheusText.Max(text, "modular:kv_cache_usage_perc") ?? PrometheusText.Max(text, "vllm:kv_cache_usage_perc");
            l.Unreachable = false;
            // Requests routed while the scrape was in flight may not be in it yet; keep only those.
            Interlocked.Add(ref l.RoutedSinceScrape, -routedBefore);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            l.Unreachable = true;
        }
        finally
        {
            Volatile.Write(ref l.LastScrape, Stopwatch.GetTimestamp());
            Volatile.Write(ref l.Scraping, 0);
        }
    }

    private sealed class TargetLoad(RouteTargetSpec spec)
    {
        public readonly RouteTargetSpec Spec = spec;
        public double Running, Waiting;
        public double? KvUsage;
        public bool Unreachable;
        public int RoutedSinceScrape;
        public long LastScrape = long.MinValue / 2;
        public int Scraping;
    }
}
