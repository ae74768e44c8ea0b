using Modular.Plugins.Guided;

namespace Modular.Guided.Tests;

/// <summary>JSON Schema fixtures (JSONSchemaBench) through the guided decoder with the llama3_1 vocabulary.</summary>
public sealed class FixtureSweepTests(ITestOutputHelper output)
{
    /// <summary>A fixed, evenly spread sample of schemas; prints the per-folder table and holds the targets.</summary>
    [Fact]
    public void SampleOfSchemasMeetsTargets()
    {
        var vocab = ByteLevelVocabulary.Llama3();
        var folder = Environment.GetEnvironmentVariable("GUIDED_SWEEP_DIR") ?? Modular.Testing.Fixtures.Shared("jsonschema");
        int sample = int.TryParse(Environment.GetEnvironmentVariable("GUIDED_SWEEP_SAMPLE"), out var n) ? n : 150;
        var report = GuidedCheck.Run(vocab, folder, new GuidedCheckOptions { Sample = sample == 0 ? null : sample, MaxExamples = 200, CompileBudgetMs = 60_000 });
        output.WriteLine(report.ToTable());
        foreach (var e in report.Examples) output.WriteLine(e);
        Console.WriteLine(report.ToTable());
        foreach (var e in report.Examples) Console.WriteLine(e);
        foreach (var (us, where) in report.SlowestMasks) Console.WriteLine($"slow mask {us:F0} µs: {where}");
        var t = report.Total;
        Assert.Equal(0, t.MaskMismatches);
        // The brief's targets: coverage >= 95% (96.0% on this sample since contains and the member/item witnesses of
        // complements), valid 100%, invalid >= 99%, compile median <= 5 ms. Mask times are printed, not asserted: CI
        // machines are shared and wall-clock noise there exceeds the 50 µs target.
        Assert.True(t.Coverage >= 95, $"coverage {t.Coverage:F1}%");
        Assert.Equal(t.Valid, t.ValidAccepted);
        Assert.True(t.InvalidRate >= 99, $"invalid rejected {t.InvalidRate:F1}%");
        Assert.True(t.CompileMedianMs <= 5, $"compile median {t.CompileMedianMs:F2} ms");
    }
}
