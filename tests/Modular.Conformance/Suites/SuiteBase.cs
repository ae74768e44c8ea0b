using Modular.Abstractions;

namespace Modular.Conformance.Suites;

/// <summary>
/// Shared plumbing of the abstract suites: the backend under test, its dtypes, fresh random data per test, and
/// <see cref="Verify"/>, which checks an op against the float64 oracle and, when the target is not the CPU
/// backend, against the CPU backend's output on the same inputs.
/// </summary>
public abstract class SuiteBase(BackendFixture fixture)
{
    /// <summary>The fixture.</summary>
    protected BackendFixture Fixture { get; } = fixture;

    /// <summary>The backend under test (skips when absent).</summary>
    protected IBackend Target => Fixture.Backend;

    /// <summary>Activation dtype of the target.</summary>
    protected DType Act => Target.ActivationDType;

    /// <summary>Weight dtype of the target for a BF16 checkpoint.</summary>
    protected DType Weight => Target.WeightDType(DType.BF16);

    /// <summary>Random data for the current test.</summary>
    protected HostData Data { get; } = new(TestContext.Current.Test?.TestDisplayName ?? "test");

    /// <summary>
    /// Runs <paramref name="run"/> on the target, compares with <paramref name="oracle"/>, then on the CPU
    /// backend (if the target is another backend) and compares the two outputs.
    /// </summary>
    protected void Verify(string op, string shape, Func<IBackend, float[]> run, double[] oracle)
    {
        var target = Target;
        var outT = run(target);
        double tol = Tolerance.For(target.ActivationDType);
        Checks.Close(target.Name, op, shape, outT, oracle, tol);
        if (Fixture.Cpu is { } cpu)
        {
            var outC = run(cpu);
            Checks.Close(target.Name, op + " vs cpu", shape, outT, outC, tol);
        }
    }
}
