using Polly.CircuitBreaker;

namespace Modular.Server.Routing;

/// <summary>
/// The router's view of one target's Polly circuit breaker (the breaker itself sits in the target's HTTP client,
/// see <see cref="RouterResilience"/>): its state, read through a <see cref="CircuitBreakerStateProvider"/>, and a
/// <see cref="CircuitBreakerManualControl"/> through which the health probe isolates a target that fails its
/// <c>/health</c> and closes the circuit again once it passes. Holds no state machine of its own: besides Polly's
/// state it only remembers when the last break ends, because Polly moves an open circuit to half-open only when a
/// request tries it, and the router has to know when to let that trial request through.
/// </summary>
internal sealed class TargetCircuit(TimeProvider time)
{
    private long _openUntilTicks = DateTimeOffset.MinValue.UtcTicks;
    private volatile string? _isolationReason;

    /// <summary>Wired into the breaker's options; reads Polly's circuit state.</summary>
    public CircuitBreakerStateProvider StateProvider { get; } = new();

    /// <summary>Wired into the breaker's options; isolates and closes the circuit by hand.</summary>
    public CircuitBreakerManualControl ManualControl { get; } = new();

    /// <summary>Polly's state of the circuit.</summary>
    public CircuitState State => StateProvider.CircuitState;

    /// <summary>
    /// Whether the router should send requests here: the circuit is closed, or open with its break over (the next
    /// request is then Polly's half-open trial). Half-open (a trial in flight) and isolated (failed health probe) are not.
    /// </summary>
    public bool Available => State switch
    {
        CircuitState.Closed => true,
        CircuitState.Open => time.GetUtcNow().UtcTicks >= Interlocked.Read(ref _openUntilTicks),
        _ => false,
    };

    /// <summary>Why the health probe isolated the target, while it is isolated.</summary>
    public string? IsolationReason => State == CircuitState.Isolated ? _isolationReason : null;

    /// <summary>The breaker opened on its own for <paramref name="breakDuration"/> (called from its OnOpened).</summary>
    public void Opened(TimeSpan breakDuration)
    {
        var now = time.GetUtcNow();
        long until = breakDuration >= DateTimeOffset.MaxValue - now ? DateTimeOffset.MaxValue.UtcTicks : (now + breakDuration).UtcTicks;
        Interlocked.Exchange(ref _openUntilTicks, until);
    }

    /// <summary>
    /// Takes the target out until <see cref="CloseIfIsolatedAsync"/>: every request to it fails at once with an
    /// <see cref="IsolatedCircuitException"/>. An isolated circuit only gets the new reason (isolating again would
    /// report a new opening to Polly's telemetry on every probe).
    /// </summary>
    /// <returns>True when the circuit was not isolated before.</returns>
    public async Task<bool> IsolateAsync(string reason, CancellationToken cancellationToken)
    {
        _isolationReason = reason;
        if (State == CircuitState.Isolated) return false;
        await ManualControl.IsolateAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Closes a circuit the health probe isolated; a circuit the breaker opened itself is left to its break.</summary>
    /// <returns>True when the circuit was isolated and is now closed.</returns>
    public async Task<bool> CloseIfIsolatedAsync(CancellationToken cancellationToken)
    {
        if (State != CircuitState.Isolated) return false;
        await ManualControl.CloseAsync(cancellationToken).ConfigureAwait(false);
        _isolationReason = null;
        return true;
    }

    /// <summary>A short description for logs and <c>/health</c>.</summary>
    public string Describe() => State switch
    {
        CircuitState.Closed => "up",
        CircuitState.Isolated => $"down: {_isolationReason ?? "health check failed"}",
        CircuitState.HalfOpen => "circuit half-open (trial request in flight)",
        _ => Available ? "circuit open, break over (next request is a trial)" : "circuit open",
    };
}
