using Modular.Plugins.Guided.Lexing;
using Modular.Plugins.Guided.Parsing;

namespace Modular.Plugins.Guided.Json;

/// <summary>Expects a value of <see cref="Node"/> (never an anyOf node: those are expanded when pushed).</summary>
public sealed record ValueFrame(SchemaNode Node, Frame? Parent) : Frame
{
    /// <summary>Pushes a value of <paramref name="node"/> on <paramref name="parent"/>, expanding alternatives.</summary>
    public static void Push(SchemaNode node, Frame? parent, List<Frame?> output)
    {
        if (node.AnyOf is { } alts)
        {
            foreach (var a in alts) Push(a, parent, output);
            return;
        }
        output.Add(new ValueFrame(node, parent));
    }

    /// <inheritdoc />
    public override void Expected(LexemeTable table, List<int> output)
    {
        output.AddRange(Node.Scalars);
        if (Node.Object is not null) output.Add(table.OpenBrace);
        if (Node.Array is not null) output.Add(table.OpenBracket);
    }

    /// <inheritdoc />
    public override void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output)
    {
        if (System.Array.IndexOf(Node.Scalars, lexeme) >= 0) output.Add(Parent);
        if (lexeme == table.OpenBrace && Node.Object is { } obj)
            output.Add(new ObjectFrame(obj, ObjectFrame.Open, Bits.Empty, 0, null, Parent));
        if (lexeme == table.OpenBracket && Node.Array is { } arr)
        {
            if (arr.MinItems == 0 && arr.ContainsCount == 0) output.Add(new ArrayFrame(arr, ArrayFrame.CloseOnly, 0, Parent));
            if (arr.MaxItems > 0) ArrayFrame.PushItem(arr, 0, 0, Parent, output);
        }
    }

    /// <inheritdoc />
    public bool Equals(ValueFrame? other) => other is not null && ReferenceEquals(Node, other.Node) && Equals(Parent, other.Parent);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Node), Parent);
}

/// <summary>Inside an object: which members were seen and what comes next.</summary>
public sealed record ObjectFrame(ObjectShape Shape, byte Phase, Bits Seen, int Count, SchemaNode? Pending, Frame? Parent, int Found = 0, int PendingFound = 0) : Frame
{
    /// <summary>After '{': a key or '}'.</summary>
    public const byte Open = 0;
    /// <summary>After a key: ':'.</summary>
    public const byte AfterKey = 1;
    /// <summary>After a member value: ',' or '}'.</summary>
    public const byte AfterValue = 2;
    /// <summary>After ',': a key.</summary>
    public const byte AfterComma = 3;

    private bool CanClose()
    {
        if (Count < Shape.MinProperties || Found != Shape.AllWitnesses) return false;
        foreach (var r in Shape.Required) if (!Seen.Get(r)) return false;
        foreach (var (key, needs) in Shape.Dependencies)
            if (Seen.Get(key))
                foreach (var n in needs) if (!Seen.Get(n)) return false;
        return true;
    }

    /// <summary>
    /// Key lexemes. With other or pattern keys, seen names stay expected so that those cannot match them again: a
    /// declared name that matches suppresses the other/pattern meanings, and a seen one is then rejected (the other
    /// lexeme still lets the key grow past it). In a closed object nothing else can take a seen name, so offering it
    /// would let the mask start a key that no continuation completes: only unseen names are expected there.
    /// </summary>
    private void Keys(List<int> output)
    {
        if (!AnyKey()) return;
        if (LastMember && OpenWitnesses != 0)
        {
            // maxProperties leaves room for one member and witnesses are still open: only a key that qualifies for
            // one of them can lead to an object that closes, so only those keys are offered (the plain pattern and
            // other lexemes would let a key start that no qualifying key completes). Their meanings come from
            // WitnessMeaning. Seen names stay expected where pattern or other keys exist, to suppress those meanings.
            if (Shape.Patterns.Length > 0 || Shape.OtherLexeme >= 0)
                for (int i = 0; i < Shape.Names.Length; i++) if (Seen.Get(i)) output.Add(Shape.NameLexemes[i]);
            for (int j = 0; j < Shape.Witnesses.Length; j++)
                if ((OpenWitnesses & (1 << j)) != 0)
                    for (int i = 0; i < Shape.Names.Length; i++) if (!Seen.Get(i) && Shape.Witnesses[j].Declared[i]) output.Add(Shape.NameLexemes[i]);
            WitnessKeys(output);
            return;
        }
        if (Shape.Patterns.Length == 0 && Shape.OtherLexeme < 0)
        {
            for (int i = 0; i < Shape.Names.Length; i++) if (!Seen.Get(i)) output.Add(Shape.NameLexemes[i]);
            return;
        }
        output.AddRange(Shape.NameLexemes);
        foreach (var (lex, _) in Shape.Patterns) output.Add(lex);
        if (Shape.OtherLexeme >= 0) output.Add(Shape.OtherLexeme);
        // Witness lexemes are sub-languages of the pattern and other keys: here they only tell which keys qualify.
        WitnessKeys(output);
    }

