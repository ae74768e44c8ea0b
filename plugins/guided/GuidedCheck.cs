using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Modular.Abstractions;
using Modular.Plugins.Guided.Json;
using Modular.Plugins.Guided.Parsing;

namespace Modular.Plugins.Guided;

/// <summary>Options of <see cref="GuidedCheck.Run"/>.</summary>
public sealed record GuidedCheckOptions
{
    /// <summary>JSON whitespace allowed by the decoder under test.</summary>
    public int MaxWhitespace { get; init; }

    /// <summary>Compile budget per schema; tests raise it so coverage does not depend on how busy the machine is.</summary>
    public int CompileBudgetMs { get; init; } = new GuidedOptions().CompileBudgetMs;
    /// <summary>Check at most this many schema files (evenly spread over the sorted list), or all when null.</summary>
    public int? Sample { get; init; }
    /// <summary>Tokenizer for instances; default: greedy longest match over the vocabulary (masks must accept any tokenization).</summary>
    public Func<string, IReadOnlyList<int>>? Tokenize { get; init; }
    /// <summary>Progress lines (one per folder), or null.</summary>
    public Action<string>? Log { get; init; }
    /// <summary>How many failure examples to keep.</summary>
    public int MaxExamples { get; init; } = 50;
}

/// <summary>Results for one source folder (or the total).</summary>
public sealed record GuidedCheckRow
{
    /// <summary>Folder name, or "total".</summary>
    public required string Folder { get; init; }
    /// <summary>Schema files seen.</summary>
    public int Schemas { get; set; }
    /// <summary>Schemas compiled.</summary>
    public int Compiled { get; set; }
    /// <summary>Valid instances tested (compiled schemas only).</summary>
    public int Valid { get; set; }
    /// <summary>Valid instances accepted.</summary>
    public int ValidAccepted { get; set; }
    /// <summary>Invalid instances tested (compiled schemas only).</summary>
    public int Invalid { get; set; }
    /// <summary>Invalid instances rejected.</summary>
    public int InvalidRejected { get; set; }
    /// <summary>Tokens whose mask bit disagreed with Accept (should be 0).</summary>
    public int MaskMismatches { get; set; }
    /// <summary>Masks computed.</summary>
    public long Masks { get; set; }
    /// <summary>Compile times in milliseconds.</summary>
    public List<double> CompileMs { get; } = new();
    /// <summary>Mask times in microseconds.</summary>
    public List<double> MaskUs { get; } = new();

    /// <summary>Percent compiled.</summary>
    public double Coverage => Schemas == 0 ? 0 : 100.0 * Compiled / Schemas;
    /// <summary>Percent of valid accepted.</summary>
    public double ValidRate => Valid == 0 ? 100 : 100.0 * ValidAccepted / Valid;
    /// <summary>Percent of invalid rejected.</summary>
    public double InvalidRate => Invalid == 0 ? 100 : 100.0 * InvalidRejected / Invalid;
    /// <summary>Median compile time.</summary>
    public double CompileMedianMs => GuidedCheck.Percentile(CompileMs, 0.5);
    /// <summary>99th percentile compile time.</summary>
    public double CompileP99Ms => GuidedCheck.Percentile(CompileMs, 0.99);
    /// <summary>Mean mask time.</summary>
    public double MaskMeanUs => MaskUs.Count == 0 ? 0 : MaskUs.Average();
    /// <summary>99th percentile mask time.</summary>
    public double MaskP99Us => GuidedCheck.Percentile(MaskUs, 0.99);
}

/// <summary>Report of a <see cref="GuidedCheck.Run"/>.</summary>
public sealed record GuidedCheckReport(IReadOnlyList<GuidedCheckRow> Rows, GuidedCheckRow Total, IReadOnlyList<string> Examples)
{
    /// <summary>The slowest single masks: (microseconds, "file test i token j").</summary>
    public IReadOnlyList<(double Us, string Where)> SlowestMasks { get; init; } = [];

