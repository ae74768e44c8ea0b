namespace Modular.Plugins.Guided.Automata;

/// <summary>
/// A deterministic automaton over bytes with a dense transition table. Transitions are encoded as the next state
/// index, or -1 for the dead state; bit 30 (<see cref="CountFlag"/>) marks a transition that starts a new Unicode
/// code point of a string's decoded content (used for minLength/maxLength, which are counted outside the table).
/// </summary>
public sealed class ByteDfa
{
    /// <summary>Flag bit on a transition that begins a counted code point.</summary>
    public const int CountFlag = 1 << 30;
    /// <summary>Mask that strips <see cref="CountFlag"/>.</summary>
    public const int StateMask = CountFlag - 1;

    /// <summary>Transitions: <c>Next[state * 256 + b]</c>.</summary>
    public readonly int[] Next;
    /// <summary>Accepting states.</summary>
    public readonly bool[] Accept;
    /// <summary>True for states with no outgoing transition (the lexeme must end there).</summary>
    public readonly bool[] Terminal;

    /// <summary>Start state (always 0).</summary>
    public int Start => 0;
    /// <summary>Number of states.</summary>
    public int StateCount => Accept.Length;

    /// <summary>Creates an automaton from its table; computes <see cref="Terminal"/>.</summary>
    public ByteDfa(int[] next, bool[] accept)
    {
        Next = next;
        Accept = accept;
        Terminal = new bool[accept.Length];
        for (int s = 0; s < accept.Length; s++)
        {
            bool any = false;
            for (int b = 0; b < 256 && !any; b++) any = next[s * 256 + b] >= 0;
            Terminal[s] = !any;
        }
    }

    /// <summary>Next state (flag stripped) or -1.</summary>
    public int Step(int state, byte b)
    {
        int n = Next[state * 256 + b];
        return n < 0 ? -1 : n & StateMask;
    }

    /// <summary>Runs the automaton over <paramref name="bytes"/> from the start; true when it ends accepting.</summary>
    public bool Matches(ReadOnlySpan<byte> bytes)
    {
        int s = 0;
        foreach (var b in bytes)
        {
            s = Step(s, b);
            if (s < 0) return false;
        }
        return Accept[s];
    }

    /// <summary>True when the language is empty (start state cannot reach acceptance).</summary>
    public bool IsEmpty => !Accept[0] && Terminal[0];
}
