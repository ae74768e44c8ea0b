using Modular.Abstractions;

namespace Modular.Engine;

/// <summary>Built-in scheduling policies by configuration name.</summary>
public static class SchedulerPolicies
{
    /// <summary>Names accepted by <see cref="Create"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["fcfs", "priority"];

    /// <summary>The policy named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static ISchedulerPolicy Create(string name) => name.ToLowerInvariant() switch
    {
        "fcfs" => new FcfsPolicy(),
        "priority" => new PriorityPolicy(),
        _ => throw new ArgumentException($"scheduling policy \"{name}\" is unknown; use one of: {string.Join(", ", Names)}", nameof(name)),
    };
}
