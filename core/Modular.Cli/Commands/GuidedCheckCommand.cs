using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Tokenization;

namespace Modular.Cli.Commands;

/// <summary>
/// <c>modular guided-check --tokenizer DIR --schemas DIR [--json] [--sample N] [--budget N]</c>: runs the loaded guided decoder over
/// a folder of JSON Schema test files (JSONSchemaBench layout: <c>schema</c> plus <c>tests</c> with
/// <c>data</c>/<c>valid</c>), feeding each instance through a matcher with the real tokenizer's ids, and reports per
/// source folder: coverage, valid instances accepted, invalid rejected, compile and mask times.
/// </summary>
internal static class GuidedCheckCommand
{
    public static Command Create()
    {
        var tokenizer = new Option<string>("--tokenizer") { Description = "folder with tokenizer.json (or .gz) and tokenizer_config.json", Required = true };
        var schemas = new Option<string>("--schemas") { Description = "folder of schema test files (sub-folders are sources)", Required = true };
        var json = new Option<bool>("--json") { Description = "print the results as JSON instead of a table" };
        var sample = new Option<int?>("--sample") { Description = "check only N files, evenly spread over the sorted list" };
        var budget = new Option<int?>("--budget")
        {
            Description = "time the budget-aware mask the engine uses (contract 1.3): before token i pass a remaining budget of N - i (N well above the instances' length leaves every mask unchanged, so verdicts must not move)",
        };
        var maxFailures = new Option<int>("--failures") { Description = "how many failure lines (refusals with reasons, wrong verdicts) to print to stderr", DefaultValueFactory = _ => 40 };
        var plugins = CliOptions.Plugins();
        var cmd = new Command("guided-check", "Check the guided decoder against JSON Schema test files") { tokenizer, schemas, json, sample, budget, maxFailures, plugins };
        cmd.SetAction(r =>
        {
            using var runtime = CliOptions.OpenRuntime(r.GetValue(plugins), null, 1);
            var decoder = runtime.GuidedDecoder;
            if (decoder is null)
            {
                Console.Error.WriteLine("no guided decoder is loaded: add the 'guided' plugin to plugins.json");
                return 2;
            }
            var tok = HfTokenizer.FromDirectory(r.GetValue(tokenizer)!);
            var rows = Run(decoder, tok, r.GetValue(schemas)!, r.GetValue(sample), r.GetValue(budget), out var failures);
            if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(rows.Select(Summary), new JsonSerializerOptions { WriteIndented = true }));
            else
            {
                Console.WriteLine("| folder | schemas | compiled % | valid accepted | invalid rejected | compile med / p99 ms | mask mean / p99 µs | mismatches |");
                Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
                foreach (var row in rows)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"| {row.Folder} | {row.Schemas} | {Pct(row.Compiled, row.Schemas):F1} | {row.ValidAccepted}/{row.Valid} | {row.InvalidRejected}/{row.Invalid} | {Percentile(row.CompileMs, 0.5):F2} / {Percentile(row.CompileMs, 0.99):F1} | {Mean(row.MaskUs):F1} / {Percentile(row.MaskUs, 0.99):F0} | {row.Mismatches} |"));
                foreach (var f in failures.Take(r.GetValue(maxFailures))) Console.Error.WriteLine(f);
            }
            return 0;
        });
        return cmd;
    }

    private sealed class Row(string folder)
    {
        public string Folder { get; } = folder;
        public int Schemas, Compiled, Valid, ValidAccepted, Invalid, InvalidRejected, Mismatches;
        public List<double> CompileMs { get; } = new();
        public List<double> MaskUs { get; } = new();
    }

    private static object Summary(Row r) => new
    {
        folder = r.Folder, schemas = r.Schemas, compiled = r.Compiled, coverage_pct = Pct(r.Compiled, r.Schemas),
        valid = r.Valid, valid_accepted = r.ValidAccepted, invalid = r.Invalid, invalid_rejected = r.InvalidRejected,
        compile_median_ms = Percentile(r.CompileMs, 0.5), compile_p99_ms = Percentile(r.CompileMs, 0.99),
        mask_mean_us = Mean(r.MaskUs), mask_p99_us = Percentile(r.MaskUs, 0.99), masks = r.MaskUs.Count, mismatches = r.Mismatches,
    };

    private static List<Row> Run(IGuidedDecoder decoder, HfTokenizer tok, string folder, int? sample, int? budget, out List<string> failures)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"--schemas folder not found: {folder}");
        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (sample is int n && n > 0 && n < files.Count)
            files = Enumerable.Range(0, n).Select(i => files[(int)((long)i * files.Count / n)]).ToList();
        var rows = new SortedDictionary<string, Row>(StringComparer.Ordinal);
        var total = new Row("total");
        failures = new List<string>();
        var mask = new ulong[(((ITokenVocabulary)tok).Count + 63) >> 6];
        var compact = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var file in files)
        {
            var rel = Path.GetRelativePath(folder, file);
            var source = Path.GetDirectoryName(rel) is { Length: > 0 } d ? d : ".";
            if (!rows.TryGetValue(source, out var row)) rows[source] = row = new Row(source);
            row.Schemas++;
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            if (!doc.RootElement.TryGetProperty("schema", out var schema)) { failures.Add($"{rel}: no 'schema'"); continue; }
            var spec = new GuidedSpec(GuidedKind.JsonSchema, schema.GetRawText());
            var sw = Stopwatch.StartNew();
            try { decoder.Create(spec, tok); }
            catch (GuidedSpecException e) { failures.Add($"{rel}: not compiled: {e.Message}"); continue; }
            row.CompileMs.Add(sw.Elapsed.TotalMilliseconds);
            row.Compiled++;
            if (!doc.RootElement.TryGetProperty("tests", out var tests) || tests.ValueKind != JsonValueKind.Array) continue;
            int index = 0;
            foreach (var test in tests.EnumerateArray())
            {
                bool valid = test.TryGetProperty("valid", out var v) && v.ValueKind == JsonValueKind.True;
                var text = JsonSerializer.Serialize(test.GetProperty("data"), compact);
                var ids = tok.Encode(text, addSpecialTokens: false);
                bool accepted = Feed(decoder.Create(spec, tok), tok, ids, mask, row, budget);
                if (valid) { row.Valid++; if (accepted) row.ValidAccepted++; else failures.Add($"{rel} test {index}: valid instance rejected"); }
                else { row.Invalid++; if (!accepted) row.InvalidRejected++; else failures.Add($"{rel} test {index}: invalid instance accepted"); }
                index++;
            }
        }
        foreach (var r in rows.Values)
        {
            total.Schemas += r.Schemas; total.Compiled += r.Compiled; total.Valid += r.Valid; total.ValidAccepted += r.ValidAccepted;
            total.Invalid += r.Invalid; total.InvalidRejected += r.InvalidRejected; total.Mismatches += r.Mismatches;
            total.CompileMs.AddRange(r.CompileMs); total.MaskUs.AddRange(r.MaskUs);
        }
        return [.. rows.Values, total];
    }

    /// <summary>Feeds the ids with a mask before each; counts mask/Accept disagreements. True when accepted and complete.</summary>
    private static bool Feed(IGrammarMatcher m, ITokenVocabulary vocab, int[] ids, ulong[] mask, Row row, int? budget)
    {
        double tick = 1e6 / Stopwatch.Frequency;
        for (int i = 0; i <= ids.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (budget is int n) m.FillMask(mask, n - i);
            else m.FillMask(mask);
            row.MaskUs.Add((Stopwatch.GetTimestamp() - t0) * tick);
            if (i == ids.Length)
            {
                bool eos = false;
                foreach (var e in vocab.EosIds) eos |= (mask[e >> 6] & (1UL << (e & 63))) != 0;
                if (vocab.EosIds.Count > 0 && eos != m.IsComplete) row.Mismatches++;
                return m.IsComplete;
            }
            int id = ids[i];
            bool allowed = (mask[id >> 6] & (1UL << (id & 63))) != 0;
            bool ok = m.Accept(id);
            if (ok != allowed) row.Mismatches++;
            if (!ok) return false;
        }
        return false;
    }

    private static double Pct(int a, int b) => b == 0 ? 0 : 100.0 * a / b;

    private static double Mean(List<double> v) => v.Count == 0 ? 0 : v.Average();

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return 0;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