    /// <summary>A Markdown table, one row per folder plus the total.</summary>
    public string ToTable()
    {
        var sb = new StringBuilder();
        sb.AppendLine("| folder | schemas | compiled % | valid ok | invalid rejected | compile med / p99 ms | mask mean / p99 µs | mismatches |");
        sb.AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in Rows.Append(Total))
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Folder} | {r.Schemas} | {r.Coverage:F1} | {r.ValidAccepted}/{r.Valid} ({r.ValidRate:F1}%) | {r.InvalidRejected}/{r.Invalid} ({r.InvalidRate:F1}%) | {r.CompileMedianMs:F2} / {r.CompileP99Ms:F1} | {r.MaskMeanUs:F1} / {r.MaskP99Us:F0} | {r.MaskMismatches} |"));
        return sb.ToString();
    }
}

/// <summary>
/// Sweeps a folder of JSON Schema test files (JSONSchemaBench layout: each file has <c>schema</c> and <c>tests</c>
/// with <c>data</c>/<c>valid</c>): compiles each schema, feeds each instance (compact JSON) token by token through a
/// matcher, and reports coverage, acceptance of valid and rejection of invalid instances, and timings per folder.
/// </summary>
public static class GuidedCheck
{
    /// <summary>Runs the check over <paramref name="folder"/> (sub-folders are sources; files directly inside form one source).</summary>
    public static GuidedCheckReport Run(ITokenVocabulary vocabulary, string folder, GuidedCheckOptions? options = null)
    {
        options ??= new GuidedCheckOptions();
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"schema folder not found: {folder}");
        var decoder = new GuidedDecoder(new GuidedOptions { MaxWhitespace = options.MaxWhitespace, CompileBudgetMs = options.CompileBudgetMs });
        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        if (options.Sample is int n && n < files.Count)
        {
            var picked = new List<string>();
            for (int i = 0; i < n; i++) picked.Add(files[(int)((long)i * files.Count / n)]);
            files = picked;
        }
        var rows = new SortedDictionary<string, GuidedCheckRow>(StringComparer.Ordinal);
        var total = new GuidedCheckRow { Folder = "total" };
        var examples = new List<string>();
        var slowest = new List<(double, string)>();
        var words = (vocabulary.Count + 63) >> 6;
        var mask = new ulong[words];
        TokenTrieTokenizer? fallback = null;
        foreach (var file in files)
        {
            var rel = Path.GetRelativePath(folder, file);
            var source = Path.GetDirectoryName(rel) is { Length: > 0 } dir ? dir : ".";
            if (!rows.TryGetValue(source, out var row)) rows[source] = row = new GuidedCheckRow { Folder = source };
            row.Schemas++;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(File.ReadAllText(file)); }
            catch (JsonException e) { Add(examples, options, $"{rel}: unreadable test file: {e.Message}"); continue; }
            using var _ = doc;
            if (!doc.RootElement.TryGetProperty("schema", out var schema)) { Add(examples, options, $"{rel}: no 'schema'"); continue; }
            CompiledConstraint compiled;
            var sw = Stopwatch.StartNew();
            try { compiled = decoder.Compile(new GuidedSpec(GuidedKind.JsonSchema, schema.GetRawText()), vocabulary); }
            catch (GuidedSpecException e) { Add(examples, options, $"{rel}: not compiled: {e.Message}"); continue; }
            row.CompileMs.Add(sw.Elapsed.TotalMilliseconds);
            row.Compiled++;
            if (!doc.RootElement.TryGetProperty("tests", out var tests) || tests.ValueKind != JsonValueKind.Array) continue;
            int index = 0;
            foreach (var test in tests.EnumerateArray())
            {
                bool valid = test.TryGetProperty("valid", out var v) && v.ValueKind == JsonValueKind.True;
                var text = JsonText.Compact(test.GetProperty("data"));
                IReadOnlyList<int>? ids = options.Tokenize is { } tok ? tok(text)
                    : (fallback ??= new TokenTrieTokenizer(compiled.Context)).Encode(text);
                int before = row.MaskUs.Count;
                var (accepted, failAt, mismatch) = Feed(compiled, ids, mask, row);
                for (int k = before; k < row.MaskUs.Count; k++) Slow(slowest, row.MaskUs[k], $"{rel} test {index} token {k - before}");
                row.MaskMismatches += mismatch;
                if (valid)
                {
                    row.Valid++;
                    if (accepted) row.ValidAccepted++;
                    else Add(examples, options, $"{rel} test {index}: valid instance rejected at token {failAt}: {Snippet(text, compiled, ids, failAt)}");
                }
                else
                {
                    row.Invalid++;
                    if (!accepted) row.InvalidRejected++;
                    else Add(examples, options, $"{rel} test {index}: invalid instance accepted: {Trim(text)}");
                }
                if (mismatch > 0) Add(examples, options, $"{rel} test {index}: mask and Accept disagree at {mismatch} token(s)");
                index++;
            }
        }
        foreach (var r in rows.Values)
        {
            total.Schemas += r.Schemas; total.Compiled += r.Compiled; total.Valid += r.Valid; total.ValidAccepted += r.ValidAccepted;
            total.Invalid += r.Invalid; total.InvalidRejected += r.InvalidRejected; total.MaskMismatches += r.MaskMismatches;
            total.Masks += r.Masks; total.CompileMs.AddRange(r.CompileMs); total.MaskUs.AddRange(r.MaskUs);
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{r.Folder}: {r.Compiled}/{r.Schemas} compiled, valid {r.ValidRate:F1}%, invalid {r.InvalidRate:F1}%, mask {r.MaskMeanUs:F1} µs"));
        }
        slowest.Sort((a, b) => b.Item1.CompareTo(a.Item1));
        return new GuidedCheckReport(rows.Values.ToList(), total, examples) { SlowestMasks = slowest };
    }

    private static (bool Accepted, int FailAt, int Mismatch) Feed(CompiledConstraint compiled, IReadOnlyList<int>? ids, ulong[] mask, GuidedCheckRow row)
    {
        if (ids is null) return (false, 0, 0);
        var m = compiled.CreateMatcher();
        int mismatch = 0;
        double tick = 1e6 / Stopwatch.Frequency;
        for (int i = 0; i <= ids.Count; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            m.FillMask(mask);
            row.MaskUs.Add((Stopwatch.GetTimestamp() - t0) * tick);
            row.Masks++;
            if (i == ids.Count)
            {
                bool eos = false;
                foreach (var e in compiled.Context.EosIds) eos |= (mask[e >> 6] & (1UL << (e & 63))) != 0;
                bool complete = m.IsComplete;
                if (compiled.Context.EosIds.Count > 0 && eos != complete) mismatch++;
                return (complete, i, mismatch);
            }
            int id = ids[i];
            bool allowed = (mask[id >> 6] & (1UL << (id & 63))) != 0;
            bool ok = m.Accept(id);
            if (ok != allowed) mismatch++;
            if (!ok) return (false, i, mismatch);
        }
        return (false, ids.Count, mismatch);
    }

    private static string Snippet(string text, CompiledConstraint c, IReadOnlyList<int>? ids, int at)
    {
        if (ids is null) return "(instance could not be tokenized)";
        var sb = new StringBuilder();
        for (int i = 0; i < ids.Count && i < at; i++) sb.Append(Encoding.UTF8.GetString(c.Context.Trie.Bytes[ids[i]] ?? []));
        var prefix = sb.ToString();
        if (prefix.Length > 80) prefix = "…" + prefix[^80..];
        var next = at < ids.Count ? Encoding.UTF8.GetString(c.Context.Trie.Bytes[ids[at]] ?? []) : "<EOS>";
        return $"{prefix} ⟨{next}⟩";
    }

    private static void Slow(List<(double, string)> slowest, double us, string where)
    {
        const int Keep = 20;
        if (slowest.Count == Keep)
        {
            int min = 0;
            for (int i = 1; i < Keep; i++) if (slowest[i].Item1 < slowest[min].Item1) min = i;
            if (slowest[min].Item1 >= us) return;
            slowest[min] = (us, where);
        }
        else slowest.Add((us, where));
    }

    private static string Trim(string s) => s.Length > 160 ? s[..160] + "…" : s;

    private static void Add(List<string> examples, GuidedCheckOptions o, string line)
    {
        if (examples.Count < o.MaxExamples) examples.Add(line);
    }

    /// <summary>Percentile by nearest rank (0 for an empty list).</summary>
    public static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0) return 0;
        var sorted = values.ToArray();
        Array.Sort(sorted);
        int idx = (int)Math.Ceiling(p * sorted.Length) - 1;
        return sorted[Math.Clamp(idx, 0, sorted.Length - 1)];
    }

    /// <summary>Greedy longest-match tokenizer over the vocabulary trie.</summary>
    private sealed class TokenTrieTokenizer(VocabContext context)
    {
        public IReadOnlyList<int>? Encode(string text) => context.Trie.TokenizeLongestMatch(Encoding.UTF8.GetBytes(text));
    }
}
