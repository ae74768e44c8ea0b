using Modular.Abstractions;

namespace Modular.TestPlugins.Alpha;

/// <summary>Shared ordering code; abstract, so the host's scan must skip it.</summary>
public abstract class PolicyBase : ISchedulerPolicy
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public int Compare(ISchedulable a, ISchedulable b) => a.ArrivalOrder.CompareTo(b.ArrivalOrder);

    /// <inheritdoc />
    public int SelectVictim(IReadOnlyList<ISchedulable> running) => running.Count - 1;
}

/// <summary>Public and not registered by the plugin: the host's scan must register it.</summary>
public sealed class AlphaFifoPolicy : PolicyBase
{
    /// <inheritdoc />
    public override string Name => "alpha-fifo";
}

/// <summary>Not public: the host's scan must skip it.</summary>
internal sealed class HiddenPolicy : PolicyBase
{
    public override string Name => "hidden";
}

/// <summary>Registered by <see cref="AlphaPlugin"/> itself: the scan must not register it a second time.</summary>
public sealed class AlphaRouter : IRouter
{
    /// <inheritdoc />
    public bool Handles(string model) => model == "alpha-auto";

    /// <inheritdoc />
    public ValueTask<RouteDecision> RouteAsync(RouteRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(new RouteDecision("alpha-model", "test router"));
}
