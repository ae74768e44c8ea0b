using System.Text;

namespace Modular.Tokenization;

/// <summary>One disagreement between the tokenizer and a golden value.</summary>
/// <param name="Index">Index of the string in the golden file's <c>encode</c> list.</param>
/// <param name="Field"><c>ids</c>, <c>ids_with_special</c> or <c>decoded</c>.</param>
/// <param name="Position">First differing position (token index for ids, character index for text).</param>
/// <param name="Expected">Golden value around the difference.</param>
/// <param name="Actual">Our value around the difference.</param>
public sealed record GoldenMismatch(int Index, string Field, int Position, string Expected, string Actual);

/// <summary>Result of <see cref="TokenizerGoldens.Verify"/>.</summary>
public sealed class GoldenReport
{
    /// <summary>Tokenizer name in the golden file.</summary>
    public required string Name { get; init; }
    /// <summary>Number of strings checked.</summary>
    public required int Cases { get; init; }
    /// <summary>Every disagreement, in string order.</summary>
    public required IReadOnlyList<GoldenMismatch> Mismatches { get; init; }
    /// <summary>True when every value matched.</summary>
    public bool Passed => Mismatches.Count == 0;

    /// <summary>A human-readable summary with one line per mismatch.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append($"{Name}: {Cases} strings, {(Passed ? "all match" : $"{Mismatches.Count} mismatches")}");
        foreach (var m in Mismatches)
            sb.Append($"\n  [{m.Index}] {m.Field} differs at {m.Position}: expected {m.Expected} got {m.Actual}");
        return sb.ToString();
    }
}
