using System.Collections.Concurrent;
using System.Numerics;

namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// Per-vocabulary token classes that let a mask skip most of the trie walk in "free text" lexer states (string
/// content, digit runs): which ASCII bytes each token and each trie subtree uses, whether they hold non-ASCII bytes and
/// whether those form complete UTF-8, and each token's code point count. A lexer state that loops on a byte set S
/// accepts every token made of S (and of complete UTF-8 characters, when it loops on those too) wholesale: such tokens
/// come from one precomputed bitmask per S, and the walk only visits subtrees holding some other byte.
/// </summary>
public sealed class TokenClasses
{
    private const byte HighFlag = 1, ValidFlag = 2;

    private readonly ulong[] _tokenLo, _tokenHi;
    private readonly byte[] _tokenFlags;
    private readonly int[] _codePoints;
    private readonly ulong[] _belowLo, _belowHi;
    private readonly byte[] _nodeFlags;
    private readonly ConcurrentDictionary<(ulong, ulong, bool), ulong[]> _loopMasks = new();
    private readonly ulong[]?[] _atMost;

    /// <summary>Builds the classes of <paramref name="trie"/>'s tokens and nodes.</summary>
    public TokenClasses(TokenTrie trie)
    {
        int n = trie.TokenCount;
        Words = (n + 63) >> 6;
        _tokenLo = new ulong[n];
        _tokenHi = new ulong[n];
        _tokenFlags = new byte[n];
        _codePoints = new int[n];
        int maxCp = 0;
        for (int t = 0; t < n; t++)
        {
            var bytes = trie.Bytes[t];
            if (bytes is null) continue;
            ulong lo = 0, hi = 0;
            bool high = false;
            int cp = 0;
            foreach (var b in bytes)
            {
                if (b < 64) lo |= 1UL << b;
                else if (b < 128) hi |= 1UL << (b - 64);
                else high = true;
                if (b < 0x80 || b >= 0xC0) cp++;
            }
            _tokenLo[t] = lo;
            _tokenHi[t] = hi;
            _tokenFlags[t] = (byte)((high ? HighFlag : 0) | (System.Text.Unicode.Utf8.IsValid(bytes) ? ValidFlag : 0));
            _codePoints[t] = cp;
            maxCp = Math.Max(maxCp, cp);
        }
        MaxCodePoints = maxCp;
        _suffixValid = SuffixValidity(trie);
        _atMost = new ulong[]?[maxCp + 1];

        // Children always have larger node ids than their parents, so one reverse pass sees every subtree complete.
        int nodes = trie.NodeCount;
        _belowLo = new ulong[nodes];
        _belowHi = new ulong[nodes];
        _nodeFlags = new byte[nodes];
        for (int x = nodes - 1; x >= 0; x--)
        {
            ulong lo = 0, hi = 0;
            byte flags = ValidFlag;
            for (int t = trie.TokenAt[x]; t >= 0; t = trie.NextSameBytes[t])
                if ((_tokenFlags[t] & ValidFlag) == 0) flags = 0;
            int first = trie.FirstEdge[x];
            for (int k = 0; k < trie.EdgeCount[x]; k++)
            {
                byte b = trie.EdgeByte[first + k];
                int c = trie.EdgeTarget[first + k];
                if (b < 64) lo |= 1UL << b;
                else if (b < 128) hi |= 1UL << (b - 64);
                else flags |= HighFlag;
                lo |= _belowLo[c];
                hi |= _belowHi[c];
                flags |= (byte)(_nodeFlags[c] & HighFlag);
                if ((_nodeFlags[c] & ValidFlag) == 0) flags &= unchecked((byte)~ValidFlag);
            }
            _belowLo[x] = lo;
            _belowHi[x] = hi;
            _nodeFlags[x] = flags;
        }
    }

