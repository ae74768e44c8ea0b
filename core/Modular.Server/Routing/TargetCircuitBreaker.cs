namespace Modular.Server.Routing;

/// <summary>
/// A per-target circuit breaker: after <c>threshold</c> consecutive failures the target is skipped for the break
/// duration; then exactly one trial request is let through (half-open), whose success closes the breaker and whose
/// failure opens it again. Keeps a dead target from costing every request a connection attempt.
/// </summary>
internal sealed class TargetCircuitBreaker(int threshold, TimeSpan breakDuration, TimeProvider time)
{
    private enum State { Closed, Open, HalfOpen }

    private readonly Lock _lock = new();
    private State _state = State.Closed;
    private int _failures;
    private long _openUntil;

    /// <summary>True unless open and still within the break (a half-open trial in flight also counts as not allowing).</summary>
    public bool IsAllowing
    {
        get
        {
            lock (_lock)
            {
                return _state switch
                {
                    State.Closed => true,
                    State.Open => time.GetTimestamp() >= _openUntil,
                    _ => false,
                };
            }
        }
    }

    /// <summary>Takes permission for one request: always when closed, once (the trial) when the break is over.</summary>
    public bool TryAcquire()
    {
        lock (_lock)
        {
            switch (_state)
            {
                case State.Closed:
                    return true;
                case State.Open when time.GetTimestamp() >= _openUntil:
                    _state = State.HalfOpen;
                    return true;
                default:
                    return false;
            }
        }
    }

    /// <summary>The request succeeded: close.</summary>
    public void Success()
    {
        lock (_lock)
        {
            _state = State.Closed;
            _failures = 0;
        }
    }

    /// <summary>The request failed at the target: count it, and open when over the threshold or when the trial failed.</summary>
    public void Failure()
    {
        lock (_lock)
        {
            _failures++;
            if (_state == State.HalfOpen || _failures >= threshold)
            {
                _state = State.Open;
                _openUntil = time.GetTimestamp() + (long)(breakDuration.TotalSeconds * time.TimestampFrequency);
            }
        }
    }

    /// <summary>The request ended without telling anything about the target (the client left): release a trial.</summary>
    public void Abandon()
    {
        lock (_lock)
        {
            if (_state == State.HalfOpen)
            {
                _state = State.Open;
                _openUntil = time.GetTimestamp();
            }
        }
    }
}
