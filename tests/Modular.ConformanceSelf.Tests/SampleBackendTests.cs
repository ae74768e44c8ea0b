namespace Modular.ConformanceSelf.Tests;

/// <summary>
/// The vendor path end to end: samples/ScalarBackend, built on its own and loaded from its own plugins.json, passes
/// the conformance suite's required tier - and really ran it (a backend that fails to load only skips).
/// </summary>
public sealed class SampleBackendTests
{
    /// <summary>Ops of the required tier (comparison log names) the sample must have been compared on.</summary>
    private static readonly string[] RequiredOps =
    [
        "Embedding", "RmsNorm", "AddRmsNorm.residual", "AddRmsNorm.output", "Linear", "Linear.F32out", "Rope.q", "Rope.k",
        "ActAndMul.Silu", "ActAndMul.GeluTanh", "ActAndMul.Gelu", "Add", "GatherRows", "Moe",
        "Attention.prefill", "Attention.decode", "Attention.mixed", "Attention.long2k", "Upload(I32)+DownloadI32", "Copy",
    ];

    [Fact]
    public async Task ScalarSamplePassesRequiredTier()
    {
        await SampleBuild.EnsureBuiltAsync();
        var run = await ConformanceRun.RequiredTierAsync("scalar-sample", SampleBuild.PluginsJson, TimeSpan.FromMinutes(8));
        TestContext.Current.TestOutputHelper?.WriteLine($"scalar-sample, required tier: {run.Summary}");

        Assert.True(run.ExitCode == 0 && !run.Failed.Any(),
            $"scalar-sample failed the required tier ({run.Summary}):\n{run.DescribeFailures()}\n{ChildProcess.Tail(run.Output)}");
        // Skips are allowed only for the dtypes the suite calls optional (the sample stores F32 and I32 only); a skip
        // for any other reason - "backend not available" above all - means the suite never exercised the backend.
        foreach (var s in run.Skipped)
            Assert.True(s.Message?.Contains("does not store", StringComparison.Ordinal) == true,
                $"{s.Name} skipped for a reason other than an optional dtype: {s.Message}");
        Assert.True(run.Passed.Count() >= 50, $"only {run.Passed.Count()} required tests passed: {run.Summary}");

        var ops = new HashSet<string>();
        foreach (var c in run.Comparisons)
        {
            Assert.Equal("scalar-sample", c.Backend);
            ops.Add(c.Op);
        }
        foreach (var op in RequiredOps)
        {
            Assert.True(ops.Contains(op), $"no '{op}' comparison was logged for scalar-sample; logged: {string.Join(", ", ops.Order())}");
            if (!op.Contains('(') && op != "Copy")
                Assert.True(ops.Contains(op + " vs cpu"), $"'{op}' was not cross-checked against the CPU backend");
        }
    }
}
