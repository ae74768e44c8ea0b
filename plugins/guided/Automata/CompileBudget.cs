using System.Diagnostics;

namespace Modular.Plugins.Guided.Automata;

/// <summary>
/// A wall-clock budget for compiling one constraint, checked by the automaton builders and the schema compiler.
/// A constraint past its budget is refused with a clear message instead of stalling the request that asked for it;
/// the budget is per thread so concurrent compiles do not share it.
/// </summary>
public static class CompileBudget
{
    [ThreadStatic] private static long _deadline;
    [ThreadStatic] private static long _budgetMs;

    /// <summary>Starts a budget of <paramref name="milliseconds"/> on this thread (0 or less: unlimited) until the scope is disposed.</summary>
    public static Scope Start(int milliseconds)
    {
        var previous = (_deadline, _budgetMs);
        _budgetMs = milliseconds;
        _deadline = milliseconds > 0 ? Stopwatch.GetTimestamp() + milliseconds * Stopwatch.Frequency / 1000 : 0;
        return new Scope(previous.Item1, previous.Item2);
    }

    /// <summary>Throws <see cref="GuidedBuildException"/> when this thread's budget is spent.</summary>
    public static void Check()
    {
        long deadline = _deadline;
        if (deadline != 0 && Stopwatch.GetTimestamp() > deadline)
            throw new GuidedBuildException($"compiling took longer than the budget of {_budgetMs} ms");
    }

    /// <summary>Restores the budget that was in force before <see cref="Start"/>.</summary>
    public readonly struct Scope(long deadline, long budgetMs) : IDisposable
    {
        /// <inheritdoc />
        public void Dispose()
        {
            _deadline = deadline;
            _budgetMs = budgetMs;
        }
    }
}