    /// <summary>The pattern and other key lexemes of every witness still open.</summary>
    private void WitnessKeys(List<int> output)
    {
        for (int j = 0; j < Shape.Witnesses.Length; j++)
        {
            if ((OpenWitnesses & (1 << j)) == 0) continue;
            var w = Shape.Witnesses[j];
            foreach (var lex in w.PatternLexemes) if (lex >= 0) output.Add(lex);
            if (w.OtherLexeme >= 0) output.Add(w.OtherLexeme);
        }
    }

    /// <summary>True when the next member is the last one maxProperties allows.</summary>
    private bool LastMember => Count + 1 >= Shape.MaxProperties;

    /// <summary>Witnesses (existential member conditions) not yet satisfied.</summary>
    private int OpenWitnesses => Shape.AllWitnesses & ~Found;

    /// <summary>
    /// Adds the member as a plain one, unless it is the last member maxProperties allows while witnesses are open
    /// (then only a member that satisfies all of them can end the object), and as a witness for each set of unfound
    /// witnesses its key qualifies for.
    /// </summary>
    private void AddMember(int meaning, int[] accepted, ObjectFrame plain, List<Frame?> output)
    {
        if (!LastMember || OpenWitnesses == 0) output.Add(plain);
        if (Shape.Witnesses.Length > 0) AddWitnessed(meaning, accepted, plain, output);
    }

    /// <summary>
    /// The key meaning (pattern -k-2 or other -1) of a witness lexeme among the accepted ones, or null when another
    /// accepted lexeme speaks for the key: a declared name (its own lexeme handles it), a pattern for an other-key
    /// lexeme (the key is a pattern key), or an earlier accepted witness lexeme of the same meaning (one handles it).
    /// </summary>
    private int? WitnessMeaning(int lexeme, int[] accepted)
    {
        if (DeclaredAmong(accepted)) return null;
        int? mine = WitnessLexemeMeaning(lexeme);
        if (mine is not int m) return null;
        foreach (var a in accepted)
        {
            if (a == lexeme) break;
            if (WitnessLexemeMeaning(a) == m) return null;
        }
        if (m == -1)
            foreach (var a in accepted)
                if (WitnessLexemeMeaning(a) is <= -2 || (Shape.Meaning.TryGetValue(a, out int pm) && pm <= -2)) return null;
        return m;
    }

    private int? WitnessLexemeMeaning(int lexeme)
    {
        foreach (var w in Shape.Witnesses)
        {
            for (int k = 0; k < w.PatternLexemes.Length; k++) if (w.PatternLexemes[k] == lexeme) return -(k + 2);
            if (w.OtherLexeme == lexeme) return -1;
        }
        return null;
    }

    /// <summary>Adds, beside the plain member, the member as a witness for each set of unfound witnesses its key qualifies for.</summary>
    private void AddWitnessed(int meaning, int[] accepted, Frame plain, List<Frame?> output)
    {
        int qualifies = 0;
        for (int j = 0; j < Shape.Witnesses.Length; j++)
        {
            if ((Found & (1 << j)) != 0) continue;
            var w = Shape.Witnesses[j];
            bool ok = meaning >= 0 ? w.Declared[meaning]
                : meaning == -1 ? w.OtherLexeme >= 0 && System.Array.IndexOf(accepted, w.OtherLexeme) >= 0
                : w.PatternLexemes[-meaning - 2] is int pl && pl >= 0 && System.Array.IndexOf(accepted, pl) >= 0;
            if (ok) qualifies |= 1 << j;
        }
        // Every non-empty subset: one member may satisfy several witnesses at once.
        for (int bits = qualifies; bits > 0; bits = (bits - 1) & qualifies)
            if ((!LastMember || (OpenWitnesses & ~bits) == 0) && Shape.WitnessValues.TryGetValue((meaning, bits), out var value))
                output.Add(((ObjectFrame)plain) with { Pending = value, PendingFound = bits });
    }

