using System.Diagnostics;
using System.Globalization;
using CsCheck;

namespace Modular.Hardening.Tests.Fuzz;

/// <summary>
/// Time boxes for the fuzz targets. Each target runs for <see cref="Seconds"/> (default 6 s, so the project fits in
/// about two minutes on two cores); set <c>MODULAR_FUZZ_SECONDS</c> to fuzz longer. Every target also records how
/// many cases it ran, printed to the test output.
/// </summary>
public static class FuzzBudget
{
    /// <summary>Seconds each fuzz target runs.</summary>
    public static double Seconds { get; } =
        double.TryParse(Environment.GetEnvironmentVariable("MODULAR_FUZZ_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0 ? s : 6;

    /// <summary>
    /// Samples <paramref name="gen"/> in batches until the time box is spent, checking each case with
    /// <paramref name="check"/> (which throws on a violated property; CsCheck then shrinks and reports the case).
    /// Returns the number of cases run.
    /// </summary>
    public static long Run<T>(Gen<T> gen, Action<T> check, double? seconds = null, int batch = 64)
    {
        var budget = TimeSpan.FromSeconds(seconds ?? Seconds);
        var sw = Stopwatch.StartNew();
        long cases = 0;
        while (sw.Elapsed < budget)
        {
            gen.Sample(check, iter: batch, threads: 1);
            cases += batch;
        }
        Report(cases, sw.Elapsed);
        return cases;
    }

    /// <summary>The asynchronous form of <see cref="Run{T}"/>.</summary>
    public static async Task<long> RunAsync<T>(Gen<T> gen, Func<T, Task> check, double? seconds = null, int batch = 64)
    {
        var budget = TimeSpan.FromSeconds(seconds ?? Seconds);
        var sw = Stopwatch.StartNew();
        long cases = 0;
        while (sw.Elapsed < budget)
        {
            await gen.SampleAsync(check, iter: batch, threads: 1);
            cases += batch;
        }
        Report(cases, sw.Elapsed);
        return cases;
    }

    // Names the target, so a long run's log says which target ran how many cases.
    private static void Report(long cases, TimeSpan elapsed)
    {
        string line = $"fuzz: {TestContext.Current.Test?.TestDisplayName ?? "?"}: {cases} cases in {elapsed.TotalSeconds:F1} s";
        TestContext.Current.SendDiagnosticMessage(line);
        Console.WriteLine(line);
    }

    /// <summary>Runs <paramref name="action"/> and fails when it takes longer than <paramref name="limit"/> (a hang or blow-up).</summary>
    public static void WithinTime(TimeSpan limit, Action action, Func<string> what)
    {
        var task = Task.Run(action);
        if (!task.Wait(limit)) throw new TimeoutException($"took longer than {limit.TotalSeconds} s: {what()}");
        task.GetAwaiter().GetResult();
    }
}
