using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;

namespace Modular.Cli.Commands;

/// <summary>
/// <c>modular conformance --backend NAME</c>: runs the conformance suite (tests/Modular.Conformance, an xunit.v3
/// executable) against a backend loaded through plugins.json, and writes a report: device, each test with its
/// outcome, each comparison's max error against its tolerance, and timings.
/// </summary>
internal static class ConformanceCommand
{
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "backend plugin to certify", Required = true };
        var plugins = CliOptions.Plugins();
        var tier = new Option<string>("--tier") { Description = "required, optional, model or perf (comma-separated), or all", DefaultValueFactory = _ => "required" };
        var report = new Option<string?>("--report") { Description = "write a report: FILE.md or FILE.json" };
        var settings = new Option<string?>("--settings") { Description = "backend settings, key=value;key=value (e.g. accelerator=cuda)" };
        var suite = new Option<string?>("--suite") { Description = "path of Modular.Conformance.dll (default: the repository's build)" };
        var cmd = new Command("conformance", "Certify a backend plugin with the shared conformance suite") { backend, plugins, tier, report, settings, suite };
        cmd.SetAction(async (r, ct) =>
        {
            var dll = r.GetValue(suite) ?? FindSuite();
            var work = Directory.CreateTempSubdirectory("modular-conformance-").FullName;
            var log = Path.Combine(work, "comparisons.tsv");
            var xml = Path.Combine(work, "results.xml");
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            psi.ArgumentList.Add(dll);
            psi.ArgumentList.Add("-noColor");
            psi.ArgumentList.Add("-xml");
            psi.ArgumentList.Add(xml);
            var tiers = r.GetValue(tier)!;
            if (tiers != "all")
                foreach (var t in tiers.Split(',', StringSplitOptions.RemoveEmptyEntries)) { psi.ArgumentList.Add("-trait"); psi.ArgumentList.Add($"tier={t.Trim()}"); }
            psi.Environment["MODULAR_BACKEND"] = r.GetValue(backend)!;
            psi.Environment["MODULAR_PLUGINS"] = Path.GetFullPath(r.GetValue(plugins) ?? Hosting.PluginRuntime.DefaultPluginsJson());
            psi.Environment["MODULAR_CONFORMANCE_LOG"] = log;
            if (tiers.Contains("perf") || tiers == "all") psi.Environment["MODULAR_PERF"] = "1";
            if (r.GetValue(settings) is string s) psi.Environment["MODULAR_BACKEND_SETTINGS"] = s;
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
            await p.WaitForExitAsync(ct);
            var summary = Summarize(r.GetValue(backend)!, xml, log);
            Console.WriteLine(summary.Headline);
            if (r.GetValue(report) is string path)
            {
                File.WriteAllText(path, path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
                    ? JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true })
                    : summary.ToMarkdown());
                Console.WriteLine($"report: {path}");
            }
            // A run where everything skipped (backend failed to load) certifies nothing.
            return p.ExitCode == 0 && summary.Failed == 0 && summary.Passed > 0 ? 0 : 1;
        });
        return cmd;
    }

    /// <summary>The most recently built suite (Debug or Release) in a folder above the program.</summary>
    private static string FindSuite()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var builds = new[] { "Release", "Debug" }
                .Select(cfg => Path.Combine(dir.FullName, "tests", "Modular.Conformance", "bin", cfg, "net10.0", "Modular.Conformance.dll"))
                .Where(File.Exists)
                .OrderByDescending(File.GetLastWriteTimeUtc)
                .ToList();
            if (builds.Count > 0) return builds[0];
        }
        throw new ArgumentException("the conformance suite is not built: run `dotnet build tests/Modular.Conformance`, or pass --suite PATH");
    }

    internal sealed record TestResult(string Name, string Outcome, double Seconds, string? Message);
    internal sealed record Comparison(string Op, string Case, string Error, string Tolerance, string Result);

    internal sealed record Summary(string Backend, string Date, string Commit, int Total, int Passed, int Failed, int Skipped,
        IReadOnlyList<TestResult> Tests, IReadOnlyList<Comparison> Comparisons, IReadOnlyList<string> Notes)
    {
        public string Headline => $"conformance {Backend}: {Passed} passed, {Failed} failed, {Skipped} skipped of {Total}; {Comparisons.Count} comparisons";

        public string ToMarkdown()
        {
            var sb = new StringBuilder();
            sb.AppendLine($"# Conformance: {Backend}").AppendLine();
            sb.AppendLine($"Date {Date}, commit {Commit}. {Headline}.").AppendLine();
            foreach (var n in Notes) sb.AppendLine($"- {n}");
            sb.AppendLine().AppendLine("| test | outcome | seconds | message |").AppendLine("| --- | --- | --- | --- |");
            foreach (var t in Tests) sb.AppendLine($"| {t.Name} | {t.Outcome} | {t.Seconds:F3} | {(t.Message ?? "").Replace('|', '/').Replace('\n', ' ')} |");
            sb.AppendLine().AppendLine("| op | case | max error | tolerance | result |").AppendLine("| --- | --- | --- | --- | --- |");
            foreach (var c in Comparisons) sb.AppendLine($"| {c.Op} | {c.Case.Replace('|', '/')} | {c.Error} | {c.Tolerance} | {c.Result} |");
            return sb.ToString();
        }
    }

    private static Summary Summarize(string backend, string xmlPath, string logPath)
    {
        var tests = new List<TestResult>();
        if (File.Exists(xmlPath))
            foreach (var t in XDocument.Load(xmlPath).Descendants("test"))
            {
                var msg = t.Element("failure")?.Element("message")?.Value ?? t.Element("reason")?.Value;
                tests.Add(new TestResult((string?)t.Attribute("name") ?? "?", (string?)t.Attribute("result") ?? "?",
                    double.TryParse((string?)t.Attribute("time"), System.Globalization.CultureInfo.InvariantCulture, out var s) ? s : 0, msg));
            }
        var comparisons = new List<Comparison>();
        var notes = new List<string>();
        if (File.Exists(logPath))
            foreach (var line in File.ReadLines(logPath))
            {
                if (line.StartsWith("# ", StringComparison.Ordinal)) { notes.Add(line[2..]); continue; }
                var f = line.Split('\t');
                if (f.Length == 6) comparisons.Add(new Comparison(f[1], f[2], f[3], f[4], f[5]));
            }
        int passed = tests.Count(t => t.Outcome == "Pass"), failed = tests.Count(t => t.Outcome == "Fail"), skipped = tests.Count(t => t.Outcome == "Skip");
        return new Summary(backend, DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'"), BenchInfo.Commit(), tests.Count, passed, failed, skipped, tests, comparisons, notes);
    }
}