    private bool AnyKey()
    {
        if (Count >= Shape.MaxProperties) return false;
        if (Shape.Patterns.Length > 0 || Shape.OtherLexeme >= 0) return true;
        for (int i = 0; i < Shape.Names.Length; i++) if (!Seen.Get(i)) return true;
        return false;
    }

    private bool DeclaredAmong(int[] accepted)
    {
        foreach (var a in accepted)
            if (Shape.Meaning.TryGetValue(a, out int m) && m >= 0) return true;
        return false;
    }

    private bool PatternAmong(int[] accepted)
    {
        foreach (var a in accepted)
            if (Shape.Meaning.TryGetValue(a, out int m) && m <= -2) return true;
        return false;
    }

    /// <inheritdoc />
    public override void Expected(LexemeTable table, List<int> output)
    {
        switch (Phase)
        {
            case Open:
                Keys(output);
                if (CanClose()) output.Add(table.CloseBrace);
                break;
            case AfterKey:
                output.Add(table.Colon);
                break;
            case AfterValue:
                if (CanClose()) output.Add(table.CloseBrace);
                // Only offer ',' when some key can follow it.
                if (AnyKey()) output.Add(table.Comma);
                break;
            case AfterComma:
                Keys(output);
                break;
        }
    }

    /// <inheritdoc />
    public override void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output)
    {
        switch (Phase)
        {
            case Open or AfterComma:
                if (lexeme == table.CloseBrace && Phase == Open && CanClose()) { output.Add(Parent); return; }
                if (Count >= Shape.MaxProperties) return;
                if (!Shape.Meaning.TryGetValue(lexeme, out int meaning))
                {
                    // A witness lexeme, offered alone for the last member (see Keys).
                    if (LastMember && OpenWitnesses != 0 && WitnessMeaning(lexeme, accepted) is int wm)
                        AddWitnessed(wm, accepted, this with { Phase = AfterKey, Pending = wm == -1 ? Shape.OtherValue : Shape.Patterns[-wm - 2].Value }, output);
                    return;
                }
                if (meaning >= 0)
                {
                    if (Seen.Get(meaning)) return;
                    AddMember(meaning, accepted, this with { Phase = AfterKey, Seen = Seen.With(meaning), Pending = Shape.Values[meaning] }, output);
                }
                else if (DeclaredAmong(accepted)) return;
                else if (meaning == -1)
                {
                    if (PatternAmong(accepted)) return;
                    AddMember(meaning, accepted, this with { Phase = AfterKey, Pending = Shape.OtherValue }, output);
                }
                else
                {
                    AddMember(meaning, accepted, this with { Phase = AfterKey, Pending = Shape.Patterns[-meaning - 2].Value }, output);
                }
                return;
            case AfterKey:
                if (lexeme != table.Colon || Pending is null) return;
                // The parent resumes only after the value is complete, so the witnesses it satisfies count from here.
                ValueFrame.Push(Pending, this with { Phase = AfterValue, Count = Count + 1, Pending = null, Found = Found | PendingFound, PendingFound = 0 }, output);
                return;
            case AfterValue:
                if (lexeme == table.CloseBrace && CanClose()) output.Add(Parent);
                else if (lexeme == table.Comma) output.Add(this with { Phase = AfterComma });
                return;
        }
    }

    /// <inheritdoc />
    public bool Equals(ObjectFrame? other) =>
        other is not null && ReferenceEquals(Shape, other.Shape) && Phase == other.Phase && Count == other.Count &&
        ReferenceEquals(Pending, other.Pending) && Found == other.Found && PendingFound == other.PendingFound &&
        Seen.Equals(other.Seen) && Equals(Parent, other.Parent);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Shape), Phase, Count, Seen, Found, Parent);
}

/// <summary>Inside an array: how many items so far, and (with contains) whether one of them satisfied it.</summary>
public sealed record ArrayFrame(ArrayShape Shape, byte Phase, int Index, Frame? Parent, int Found = 0) : Frame
{
    /// <summary>Right after '[' of an array that may be empty: only ']'.</summary>
    public const byte CloseOnly = 0;
    /// <summary>After an item (<see cref="Index"/> items so far): ',' or ']'.</summary>
    public const byte AfterValue = 1;

