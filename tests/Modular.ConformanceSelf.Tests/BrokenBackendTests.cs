namespace Modular.ConformanceSelf.Tests;

/// <summary>
/// The suite catches broken backends: each flaw of the test plugin "broken" (tests/plugins/BrokenBackends: the CPU
/// backend with one op wrong) makes the required tier fail, only in the tests of that op, with messages that name it.
/// </summary>
public sealed class BrokenBackendTests
{
    private const string Kernels = "Modular.Conformance.Suites.SelectedKernels";
    private const string Attention = "Modular.Conformance.Suites.SelectedAttention";

    /// <param name="flaw">The plugin's <c>flaw</c> setting.</param>
    /// <param name="suiteClass">The suite class holding the op's tests (the run is narrowed to it for time).</param>
    /// <param name="testOfOp">Text in the display name of every test that exercises the op.</param>
    /// <param name="messageNames">Text every failure message must contain: the op as the suite reports it.</param>
    /// <param name="caseOfFlaw">Text in the names of the cases the flaw shows in (empty: all of the op's cases).</param>
    /// <param name="methods">Comma-separated test methods of the class to run, or empty for all of them.</param>
    [Theory]
    [InlineData("rope", Kernels, ".Rope(", "Rope.", "", "")]
    [InlineData("norm", Kernels, "RmsNorm(", "RmsNorm", "offset: 1", "")]
    [InlineData("bias", Kernels, ".Linear", "Linear", "withBias: True", "")]
    // The ~2k-token cases are left out: their float64 oracle costs a minute, and short contexts show the flaw as well.
    [InlineData("blocktable", Attention, "SelectedAttention.", "Attention.", "", "Prefill,Decode,MixedBatch,GqaRatio,SlidingWindow,BlockSize")]
    public async Task SuiteFailsTheBrokenOpOnly(string flaw, string suiteClass, string testOfOp, string messageNames, string caseOfFlaw, string methods)
    {
        var plugins = WritePluginsJson(flaw);
        var filter = new List<string> { "-class", suiteClass };
        foreach (var m in methods.Split(',', StringSplitOptions.RemoveEmptyEntries)) { filter.Add("-method"); filter.Add($"{suiteClass}.{m}"); }
        try
        {
            var run = await ConformanceRun.RequiredTierAsync("broken", plugins, TimeSpan.FromMinutes(5), [.. filter]);
            TestContext.Current.TestOutputHelper?.WriteLine($"broken-{flaw}, {suiteClass}: {run.Summary}");
            TestContext.Current.TestOutputHelper?.WriteLine(run.DescribeFailures());

            Assert.True(run.ExitCode != 0, $"the suite exited 0 for broken-{flaw}: {run.Summary}");
            Assert.True(run.Failed.Any(), $"no test failed for broken-{flaw}: {run.Summary}\n{ChildProcess.Tail(run.Output)}");
            foreach (var s in run.Skipped)
                Assert.Fail($"{s.Name} skipped for broken-{flaw} (was the backend loaded?): {s.Message}");
            foreach (var t in run.Failed)
            {
                Assert.True(t.Name.Contains(testOfOp, StringComparison.Ordinal), $"broken-{flaw} should fail only tests of its op ('{testOfOp}'), but {t.Name} failed: {t.Message}");
                Assert.True(t.Message?.Contains(messageNames, StringComparison.Ordinal) == true, $"the failure of {t.Name} does not name the op '{messageNames}': {t.Message}");
                Assert.True(t.Message!.Contains("on broken", StringComparison.Ordinal), $"the failure of {t.Name} does not name the backend: {t.Message}");
            }
            // Every case in which the flaw is visible fails; the op's other cases and all other ops pass.
            foreach (var t in run.Tests)
            {
                bool shows = t.Name.Contains(testOfOp, StringComparison.Ordinal) && t.Name.Contains(caseOfFlaw, StringComparison.Ordinal);
                if (shows) Assert.True(t.Result == "Fail", $"broken-{flaw} passed {t.Name}, where the flaw must show");
                else Assert.True(t.Result == "Pass", $"broken-{flaw} got {t.Result} in {t.Name}, which does not involve the flaw: {t.Message}");
            }
            Assert.Contains(run.Comparisons, c => c.Backend == "broken" && c.Op.Contains(messageNames, StringComparison.Ordinal) && c.Result == "FAIL");
        }
        finally
        {
            File.Delete(plugins);
        }
    }

    /// <summary>A temporary plugins.json loading the broken plugin with <paramref name="flaw"/> as its setting.</summary>
    private static string WritePluginsJson(string flaw)
    {
        var dll = Path.Combine(Modular.Testing.Fixtures.RepoRoot, "tests", "plugins", "bin", "Modular.TestPlugins.BrokenBackends", "Modular.TestPlugins.BrokenBackends.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; building tests/Modular.ConformanceSelf.Tests builds it");
        var path = Path.Combine(Path.GetTempPath(), $"modular-broken-{flaw}-{Guid.NewGuid():N}.json");
        var json = System.Text.Json.JsonSerializer.Serialize(new
        {
            backend = "broken",
            plugins = new[] { new { name = "broken", path = dll, settings = new { flaw } } },
        });
        File.WriteAllText(path, json);
        return path;
    }
}
