using System.Diagnostics;
using System.Globalization;
using System.Xml.Linq;
using Modular.Testing;

namespace Modular.ConformanceSelf.Tests;

/// <summary>One test of a conformance run as the xunit XML report gives it.</summary>
/// <param name="Name">Display name, e.g. <c>Modular.Conformance.Suites.SelectedKernels.Rope(tokens: 9, ...)</c>.</param>
/// <param name="Result">"Pass", "Fail" or "Skip".</param>
/// <param name="Message">Failure message or skip reason.</param>
internal sealed record SuiteTest(string Name, string Result, string? Message);

/// <summary>One line of the comparison log (MODULAR_CONFORMANCE_LOG): backend, op, case, error, tolerance, pass/FAIL.</summary>
internal sealed record Comparison(string Backend, string Op, string Case, string Result);

/// <summary>
/// Runs the conformance suite executable the way <c>modular conformance</c> does (the built
/// tests/Modular.Conformance assembly under <c>dotnet</c>, the backend chosen through MODULAR_BACKEND and
/// MODULAR_PLUGINS, results from <c>-xml</c> and the comparison log) and exposes what it reported.
/// </summary>
internal sealed class ConformanceRun
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private ConformanceRun(int exitCode, string output, List<SuiteTest> tests, List<Comparison> comparisons, TimeSpan elapsed)
    {
        ExitCode = exitCode;
        Output = output;
        Tests = tests;
        Comparisons = comparisons;
        Elapsed = elapsed;
    }

    /// <summary>The suite process's exit code (non-zero when any test failed).</summary>
    public int ExitCode { get; }
    /// <summary>Console output of the suite.</summary>
    public string Output { get; }
    /// <summary>Every test the filter selected.</summary>
    public IReadOnlyList<SuiteTest> Tests { get; }
    /// <summary>Every comparison the suite logged.</summary>
    public IReadOnlyList<Comparison> Comparisons { get; }
    /// <summary>Wall time of the suite process.</summary>
    public TimeSpan Elapsed { get; }

    public IEnumerable<SuiteTest> Failed => Tests.Where(t => t.Result == "Fail");
    public IEnumerable<SuiteTest> Passed => Tests.Where(t => t.Result == "Pass");
    public IEnumerable<SuiteTest> Skipped => Tests.Where(t => t.Result == "Skip");

    /// <summary>One line for test output: counts and time.</summary>
    public string Summary => $"{Passed.Count()} passed, {Failed.Count()} failed, {Skipped.Count()} skipped of {Tests.Count} in {Elapsed.TotalSeconds:F1} s; {Comparisons.Count} comparisons";

    /// <summary>The suite assembly this test build goes with (built first through the ProjectReference).</summary>
    public static string SuiteAssembly =>
        Path.Combine(Fixtures.RepoRoot, "tests", "Modular.Conformance", "bin", Configuration, "net10.0", "Modular.Conformance.dll");

    /// <summary>
    /// Runs the required tier against <paramref name="backend"/> from <paramref name="pluginsJson"/>, narrowed by
    /// <paramref name="filter"/> when given: xunit arguments such as <c>-class Full.Name</c> or <c>-method Full.Name</c>.
    /// </summary>
    public static async Task<ConformanceRun> RequiredTierAsync(string backend, string pluginsJson, TimeSpan timeout, params string[] filter)
    {
        Assert.True(File.Exists(SuiteAssembly), $"the conformance suite is not built at {SuiteAssembly}; build tests/Modular.ConformanceSelf.Tests (it builds the suite first)");
        var work = Directory.CreateTempSubdirectory("modular-conformance-self-").FullName;
        try
        {
            var xml = Path.Combine(work, "results.xml");
            var log = Path.Combine(work, "comparisons.tsv");
            var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = Fixtures.RepoRoot };
            foreach (var a in new[] { SuiteAssembly, "-noColor", "-xml", xml, "-trait", "tier=required" }) psi.ArgumentList.Add(a);
            foreach (var f in filter) psi.ArgumentList.Add(f);
            psi.Environment["MODULAR_BACKEND"] = backend;
            psi.Environment["MODULAR_PLUGINS"] = Path.GetFullPath(pluginsJson);
            psi.Environment["MODULAR_CONFORMANCE_LOG"] = log;
            // Nothing from the caller's environment may change what the suite runs or against what.
            psi.Environment.Remove("MODULAR_BACKEND_SETTINGS");
            psi.Environment.Remove("MODULAR_PERF");
            var watch = Stopwatch.StartNew();
            var (code, output) = await ChildProcess.RunAsync(psi, timeout, $"the conformance suite against '{backend}'");
            watch.Stop();
            Assert.True(File.Exists(xml), $"the conformance suite against '{backend}' exited with {code} and wrote no results:\n{ChildProcess.Tail(output)}");
            return new ConformanceRun(code, output, ReadTests(xml), ReadComparisons(log), watch.Elapsed);
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private static List<SuiteTest> ReadTests(string xml)
    {
        var tests = new List<SuiteTest>();
        foreach (var t in XDocument.Load(xml).Descendants("test"))
        {
            var message = t.Element("failure")?.Element("message")?.Value ?? t.Element("reason")?.Value;
            tests.Add(new SuiteTest((string?)t.Attribute("name") ?? "?", (string?)t.Attribute("result") ?? "?", message));
        }
        return tests;
    }

    private static List<Comparison> ReadComparisons(string log)
    {
        var list = new List<Comparison>();
        if (!File.Exists(log)) return list;
        foreach (var line in File.ReadLines(log))
        {
            if (line.StartsWith("# ", StringComparison.Ordinal)) continue;
            var f = line.Split('\t');
            if (f.Length == 6) list.Add(new Comparison(f[0], f[1], f[2], f[5]));
        }
        return list;
    }

    /// <summary>Failed tests with their messages, for assertion messages.</summary>
    public string DescribeFailures() =>
        string.Join("\n", Failed.Select(t => $"  {t.Name}: {t.Message?.Split('\n')[0]}"));

    /// <summary>Seconds, invariant, for logs.</summary>
    public string Seconds => Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
}
