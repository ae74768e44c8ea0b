using System.Globalization;
using Modular.Abstractions;
using Modular.Plugins.Router.Load;

namespace Modular.Plugins.Router.Rules;

/// <summary>How <see cref="LoadRule"/> spreads requests over its targets.</summary>
internal enum LoadStrategy
{
    /// <summary>Fewest running + waiting requests (scraped) plus those routed since the scrape.</summary>
    LeastOutstanding,
    /// <summary>Lowest KV-cache usage at the last scrape; ties broken by outstanding requests.</summary>
    KvUsage,
    /// <summary>Each available target in turn.</summary>
    RoundRobin,
    /// <summary>Random, in proportion to the targets' weights.</summary>
    WeightedRandom,
}

/// <summary>
/// Load balancing over a set of equivalent targets. Decides whenever at least one of its targets is available.
/// </summary>
internal sealed class LoadRule(IReadOnlyList<string> models, LoadStrategy strategy, IReadOnlyList<RouteTargetSpec> targets,
    TargetLoadMonitor monitor) : RouteRule(models)
{
    private readonly RouteTargetSpec[] _targets = [.. targets];
    private int _next = -1;

    public override string Kind => "load";

    public override ValueTask<RouteDecision?> TryRouteAsync(RouteContext context, CancellationToken cancellationToken)
    {
        var decision = strategy switch
        {
            LoadStrategy.RoundRobin => RoundRobin(context),
            LoadStrategy.WeightedRandom => WeightedRandom(context),
            _ => Lowest(context),
        };
        if (decision is not null) monitor.Routed(decision.Target);
        return ValueTask.FromResult(decision);
    }

    private RouteDecision? RoundRobin(RouteContext context)
    {
        int start = Interlocked.Increment(ref _next) & int.MaxValue;
        for (int k = 0; k < _targets.Length; k++)
        {
            var t = _targets[(start + k) % _targets.Length];
            if (context.IsAvailable(t.Name)) return new RouteDecision(t.Name, "load: round-robin");
        }
        return null;
    }

    private RouteDecision? WeightedRandom(RouteContext context)
    {
        double total = 0;
        foreach (var t in _targets) if (context.IsAvailable(t.Name)) total += t.Weight;
        if (total <= 0) return null;
        double pick = Random.Shared.NextDouble() * total;
        RouteTargetSpec? last = null;
        foreach (var t in _targets)
        {
            if (!context.IsAvailable(t.Name)) continue;
            last = t;
            pick -= t.Weight;
            if (pick < 0) break;
        }
        return new RouteDecision(last!.Name, $"load: weighted random (weight {last.Weight.ToString("0.##", CultureInfo.InvariantCulture)} of {total.ToString("0.##", CultureInfo.InvariantCulture)})");
    }

    private RouteDecision? Lowest(RouteContext context)
    {
        // Start at a rotating offset so that equal loads are shared out instead of always going to the first target.
        int start = Interlocked.Increment(ref _next) & int.MaxValue;
        RouteTargetSpec? best = null;
        double bestKv = double.PositiveInfinity, bestOutstanding = double.PositiveInfinity;
        for (int k = 0; k < _targets.Length; k++)
        {
            var t = _targets[(start + k) % _targets.Length];
            if (!context.IsAvailable(t.Name)) continue;
            double outstanding = monitor.Outstanding(t.Name);
            double kv = strategy == LoadStrategy.KvUsage ? monitor.KvUsage(t.Name) : 0;
            if (best is null || kv < bestKv || (kv == bestKv && outstanding < bestOutstanding))
            {
                best = t;
                bestKv = kv;
                bestOutstanding = outstanding;
            }
        }
        if (best is null) return null;
        string o = double.IsPositiveInfinity(bestOutstanding) ? "unknown" : bestOutstanding.ToString("0", CultureInfo.InvariantCulture);
        return strategy == LoadStrategy.KvUsage
            ? new RouteDecision(best.Name, $"load: lowest KV usage ({(double.IsPositiveInfinity(bestKv) ? "unknown" : bestKv.ToString("0.###", CultureInfo.InvariantCulture))}, {o} outstanding)")
            : new RouteDecision(best.Name, $"load: least outstanding ({o})");
    }
}
