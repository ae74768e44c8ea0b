namespace Modular.Engine;

/// <summary>
/// The engine thread's time over a run (<see cref="EngineCore"/>'s profiling counters, differenced). In a synchronous
/// engine the device waits while the host schedules, prepares and updates, so those three are the host overhead that
/// overlapping step N+1's scheduling with step N's device work could hide.
/// </summary>
/// <param name="Steps">Engine steps that computed tokens.</param>
/// <param name="Schedule">Scheduling and flattening each step.</param>
/// <param name="Forward">Forward passes, the wait for the device included.</param>
/// <param name="Prepare">The part of <paramref name="Forward"/> spent on the host before the step's work reached the device.</param>
/// <param name="Update">Sampling, sequence updates and output delivery.</param>
public sealed record EngineTimeSplit(long Steps, double Schedule, double Forward, double Prepare, double Update)
{
    /// <summary>Host seconds while the device had nothing of this engine's to run.</summary>
    public double HostSeconds => Schedule + Prepare + Update;

    /// <summary>The counters of <paramref name="core"/> now.</summary>
    public static EngineTimeSplit Of(EngineCore core) =>
        new(core.Metrics.Snapshot().Steps, core.ScheduleSeconds, core.ModelSeconds, core.PrepareSeconds, core.SampleSeconds);

    /// <summary>This reading minus an earlier one.</summary>
    public EngineTimeSplit Since(EngineTimeSplit before) =>
        new(Steps - before.Steps, Schedule - before.Schedule, Forward - before.Forward, Prepare - before.Prepare, Update - before.Update);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Steps} steps; schedule {Schedule:F3} s, forward {Forward:F3} s (host prepare {Prepare:F3} s), update {Update:F3} s; " +
        $"host work the device waited on: {HostSeconds:F3} s ({HostSeconds / Math.Max(Steps, 1) * 1e3:F2} ms per step)";
}
