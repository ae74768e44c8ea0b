using Modular.Plugins.Guided.Lexing;
using Modular.Plugins.Guided.Parsing;

namespace Modular.Plugins.Guided.Grammar;

/// <summary>A grammar symbol: a terminal lexeme (one code point from a class) or a rule.</summary>
public readonly record struct GSymbol(bool Terminal, int Value);

/// <summary>Compiled grammar: rules as lists of alternatives.</summary>
public sealed class GRules
{
    /// <summary>Alternatives of each rule.</summary>
    public required GSymbol[][][] Rules { get; init; }
    /// <summary>Rule names (for messages).</summary>
    public required string[] Names { get; init; }
}

/// <summary>Inside a grammar sequence, before the terminal at <see cref="Pos"/>.</summary>
public sealed record SeqFrame(GRules Grammar, GSymbol[] Seq, int Pos, Frame? Parent) : Frame
{
    /// <summary>Expansion depth without consuming input beyond which the grammar is refused (left recursion guard).</summary>
    public const int MaxExpansion = 256;

    /// <summary>Adds the configurations equivalent to being at <paramref name="pos"/> of <paramref name="seq"/>: terminals on top.</summary>
    public static void Normalize(GRules g, GSymbol[] seq, int pos, Frame? parent, List<Frame?> output, int depth = 0)
    {
        if (depth > MaxExpansion) throw new Automata.GuidedBuildException("grammar expands without consuming input (left recursion?)");
        if (pos == seq.Length)
        {
            if (parent is SeqFrame sf) Normalize(g, sf.Seq, sf.Pos, sf.Parent, output, depth + 1);
            else output.Add(parent);
            return;
        }
        var sym = seq[pos];
        if (sym.Terminal) { output.Add(new SeqFrame(g, seq, pos, parent)); return; }
        // Tail position: the continuation is the parent itself, so repetition does not grow the stack.
        Frame? cont = pos + 1 == seq.Length ? parent : new SeqFrame(g, seq, pos + 1, parent);
        foreach (var alt in g.Rules[sym.Value]) Normalize(g, alt, 0, cont, output, depth + 1);
    }

    /// <inheritdoc />
    public override void Expected(LexemeTable table, List<int> output) => output.Add(Seq[Pos].Value);

    /// <inheritdoc />
    public override void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output)
    {
        if (Seq[Pos].Value != lexeme) return;
        Normalize(Grammar, Seq, Pos + 1, Parent, output);
    }

    /// <inheritdoc />
    public bool Equals(SeqFrame? other) =>
        other is not null && ReferenceEquals(Seq, other.Seq) && Pos == other.Pos && Equals(Parent, other.Parent);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Seq), Pos, Parent);
}
