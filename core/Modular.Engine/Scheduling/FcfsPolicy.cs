using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>First come, first served: admit in arrival order; preempt the latest arrival.</summary>
public sealed class FcfsPolicy : ISchedulerPolicy
{
    /// <inheritdoc />
    public string Name => "fcfs";

    /// <inheritdoc />
    public int Compare(ISchedulable a, ISchedulable b) => a.ArrivalOrder.CompareTo(b.ArrivalOrder);

    /// <inheritdoc />
    public int SelectVictim(IReadOnlyList<ISchedulable> running)
    {
        if (running.Count == 0) throw new ArgumentException("no running request to preempt", nameof(running));
        int victim = 0;
        // ">=" picks the last of equal arrivals: the most recently forked sample of a request goes first.
        for (int i = 1; i < running.Count; i++)
            if (running[i].ArrivalOrder >= running[victim].ArrivalOrder) victim = i;
        return victim;
    }
}
