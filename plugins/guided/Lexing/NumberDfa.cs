using System.Globalization;
using Modular.Plugins.Guided.Automata;

namespace Modular.Plugins.Guided.Lexing;

/// <summary>A numeric bound written as sign and decimal digits, so comparison can be done digit by digit.</summary>
public sealed record NumberBound(bool Negative, string IntDigits, string FracDigits, bool Exclusive)
{
    /// <summary>Parses a JSON number's text; null when it cannot be represented (too large or too precise).</summary>
    public static NumberBound? Parse(string text, bool exclusive)
    {
        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return null;
        // Bounds beyond 15 digits are not worth the automaton states they cost (and cover every int64 use).
        if (Math.Abs(d) >= 1e15m) return null;
        var s = Math.Abs(d).ToString(CultureInfo.InvariantCulture);
        int dot = s.IndexOf('.');
        string ip = dot < 0 ? s : s[..dot];
        string fp = dot < 0 ? "" : s[(dot + 1)..].TrimEnd('0');
        return new NumberBound(d < 0 && (ip != "0" || fp.Length > 0), ip, fp, exclusive);
    }
}

/// <summary>What a JSON number lexeme must satisfy.</summary>
/// <param name="Integer">Only integers (no fraction, no exponent).</param>
/// <param name="Lower">minimum / exclusiveMinimum, or null.</param>
/// <param name="Upper">maximum / exclusiveMaximum, or null.</param>
/// <param name="MultipleOf">Integer divisor (integers only), or 0.</param>
/// <param name="MaxFractionDigits">At most this many fraction digits (multipleOf 10^-k), or -1.</param>
/// <param name="NotMultipleOf">Integers the value must not be a multiple of (from negated multipleOf), or empty.
/// Such numbers are written without an exponent: an integer part divisible by none of them, or a fraction with a
/// nonzero digit.</param>
public sealed record NumberSpec(bool Integer, NumberBound? Lower, NumberBound? Upper, int MultipleOf, int MaxFractionDigits, int[]? NotMultipleOf = null)
{
    /// <summary>Interning key.</summary>
    public string Key => $"{(Integer ? 'i' : 'n')}|{Lower}|{Upper}|{MultipleOf}|{MaxFractionDigits}" +
                         (NotMultipleOf is { Length: > 0 } not ? "|not" + string.Join(",", not) : "");

    /// <summary>Modulus tracked over the integer digits (every divisor divides it).</summary>
    public int Modulus
    {
        get
        {
            long m = Math.Max(MultipleOf, 1);
            foreach (var k in NotMultipleOf ?? []) m = m / Gcd(m, k) * k;
            return m == 1 && MultipleOf == 0 && (NotMultipleOf ?? []).Length == 0 ? 0 : (int)m;
        }
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);
}

/// <summary>
/// Builds JSON number automata that enforce bounds exactly: the comparison with each bound is tracked digit by
/// digit (length of the integer part, first differing digit, then the fraction), so masks never allow a prefix that
/// cannot end inside the range.
/// </summary>
public static class NumberDfa
{
    private const byte Start = 0, Minus = 1, Zero = 2, IntDigits = 3, Dot = 4, Frac = 5, Exp = 6, ExpSign = 7, ExpDigits = 8;

    /// <summary>Comparison progress against one bound.</summary>
    private readonly record struct Cmp(byte IntLen, sbyte Lex, sbyte Mag, byte FracPos);

    private readonly record struct State(byte Phase, bool Negative, bool NonZero, Cmp Lo, Cmp Hi, int Mod, byte FracLen, bool FracNonZero = false);

