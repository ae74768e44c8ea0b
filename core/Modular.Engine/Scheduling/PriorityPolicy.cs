using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>
/// vLLM's priority scheduling: lower <see cref="ISchedulable.Priority"/> first, ties by arrival; the victim is the
/// running request with the highest priority value, latest arrival among equals.
/// </summary>
public sealed class PriorityPolicy : ISchedulerPolicy
{
    /// <inheritdoc />
    public string Name => "priority";

    /// <inheritdoc />
    public int Compare(ISchedulable a, ISchedulable b)
    {
        int c = a.Priority.CompareTo(b.Priority);
        return c != 0 ? c : a.ArrivalOrder.CompareTo(b.ArrivalOrder);
    }

    /// <inheritdoc />
    public int SelectVictim(IReadOnlyList<ISchedulable> running)
    {
        if (running.Count == 0) throw new ArgumentException("no running request to preempt", nameof(running));
        int victim = 0;
        for (int i = 1; i < running.Count; i++)
            if (Compare(running[i], running[victim]) >= 0) victim = i;
        return victim;
    }
}