    /// <summary>Per node: every token below it continues (after the node's bytes) with complete, valid UTF-8.</summary>
    private static bool[] SuffixValidity(TokenTrie trie)
    {
        var valid = new bool[trie.NodeCount];
        Array.Fill(valid, true);
        for (int t = 0; t < trie.TokenCount; t++)
        {
            var bytes = trie.Bytes[t];
            if (bytes is null) continue;
            int node = 0;
            for (int d = 0; d < bytes.Length; d++)
            {
                if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(d))) valid[node] = false;
                node = trie.Child(node, bytes[d]);
            }
        }
        return valid;
    }

    private readonly bool[] _suffixValid;

    /// <summary>
    /// True when every token below <paramref name="node"/> continues, after the node's bytes, only with bytes on which
    /// <paramref name="loop"/>'s state loops: the whole subtree is allowed once the walk is in that state at the node.
    /// </summary>
    public bool SuffixesLoop(int node, in LoopBytes loop)
    {
        if ((_belowLo[node] & ~loop.Lo) != 0 || (_belowHi[node] & ~loop.Hi) != 0) return false;
        return (_nodeFlags[node] & HighFlag) == 0 || (loop.Utf8 && _suffixValid[node]);
    }

    /// <summary>Mask length in 64-bit words.</summary>
    public int Words { get; }
    /// <summary>Largest code point count of a token.</summary>
    public int MaxCodePoints { get; }

    /// <summary>Code points of token <paramref name="token"/> (bytes that are not UTF-8 continuation bytes).</summary>
    public int CodePoints(int token) => _codePoints[token];

    /// <summary>
    /// True when every token in the subtree of <paramref name="node"/> (the token at the node included), reached by a
    /// path of loop bytes, is itself a loop token of <paramref name="loop"/>.
    /// </summary>
    public bool SubtreeLoops(int node, in LoopBytes loop, bool pathHasHigh)
    {
        if ((_belowLo[node] & ~loop.Lo) != 0 || (_belowHi[node] & ~loop.Hi) != 0) return false;
        byte f = _nodeFlags[node];
        if (!pathHasHigh && (f & HighFlag) == 0) return true;
        return loop.Utf8 && (f & ValidFlag) != 0;
    }

    /// <summary>Tokens made only of <paramref name="loop"/>'s bytes (cached per byte set).</summary>
    public ulong[] LoopMask(in LoopBytes loop)
    {
        var key = (loop.Lo, loop.Hi, loop.Utf8);
        if (_loopMasks.TryGetValue(key, out var done)) return done;
        var mask = new ulong[Words];
        for (int t = 0; t < _tokenLo.Length; t++)
        {
            byte f = _tokenFlags[t];
            if ((_tokenLo[t] | _tokenHi[t]) == 0 && (f & HighFlag) == 0) continue; // left-out tokens
            if ((_tokenLo[t] & ~loop.Lo) != 0 || (_tokenHi[t] & ~loop.Hi) != 0) continue;
            if ((f & HighFlag) != 0 && !(loop.Utf8 && (f & ValidFlag) != 0)) continue;
            mask[t >> 6] |= 1UL << (t & 63);
        }
        return _loopMasks.GetOrAdd(key, mask);
    }

    /// <summary>Tokens of at most <paramref name="k"/> code points (cumulative masks, built on first use).</summary>
    public ulong[] AtMostCodePoints(int k)
    {
        if (k >= MaxCodePoints) k = MaxCodePoints;
        var m = Volatile.Read(ref _atMost[k]);
        if (m is not null) return m;
        m = new ulong[Words];
        for (int t = 0; t < _codePoints.Length; t++)
            if (_codePoints[t] <= k) m[t >> 6] |= 1UL << (t & 63);
        Volatile.Write(ref _atMost[k], m);
        return m;
    }
}

