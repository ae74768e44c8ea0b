namespace Modular.Abstractions;

/// <summary>What a scheduling policy may see of a request.</summary>
public interface ISchedulable
{
    /// <summary>Request id.</summary>
    string RequestId { get; }
    /// <summary>Lower values are served first under the priority policy (vLLM's convention).</summary>
    int Priority { get; }
    /// <summary>Monotonic arrival order.</summary>
    long ArrivalOrder { get; }
}

/// <summary>
/// Orders waiting requests and picks the running request to preempt when KV blocks run out.
/// </summary>
public interface ISchedulerPolicy
{
    /// <summary>Policy name as selected by configuration ("fcfs", "priority").</summary>
    string Name { get; }

    /// <summary>Negative when <paramref name="a"/> should be admitted before <paramref name="b"/>.</summary>
    int Compare(ISchedulable a, ISchedulable b);

    /// <summary>Index into <paramref name="running"/> of the request to preempt (recompute later).</summary>
    int SelectVictim(IReadOnlyList<ISchedulable> running);
}
