using Modular.Plugins.Guided.Lexing;

namespace Modular.Plugins.Guided.Parsing;

/// <summary>
/// One level of a parser configuration (an immutable stack; <c>null</c> is the empty stack, meaning the whole
/// output is complete). A configuration's top frame says which lexemes may come next and what each one does.
/// Several configurations are kept at once where the constraint is ambiguous (anyOf, grammar alternatives).
/// </summary>
public abstract record Frame
{
    /// <summary>Adds the lexemes this frame accepts next.</summary>
    public abstract void Expected(LexemeTable table, List<int> output);

    /// <summary>
    /// Adds the configurations after <paramref name="lexeme"/>; adds nothing when it is not expected.
    /// <paramref name="accepted"/> is every lexeme that matched the same text (a declared key beats "any other key").
    /// </summary>
    public abstract void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output);
}

/// <summary>Expects one of a fixed set of lexemes, then pops (regex and choice constraints).</summary>
public sealed record LexemeFrame(int[] Lexemes, Frame? Parent) : Frame
{
    /// <inheritdoc />
    public override void Expected(LexemeTable table, List<int> output) => output.AddRange(Lexemes);

    /// <inheritdoc />
    public override void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output)
    {
        if (Array.IndexOf(Lexemes, lexeme) >= 0) output.Add(Parent);
    }

    /// <inheritdoc />
    public bool Equals(LexemeFrame? other) => other is not null && ReferenceEquals(Lexemes, other.Lexemes) && Equals(Parent, other.Parent);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Lexemes, Parent);
}

/// <summary>A set of parser configurations at a lexeme boundary, with its union lexer start state.</summary>
public sealed class ParseState
{
    /// <summary>Cap on simultaneous configurations (ambiguous anyOf inside arrays could otherwise multiply).</summary>
    public const int MaxConfigurations = 512;

    private readonly Dictionary<long, ParseState?> _completions = new();

    /// <summary>
    /// Finished masks of cursors in this state, by (lexer state, code-point count, at lexeme start). A mask depends
    /// only on those and the state, and states are shared by every matcher of one compiled constraint, so a repeated
    /// position costs one copy instead of a trie walk.
    /// </summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<(int Union, int Count, bool AtStart), ulong[]> Masks { get; } = new();

    /// <summary>
    /// Shortest completions found for cursors in this state (the bytes to append), by the key of
    /// <see cref="VocabContext.CompletionKey"/>; null where the search gave up. Shared like the masks.
    /// </summary>
    internal System.Collections.Concurrent.ConcurrentDictionary<(int Union, int Count, bool AtStart), byte[]?> Completions
    {
        get
        {
            // Created on first use: most states are never searched from, and masks alone must not pay for it.
            var d = Volatile.Read(ref _completionsMemo);
            if (d is not null) return d;
            Interlocked.CompareExchange(ref _completionsMemo, new(), null);
            return _completionsMemo!;
        }
    }

    private System.Collections.Concurrent.ConcurrentDictionary<(int Union, int Count, bool AtStart), byte[]?>? _completionsMemo;

    private ParseState(Frame?[] configs, int start, bool hasDone)
    {
        Configs = configs;
        StartUnion = start;
        HasDone = hasDone;
    }

    /// <summary>The configurations.</summary>
    public Frame?[] Configs { get; }
    /// <summary>Union lexer state at the start of the next lexeme (-1 when nothing can follow).</summary>
    public int StartUnion { get; }
    /// <summary>Some configuration is complete (the empty stack).</summary>
    public bool HasDone { get; }

    /// <summary>Deduplicates <paramref name="configs"/> and computes the start state; null when empty.</summary>
    public static ParseState? Create(List<Frame?> configs, Lexer lexer)
    {
        if (configs.Count == 0) return null;
        var unique = new List<Frame?>(configs.Count);
        var seen = new HashSet<Frame>();
        bool done = false;
        foreach (var c in configs)
        {
            if (c is null) { done = true; continue; }
            if (unique.Count < MaxConfigurations && seen.Add(c)) unique.Add(c);
        }
        var expected = new List<int>();
        foreach (var c in unique) c!.Expected(lexer.Table, expected);
        expected.Sort();
        int w = 0;
        for (int i = 0; i < expected.Count; i++) if (w == 0 || expected[w - 1] != expected[i]) expected[w++] = expected[i];
        expected.RemoveRange(w, expected.Count - w);
        if (done) unique.Add(null);
        return new ParseState(unique.ToArray(), lexer.Start(expected), done);
    }

    /// <summary>
    /// The state after the current lexeme ends in union state <paramref name="union"/> with <paramref name="count"/>
    /// code points; null when no configuration accepts it. Memoized, since masks ask the same question often.
    /// </summary>
    public ParseState? Complete(Lexer lexer, int union, int count)
    {
        var u = lexer[union];
        long key = ((long)union << 32) | (uint)(u.HasCounted ? count : 0);
        lock (_completions)
        {
            if (_completions.TryGetValue(key, out var memo)) return memo;
        }
        var output = new List<Frame?>();
        var accepted = new List<int>(u.Accepting.Length);
        foreach (var lexId in u.Accepting)
        {
            var lex = lexer.Table[lexId];
            if (count >= lex.MinCount && count <= lex.MaxCount) accepted.Add(lexId);
        }
        var acc = accepted.ToArray();
        foreach (var lexId in acc)
            foreach (var c in Configs) c?.Advance(lexer.Table, lexId, acc, output);
        var result = Create(output, lexer);
        lock (_completions) _completions[key] = result;
        return result;
    }
}
