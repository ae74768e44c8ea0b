using System.Diagnostics;
using Modular.Abstractions;

// The web SDK imports Microsoft.AspNetCore.Routing, which has an IRouter of its own.
using IRouter = Modular.Abstractions.IRouter;

namespace Modular.Server.Routing;

/// <summary>Decision-time percentiles of a router over a set of requests.</summary>
/// <param name="Decisions">Decisions timed.</param>
/// <param name="P50Microseconds">Median decision time.</param>
/// <param name="P99Microseconds">99th percentile.</param>
/// <param name="MaxMicroseconds">Slowest decision.</param>
/// <param name="TargetCounts">How many decisions went to each target.</param>
public sealed record RouteBenchmarkResult(int Decisions, double P50Microseconds, double P99Microseconds, double MaxMicroseconds,
    IReadOnlyDictionary<string, int> TargetCounts)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Decisions} decisions: p50 {P50Microseconds:0.0} us, p99 {P99Microseconds:0.0} us, max {MaxMicroseconds:0.0} us; " +
        string.Join(", ", TargetCounts.Select(kv => $"{kv.Key}={kv.Value}"));
}

/// <summary>Times <see cref="IRouter.RouteAsync"/> alone (no network): the cost routing adds to every request.</summary>
public static class RouteBenchmark
{
    /// <summary>Runs <paramref name="warmup"/> untimed passes, then times <paramref name="decisions"/> decisions cycling through <paramref name="requests"/>.</summary>
    public static async Task<RouteBenchmarkResult> RunAsync(IRouter router, IReadOnlyList<RouteRequest> requests, int decisions = 5000, int warmup = 500,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentOutOfRangeException.ThrowIfZero(requests.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(decisions, 1);
        for (int i = 0; i < warmup; i++) await router.RouteAsync(requests[i % requests.Count], cancellationToken).ConfigureAwait(false);

        var times = new double[decisions];
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < decisions; i++)
        {
            long start = Stopwatch.GetTimestamp();
            var d = await router.RouteAsync(requests[i % requests.Count], cancellationToken).ConfigureAwait(false);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            counts[d.Target] = counts.GetValueOrDefault(d.Target) + 1;
        }
        Array.Sort(times);
        return new RouteBenchmarkResult(decisions, Percentile(times, 0.50), Percentile(times, 0.99), times[^1], counts);
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
}
