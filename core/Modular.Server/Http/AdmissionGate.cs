namespace Modular.Server.Http;

/// <summary>
/// Bounds the generation requests in flight to those that can run plus <c>--max-queued-requests</c> more, and refuses
/// everything once shutdown has begun. A refused request costs nothing: it never reaches an engine.
/// </summary>
public sealed class AdmissionGate
{
    private readonly int _capacity;
    private int _inFlight;
    private volatile bool _draining;

    /// <param name="running">Requests the engine runs at once (max-num-seqs).</param>
    /// <param name="maxQueued">Requests allowed to wait beyond them; null for no bound.</param>
    public AdmissionGate(int running, int? maxQueued)
    {
        _capacity = maxQueued is int q ? checked(running + q) : int.MaxValue;
    }

    /// <summary>Requests admitted and not yet finished.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>True after shutdown began.</summary>
    public bool Draining => _draining;

    /// <summary>Stops admitting (SIGTERM): new requests get 503.</summary>
    public void BeginDrain() => _draining = true;

    /// <summary>Admits one request or throws the 429/503 to send; dispose the result when the request ends.</summary>
    public Ticket Enter()
    {
        if (_draining) throw ShuttingDown();
        if (Interlocked.Increment(ref _inFlight) > _capacity)
        {
            Interlocked.Decrement(ref _inFlight);
            throw new ApiException(429, $"the server is at capacity ({_capacity} requests running or queued); retry later", code: "queue_full")
            { RetryAfterSeconds = 1 };
        }
        return new Ticket(this);
    }

    /// <summary>The 503 sent while shutting down.</summary>
    public static ApiException ShuttingDown() =>
        new(503, "the server is shutting down and accepts no new requests", code: "shutting_down") { RetryAfterSeconds = 5 };

    /// <summary>One admitted request.</summary>
    public sealed class Ticket(AdmissionGate gate) : IDisposable
    {
        private int _done;

        /// <summary>Releases the request's place.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) Interlocked.Decrement(ref gate._inFlight);
        }
    }
}
