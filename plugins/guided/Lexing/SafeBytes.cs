namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// Safe bytes of a lexer state: bytes that can never kill or end the current lexeme, from the state itself or from any
/// state reached through safe bytes (complete UTF-8 characters included when <see cref="LoopBytes.Utf8"/> is set).
/// A token made only of safe bytes is therefore allowed from the state whatever its exact path, which lets a
/// precomputed bitmask stand for most of the vocabulary in free-text states (string content before and after a
/// searched pattern, for example) where the state itself changes from byte to byte. Only states without a maxLength
/// qualify (a count bound makes every byte matter).
/// </summary>
internal static class SafeBytes
{
    /// <summary>States explored at most; larger closures give up (the trie walk still works, only slower).</summary>
    private const int MaxStates = 4096;
    /// <summary>Marks a state entered through a complete UTF-8 character.</summary>
    private const int ViaUtf8 = 256;

    /// <summary>Computes the safe bytes of <paramref name="state"/> and caches them on every state of its closure.</summary>
    public static LoopBytes Of(Lexer lexer, int state)
    {
        if (!Alive(lexer, state)) return default;
        ulong lo = ~0UL, hi = ~0UL;
        bool utf8 = true;
        var reach = new List<(int State, int Via)>();
        var seen = new HashSet<int>();
        var frontier = new List<int>(8);
        var next = new List<int>(8);
        for (int round = 0; round < 300; round++)
        {
            // Closure of the state under the current safe set; the first state with a killing byte shrinks the set
            // and the closure is redone. A state that many bytes kill (inside an escape, say) is cut off by removing
            // the one byte that entered it instead, which keeps the set large.
            reach.Clear();
            seen.Clear();
            reach.Add((state, -1));
            seen.Add(state);
            bool changed = false;
            for (int i = 0; i < reach.Count && !changed; i++)
            {
                var (w, via) = reach[i];
                ulong killLo = 0, killHi = 0;
                for (int b = 0; b < 128; b++)
                {
                    ulong bit = 1UL << (b & 63);
                    if (((b < 64 ? lo : hi) & bit) == 0) continue;
                    int t = lexer.Step(w, (byte)b);
                    if (t < 0 || !Alive(lexer, t & Automata.ByteDfa.StateMask))
                    {
                        if (b < 64) killLo |= bit; else killHi |= bit;
                    }
                }
                bool utf8Dies = utf8 && !Utf8Alive(lexer, w, frontier, next);
                int kills = System.Numerics.BitOperations.PopCount(killLo) + System.Numerics.BitOperations.PopCount(killHi) + (utf8Dies ? 8 : 0);
                if (kills > 0)
                {
                    changed = true;
                    if (via >= 0 && via < 128 && kills > 1)
                    {
                        if (via < 64) lo &= ~(1UL << via); else hi &= ~(1UL << (via - 64));
                    }
                    else if (via == ViaUtf8 && kills > 8) utf8 = false;
                    else
                    {
                        lo &= ~killLo;
                        hi &= ~killHi;
                        if (utf8Dies) utf8 = false;
                    }
                    break;
                }
                for (int b = 0; b < 128; b++)
                {
                    if (((b < 64 ? lo : hi) & (1UL << (b & 63))) == 0) continue;
                    int u = lexer.Step(w, (byte)b) & Automata.ByteDfa.StateMask;
                    if (seen.Add(u)) reach.Add((u, b));
                }
                if (utf8)
                    foreach (var seq in LoopBytes.Utf8Sequences)
                    {
                        Ends(lexer, w, seq, frontier, next);
                        foreach (var u in frontier) if (seen.Add(u)) reach.Add((u, ViaUtf8));
                    }
                if (reach.Count > MaxStates) return default;
            }
            if (!changed)
            {
                // Only the start state's answer is kept: the set is sound for every state of the closure too, but not
                // the largest for them (a state that needs one exact byte first leaves only that byte safe, and the free
                // text it leads to would inherit that one byte and lose its wholesale mask).
                return new LoopBytes(lo, hi, utf8);
            }
            if (lo == 0 && hi == 0 && !utf8) return default;
        }
        return default;
    }

    private static bool Alive(Lexer lexer, int u) => !lexer[u].Terminal && lexer[u].MaxCount == int.MaxValue;

    /// <summary>True when every valid UTF-8 character keeps <paramref name="w"/> alive (and not terminal).</summary>
    private static bool Utf8Alive(Lexer lexer, int w, List<int> frontier, List<int> next)
    {
        foreach (var seq in LoopBytes.Utf8Sequences)
            if (!Ends(lexer, w, seq, frontier, next)) return false;
        return true;
    }

    /// <summary>States after one character of class <paramref name="seq"/> (into <paramref name="result"/>); false when one dies.</summary>
    private static bool Ends(Lexer lexer, int w, (byte Lo, byte Hi)[] seq, List<int> result, List<int> scratch)
    {
        var frontier = result;
        var next = scratch;
        frontier.Clear();
        frontier.Add(w);
        for (int p = 0; p < seq.Length; p++)
        {
            next.Clear();
            foreach (var f in frontier)
                for (int b = seq[p].Lo; b <= seq[p].Hi; b++)
                {
                    int t = lexer.Step(f, (byte)b);
                    if (t < 0) { frontier.Clear(); return false; }
                    int u = t & Automata.ByteDfa.StateMask;
                    if (!Alive(lexer, u)) { frontier.Clear(); return false; }
                    if (!next.Contains(u)) next.Add(u);
                    if (next.Count > 16) { frontier.Clear(); return false; }
                }
            (frontier, next) = (next, frontier);
        }
        if (!ReferenceEquals(frontier, result))
        {
            result.Clear();
            result.AddRange(frontier);
        }
        return true;
    }
}