    /// <summary>Builds the automaton for <paramref name="spec"/>.</summary>
    public static ByteDfa Build(NumberSpec spec)
    {
        bool bounded = spec.Lower is not null || spec.Upper is not null;
        bool allowFraction = !spec.Integer && spec.MultipleOf == 0;
        var notMultiple = spec.NotMultipleOf ?? [];
        bool allowExp = allowFraction && !bounded && spec.MaxFractionDigits < 0 && notMultiple.Length == 0;
        int modulus = spec.Modulus;
        return DfaBuilder.Build(new State(Start, false, false, default, default, 0, 0),
            (in State s, byte b, out State n, out bool counted) =>
            {
                counted = false;
                n = s;
                bool digit = b >= '0' && b <= '9';
                int d = b - '0';
                switch (s.Phase)
                {
                    case Start:
                        if (b == '-') { n = s with { Phase = Minus, Negative = true }; return true; }
                        goto case Minus;
                    case Minus:
                        if (!digit) return false;
                        n = s with
                        {
                            Phase = d == 0 ? Zero : IntDigits, NonZero = d != 0,
                            Lo = IntStep(s.Lo, spec.Lower, d), Hi = IntStep(s.Hi, spec.Upper, d), Mod = Mod(s.Mod, d, modulus),
                        };
                        return true;
                    case Zero:
                    case IntDigits:
                        if (digit && s.Phase == IntDigits)
                        {
                            n = s with { Lo = IntStep(s.Lo, spec.Lower, d), Hi = IntStep(s.Hi, spec.Upper, d), Mod = Mod(s.Mod, d, modulus) };
                            return true;
                        }
                        if (b == '.' && allowFraction)
                        {
                            n = s with { Phase = Dot, Lo = EndInt(s.Lo, spec.Lower), Hi = EndInt(s.Hi, spec.Upper) };
                            return true;
                        }
                        if ((b == 'e' || b == 'E') && allowExp) { n = s with { Phase = Exp }; return true; }
                        return false;
                    case Dot:
                    case Frac:
                        if (digit)
                        {
                            if (spec.MaxFractionDigits >= 0 && s.FracLen >= spec.MaxFractionDigits) return false;
                            n = s with
                            {
                                Phase = Frac, NonZero = s.NonZero || d != 0, FracLen = (byte)Math.Min(s.FracLen + 1, 200),
                                FracNonZero = notMultiple.Length > 0 && (s.FracNonZero || d != 0),
                                Lo = FracStep(s.Lo, spec.Lower, d), Hi = FracStep(s.Hi, spec.Upper, d),
                            };
                            return true;
                        }
                        if ((b == 'e' || b == 'E') && allowExp && s.Phase == Frac) { n = s with { Phase = Exp }; return true; }
                        return false;
                    case Exp:
                        if (b == '+' || b == '-') { n = s with { Phase = ExpSign }; return true; }
                        if (digit) { n = s with { Phase = ExpDigits }; return true; }
                        return false;
                    case ExpSign:
                    case ExpDigits:
                        if (digit) { n = s with { Phase = ExpDigits }; return true; }
                        return false;
                }
                return false;
            },
            s =>
            {
                if (s.Phase is not (Zero or IntDigits or Frac or ExpDigits)) return false;
                if (spec.MultipleOf > 0 && s.Mod % spec.MultipleOf != 0) return false;
                // A value is a multiple only when integral: a nonzero fraction digit makes it a non-multiple.
                if (!s.FracNonZero) foreach (var k in notMultiple) if (s.Mod % k == 0) return false;
                bool intEnded = s.Phase is Frac;
                if (spec.Lower is { } lo)
                {
                    int rel = Relation(s, intEnded ? s.Lo : EndInt(s.Lo, lo), lo);
                    if (rel < 0 || (rel == 0 && lo.Exclusive)) return false;
                }
                if (spec.Upper is { } hi)
                {
                    int rel = Relation(s, intEnded ? s.Hi : EndInt(s.Hi, hi), hi);
                    if (rel > 0 || (rel == 0 && hi.Exclusive)) return false;
                }
                return true;
            });
    }

    private static int Mod(int r, int d, int m) => m > 0 ? (r * 10 + d) % m : 0;

    private static Cmp IntStep(Cmp c, NumberBound? bound, int d)
    {
        if (bound is null) return c;
        int len = bound.IntDigits.Length;
        sbyte lex = c.Lex;
        if (lex == 0 && c.IntLen < len) lex = (sbyte)Math.Sign(d - (bound.IntDigits[c.IntLen] - '0'));
        return c with { IntLen = (byte)Math.Min(c.IntLen + 1, len + 1), Lex = lex };
    }

    private static Cmp EndInt(Cmp c, NumberBound? bound)
    {
        if (bound is null) return c;
        int len = bound.IntDigits.Length;
        sbyte mag = c.IntLen < len ? (sbyte)-1 : c.IntLen > len ? (sbyte)1 : c.Lex;
        return c with { Mag = mag, IntLen = 0, Lex = 0 };
    }

    private static Cmp FracStep(Cmp c, NumberBound? bound, int d)
    {
        if (bound is null || c.Mag != 0) return c;
        var f = bound.FracDigits;
        int bd = c.FracPos < f.Length ? f[c.FracPos] - '0' : 0;
        return c with { Mag = (sbyte)Math.Sign(d - bd), FracPos = (byte)Math.Min(c.FracPos + 1, f.Length) };
    }

    /// <summary>Sign of (value - bound) given the magnitude comparison.</summary>
    private static int Relation(in State s, Cmp c, NumberBound bound)
    {
        bool valueNegative = s.Negative && s.NonZero;
        if (!valueNegative && !bound.Negative)
        {
            // Both non-negative; a bound with a nonzero fraction beyond the value's digits is larger.
            if (c.Mag != 0) return c.Mag;
            return c.FracPos < bound.FracDigits.Length ? -1 : 0;
        }
        if (valueNegative && !bound.Negative) return -1;
        if (!valueNegative && bound.Negative) return 1;
        if (c.Mag != 0) return -c.Mag;
        return c.FracPos < bound.FracDigits.Length ? 1 : 0;
    }
}