/// <summary>
/// The bytes on which a lexer state loops back to itself: ASCII bytes as a 128-bit set, plus whether every complete
/// UTF-8 multi-byte character also leads back to it. When the state counts code points, only loops that count one
/// code point per character are included, so a loop token's count delta is its code point count.
/// </summary>
/// <param name="Lo">Loop bytes 0..63.</param>
/// <param name="Hi">Loop bytes 64..127.</param>
/// <param name="Utf8">Every valid multi-byte UTF-8 character returns to the state.</param>
public readonly record struct LoopBytes(ulong Lo, ulong Hi, bool Utf8)
{
    /// <summary>Worth a precomputed mask: enough bytes loop that many tokens are made of them.</summary>
    public bool Useful => Utf8 || BitOperations.PopCount(Lo) + BitOperations.PopCount(Hi) >= 8;

    /// <summary>True when ASCII byte <paramref name="b"/> loops.</summary>
    public bool Has(byte b) => b < 64 ? (Lo & (1UL << b)) != 0 : b < 128 && (Hi & (1UL << (b - 64))) != 0;

    // Valid UTF-8 multi-byte characters as byte ranges per position (RFC 3629, surrogates excluded).
    private static readonly (byte Lo, byte Hi)[][] Sequences =
    [
        [(0xC2, 0xDF), (0x80, 0xBF)],
        [(0xE0, 0xE0), (0xA0, 0xBF), (0x80, 0xBF)],
        [(0xE1, 0xEC), (0x80, 0xBF), (0x80, 0xBF)],
        [(0xED, 0xED), (0x80, 0x9F), (0x80, 0xBF)],
        [(0xEE, 0xEF), (0x80, 0xBF), (0x80, 0xBF)],
        [(0xF0, 0xF0), (0x90, 0xBF), (0x80, 0xBF), (0x80, 0xBF)],
        [(0xF1, 0xF3), (0x80, 0xBF), (0x80, 0xBF), (0x80, 0xBF)],
        [(0xF4, 0xF4), (0x80, 0x8F), (0x80, 0xBF), (0x80, 0xBF)],
    ];

    /// <summary>Finds the loop bytes of union state <paramref name="state"/>.</summary>
    public static LoopBytes Of(Lexer lexer, int state)
    {
        bool counted = lexer[state].HasCounted;
        ulong lo = 0, hi = 0;
        for (int b = 0; b < 128; b++)
        {
            int t = lexer.Step(state, (byte)b);
            if (t < 0 || (t & Automata.ByteDfa.StateMask) != state) continue;
            if (counted && (t & Automata.ByteDfa.CountFlag) == 0) continue;
            if (b < 64) lo |= 1UL << b; else hi |= 1UL << (b - 64);
        }
        return new LoopBytes(lo, hi, Utf8Returns(lexer, state, counted));
    }

    /// <summary>Valid UTF-8 multi-byte characters: byte ranges per position.</summary>
    internal static (byte Lo, byte Hi)[][] Utf8Sequences => Sequences;

    private static bool Utf8Returns(Lexer lexer, int state, bool counted)
    {
        var frontier = new List<int>(4);
        var next = new List<int>(4);
        foreach (var seq in Sequences)
        {
            frontier.Clear();
            frontier.Add(state);
            for (int i = 0; i < seq.Length; i++)
            {
                next.Clear();
                foreach (var s in frontier)
                    for (int b = seq[i].Lo; b <= seq[i].Hi; b++)
                    {
                        int t = lexer.Step(s, (byte)b);
                        if (t < 0) return false;
                        // Counted states: the lead byte starts the code point, continuation bytes do not.
                        if (counted && ((t & Automata.ByteDfa.CountFlag) != 0) != (i == 0)) return false;
                        int u = t & Automata.ByteDfa.StateMask;
                        if (!next.Contains(u)) next.Add(u);
                        if (next.Count > 16) return false;
                    }
                (frontier, next) = (next, frontier);
            }
            if (frontier.Count != 1 || frontier[0] != state) return false;
        }
        return true;
    }
}
