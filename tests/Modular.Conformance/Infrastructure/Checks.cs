using Modular.Abstractions;

namespace Modular.Conformance;

/// <summary>
/// Compares an output with its reference and fails naming the op, the shape, the worst element and the error
/// against the tolerance. Every comparison is also appended to MODULAR_CONFORMANCE_LOG (tab-separated) when set,
/// which is how docs/conformance reports are made.
/// </summary>
public static class Checks
{
    private static readonly Lock LogGate = new();

    /// <summary>Max-norm relative error; infinity when any element is NaN or infinite.</summary>
    public static double RelativeError(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, out int worst)
    {
        double maxRef = 0, maxErr = 0;
        worst = -1;
        for (int i = 0; i < expected.Length; i++) maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        for (int i = 0; i < actual.Length; i++)
        {
            double e = Math.Abs(actual[i] - expected[i]);
            if (!double.IsFinite(actual[i])) { worst = i; return double.PositiveInfinity; }
            if (e > maxErr) { maxErr = e; worst = i; }
        }
        return maxErr / Math.Max(maxRef, 1e-12);
    }

    /// <summary>Asserts that <paramref name="actual"/> matches <paramref name="expected"/> within <paramref name="tolerance"/>.</summary>
    public static double Close(string backend, string op, string shape, ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, double tolerance)
    {
        Assert.True(actual.Length == expected.Length, $"{op} {shape} on {backend}: output has {actual.Length} elements, reference {expected.Length}");
        double err = RelativeError(actual, expected, out int worst);
        bool pass = err <= tolerance;
        Record(backend, op, shape, err, tolerance, pass);
        if (!pass)
        {
            string at = worst >= 0 ? $" (worst at element {worst}: got {actual[worst]:G6}, expected {expected[worst]:G6})" : "";
            Assert.Fail($"{op} {shape} on {backend}: max relative error {err:E3} exceeds tolerance {tolerance:E1}{at}; seed {HostData.Seed}");
        }
        return err;
    }

    /// <summary>Same, with a float32 reference (another backend's output).</summary>
    public static double Close(string backend, string op, string shape, ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double tolerance)
    {
        var e = new double[expected.Length];
        for (int i = 0; i < e.Length; i++) e[i] = expected[i];
        return Close(backend, op, shape, actual, e, tolerance);
    }

    /// <summary>Asserts exact equality (copies, gathers, integer round trips).</summary>
    public static void Exact<T>(string backend, string op, string shape, ReadOnlySpan<T> actual, ReadOnlySpan<T> expected) where T : IEquatable<T>
    {
        Assert.True(actual.Length == expected.Length, $"{op} {shape} on {backend}: {actual.Length} elements, expected {expected.Length}");
        for (int i = 0; i < actual.Length; i++)
            if (!actual[i].Equals(expected[i]))
            {
                Record(backend, op, shape, double.NaN, 0, false);
                Assert.Fail($"{op} {shape} on {backend}: element {i} is {actual[i]}, expected {expected[i]} (exact); seed {HostData.Seed}");
            }
        Record(backend, op, shape, 0, 0, true);
    }

    /// <summary>Appends one line to the conformance log and the test's output.</summary>
    public static void Record(string backend, string op, string shape, double err, double tolerance, bool pass)
    {
        var line = $"{backend}\t{op}\t{shape}\t{err:E3}\t{tolerance:E1}\t{(pass ? "pass" : "FAIL")}";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        var path = Environment.GetEnvironmentVariable("MODULAR_CONFORMANCE_LOG");
        if (string.IsNullOrEmpty(path)) return;
        lock (LogGate) File.AppendAllText(path, line + "\n");
    }

    /// <summary>Appends a free-form line (perf timings) to the log and the test's output.</summary>
    public static void Note(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        var path = Environment.GetEnvironmentVariable("MODULAR_CONFORMANCE_LOG");
        if (string.IsNullOrEmpty(path)) return;
        lock (LogGate) File.AppendAllText(path, "# " + line + "\n");
    }

    /// <summary>The shape as "[a,b,c]".</summary>
    public static string Dims(params int[] d) => "[" + string.Join(",", d) + "]";

    /// <summary>Tolerance for an output of <paramref name="dtype"/> compared with the float64 reference.</summary>
    public static double Tol(DType dtype) => Tolerance.For(dtype);
}