    /// <summary>
    /// Pushes item <paramref name="index"/>: as a plain item, and as the item that satisfies each set of contains
    /// schemas not satisfied yet (all configurations are kept; the array may close only in one that found them all).
    /// </summary>
    public static void PushItem(ArrayShape shape, int index, int found, Frame? parent, List<Frame?> output)
    {
        if (shape.Item(index) is { } item && Viable(shape, index, found))
            ValueFrame.Push(item, new ArrayFrame(shape, AfterValue, index + 1, parent, found), output);
        int open = shape.AllContains & ~found;
        for (int bits = open; bits > 0; bits = (bits - 1) & open)
            if (shape.Witness(index, bits) is { } witness && Viable(shape, index, found | bits))
                ValueFrame.Push(witness, new ArrayFrame(shape, AfterValue, index + 1, parent, found | bits), output);
    }

    /// <summary>
    /// Whether item <paramref name="index"/>, leaving the contains sets <paramref name="found"/> satisfied, may still let
    /// the array end: sets left open need at least one item after it (a necessary condition only). Without
    /// this, the last item allowed by maxItems could be a plain one and the array could then neither close nor grow
    /// (a dead end the mask would walk into: `[true, 1` under maxItems 2 and a contains still open).
    /// </summary>
    private static bool Viable(ArrayShape shape, int index, int found) =>
        (shape.AllContains & ~found) == 0 || (long)shape.MaxItems - (index + 1) >= 1;

    private bool CanClose => Phase == CloseOnly || (Index >= Shape.MinItems && Found == Shape.AllContains);

    private bool CanGrow
    {
        get
        {
            if (Index >= Shape.MaxItems) return false;
            if (Shape.Item(Index) is not null && Viable(Shape, Index, Found)) return true;
            int open = Shape.AllContains & ~Found;
            for (int bits = open; bits > 0; bits = (bits - 1) & open)
                if (Shape.Witness(Index, bits) is not null && Viable(Shape, Index, Found | bits)) return true;
            return false;
        }
    }

    /// <inheritdoc />
    public override void Expected(LexemeTable table, List<int> output)
    {
        if (CanClose) output.Add(table.CloseBracket);
        if (Phase == AfterValue && CanGrow) output.Add(table.Comma);
    }

    /// <inheritdoc />
    public override void Advance(LexemeTable table, int lexeme, int[] accepted, List<Frame?> output)
    {
        if (lexeme == table.CloseBracket && CanClose) { output.Add(Parent); return; }
        if (Phase == AfterValue && lexeme == table.Comma && CanGrow) PushItem(Shape, Index, Found, Parent, output);
    }

    /// <inheritdoc />
    public bool Equals(ArrayFrame? other) =>
        other is not null && ReferenceEquals(Shape, other.Shape) && Phase == other.Phase && Index == other.Index && Found == other.Found && Equals(Parent, other.Parent);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(Shape), Phase, Index, Found, Parent);
}

/// <summary>An immutable bit set (seen object members).</summary>
public sealed class Bits : IEquatable<Bits>
{
    private readonly ulong[] _words;

    private Bits(ulong[] words) => _words = words;

    /// <summary>The empty set.</summary>
    public static Bits Empty { get; } = new([]);

    /// <summary>True when bit <paramref name="i"/> is set.</summary>
    public bool Get(int i) => (i >> 6) < _words.Length && (_words[i >> 6] & (1UL << (i & 63))) != 0;

    /// <summary>A copy with bit <paramref name="i"/> set.</summary>
    public Bits With(int i)
    {
        var w = new ulong[Math.Max(_words.Length, (i >> 6) + 1)];
        _words.CopyTo(w, 0);
        w[i >> 6] |= 1UL << (i & 63);
        return new Bits(w);
    }

    /// <inheritdoc />
    public bool Equals(Bits? other)
    {
        if (other is null) return false;
        int n = Math.Max(_words.Length, other._words.Length);
        for (int i = 0; i < n; i++)
        {
            ulong a = i < _words.Length ? _words[i] : 0, b = i < other._words.Length ? other._words[i] : 0;
            if (a != b) return false;
        }
        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Bits);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        ulong h = 0;
        foreach (var w in _words) h = h * 31 + w;
        return h.GetHashCode();
    }
}
