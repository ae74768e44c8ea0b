using Prometheus;

namespace Modular.Server.Routing;

/// <summary>
/// The front end's own Prometheus metrics under <c>modular_router_</c> (plain underscores: the client library refuses colons), label <c>target</c>: requests answered per
/// target, failed attempts, failovers, streams cut by a dying target, requests in flight, target health, and the
/// time the router takes to decide.
/// </summary>
internal sealed class RouterMetrics
{
    private readonly Counter _routed, _failures, _streamErrors;
    private readonly Counter _retries, _unroutable;
    private readonly Gauge _running, _up;
    private readonly Histogram _decision;

    public RouterMetrics(IReadOnlyList<ForwardTarget> targets)
    {
        Registry = Metrics.NewCustomRegistry();
        var f = Metrics.WithCustomRegistry(Registry);
        string[] label = ["target"];
        _routed = f.CreateCounter("modular_router_routed_requests_total", "Requests answered by each target (after any failover).", label);
        _failures = f.CreateCounter("modular_router_attempt_failures_total", "Forwarding attempts that failed at a target before anything was sent to the client.", label);
        _streamErrors = f.CreateCounter("modular_router_stream_errors_total", "Streams a target broke off after it had started; the client got an error event.", label);
        _retries = f.CreateCounter("modular_router_retries_total", "Requests tried again on another target.");
        _unroutable = f.CreateCounter("modular_router_unroutable_requests_total", "Requests no target could answer.");
        _running = f.CreateGauge("modular_router_requests_running", "Requests being forwarded to each target.", label);
        _up = f.CreateGauge("modular_router_target_up", "1 when the target's circuit lets requests through: closed (health checks pass, few failures), or open with its break over.", label);
        _decision = f.CreateHistogram("modular_router_decision_seconds", "Time the router took to choose a target.",
            new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.00001, 2, 16) });
        foreach (var t in targets)
        {
            _routed.WithLabels(t.Name).IncTo(0);
            _failures.WithLabels(t.Name).IncTo(0);
            _streamErrors.WithLabels(t.Name).IncTo(0);
            _running.WithLabels(t.Name).Set(0);
        }
        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var t in targets) _up.WithLabels(t.Name).Set(t.Available ? 1 : 0);
        });
    }

    public CollectorRegistry Registry { get; }

    public void Routed(string target) => _routed.WithLabels(target).Inc();
    public void AttemptFailed(string target) => _failures.WithLabels(target).Inc();
    public void StreamBroken(string target) => _streamErrors.WithLabels(target).Inc();
    public void Retried() => _retries.Inc();
    public void Unroutable() => _unroutable.Inc();
    public void Decided(double seconds) => _decision.Observe(seconds);
    public IDisposable Running(string target) => _running.WithLabels(target).TrackInProgress();

    public Task WriteAsync(Stream output, CancellationToken cancellationToken) => Registry.CollectAndExportAsTextAsync(output, cancellationToken);
}
