namespace Modular.Plugins.Guided.Automata;

/// <summary>Boolean combinations of automata by product construction.</summary>
public static class DfaOps
{
    private readonly record struct Pair(int A, int B);

    /// <summary>Strings accepted by <paramref name="a"/> and (when <paramref name="negateB"/>) not by <paramref name="b"/>, or by both.</summary>
    public static ByteDfa Intersect(ByteDfa a, ByteDfa b, bool negateB = false, int limit = DfaBuilder.DefaultStateLimit)
    {
        return DfaBuilder.Build(new Pair(0, 0), (in Pair s, byte x, out Pair n, out bool counted) =>
        {
            counted = false;
            n = default;
            int na = a.Step(s.A, x);
            if (na < 0) return false;
            int nb = s.B < 0 ? -1 : b.Step(s.B, x);
            // Without negation the second automaton must stay alive; with it, its death is a permanent "not in B".
            if (nb < 0 && !negateB) return false;
            n = new Pair(na, nb);
            return true;
        }, s => a.Accept[s.A] && (negateB ? s.B < 0 || !b.Accept[s.B] : b.Accept[s.B]), limit);
    }

    private readonly record struct WsState(int Spaces, int Body);

    /// <summary>Allows up to <paramref name="maxSpaces"/> JSON whitespace bytes before <paramref name="body"/>.</summary>
    public static ByteDfa WithLeadingWhitespace(ByteDfa body, int maxSpaces)
    {
        if (maxSpaces <= 0) return body;
        return DfaBuilder.Build(new WsState(0, -1), (in WsState s, byte x, out WsState n, out bool counted) =>
        {
            counted = false;
            n = default;
            if (s.Body < 0)
            {
                if ((x == ' ' || x == '\n' || x == '\t' || x == '\r') && s.Spaces < maxSpaces)
                {
                    n = new WsState(s.Spaces + 1, -1);
                    return true;
                }
                int raw = body.Next[x];
                if (raw < 0) return false;
                counted = (raw & ByteDfa.CountFlag) != 0;
                n = new WsState(0, raw & ByteDfa.StateMask);
                return true;
            }
            int r = body.Next[s.Body * 256 + x];
            if (r < 0) return false;
            counted = (r & ByteDfa.CountFlag) != 0;
            n = new WsState(0, r & ByteDfa.StateMask);
            return true;
        }, s => s.Body >= 0 ? body.Accept[s.Body] : body.Accept[0]);
    }
}
