using Modular.Abstractions;

namespace Modular.Plugins.Guided.Lexing;

/// <summary>
/// Byte trie of a vocabulary's token strings, built once per vocabulary. Mask computation walks it with the lexer
/// state and prunes whole subtrees at the first byte the state rejects. Special and empty tokens are left out, so
/// they are never allowed inside constrained text.
/// </summary>
public sealed class TokenTrie
{
    /// <summary>Per node: first edge index in <see cref="EdgeByte"/>/<see cref="EdgeTarget"/>.</summary>
    public readonly int[] FirstEdge;
    /// <summary>Per node: number of edges.</summary>
    public readonly int[] EdgeCount;
    /// <summary>Edge labels.</summary>
    public readonly byte[] EdgeByte;
    /// <summary>Edge targets.</summary>
    public readonly int[] EdgeTarget;
    /// <summary>Per node: first token ending here, or -1; further ones chain through <see cref="NextSameBytes"/>.</summary>
    public readonly int[] TokenAt;
    /// <summary>Per token: next token with identical bytes, or -1.</summary>
    public readonly int[] NextSameBytes;
    /// <summary>Per node: depth (bytes from the root).</summary>
    public readonly int[] Depth;
    /// <summary>Token bytes (null for left-out tokens).</summary>
    public readonly byte[]?[] Bytes;
    /// <summary>Tokens by first byte.</summary>
    public readonly int[][] ByFirstByte;
    /// <summary>Vocabulary size.</summary>
    public int TokenCount => Bytes.Length;
    /// <summary>Number of trie nodes.</summary>
    public int NodeCount => FirstEdge.Length;

    /// <summary>Builds the trie of <paramref name="vocabulary"/>.</summary>
    public TokenTrie(ITokenVocabulary vocabulary)
    {
        int n = vocabulary.Count;
        Bytes = new byte[n][];
        NextSameBytes = new int[n];
        Array.Fill(NextSameBytes, -1);
        var children = new List<Dictionary<byte, int>?> { null };
        var tokenAt = new List<int> { -1 };
        var depth = new List<int> { 0 };
        var firsts = new List<int>[256];
        for (int i = 0; i < 256; i++) firsts[i] = new List<int>();
        for (int id = 0; id < n; id++)
        {
            if (vocabulary.IsSpecial(id)) continue;
            var bytes = vocabulary.TokenBytes(id);
            if (bytes.Length == 0) continue;
            Bytes[id] = bytes.ToArray();
            firsts[bytes[0]].Add(id);
            int node = 0;
            foreach (var b in bytes)
            {
                var map = children[node] ??= new Dictionary<byte, int>();
                if (!map.TryGetValue(b, out int child))
                {
                    child = children.Count;
                    children.Add(null);
                    tokenAt.Add(-1);
                    depth.Add(depth[node] + 1);
                    map[b] = child;
                }
                node = child;
            }
            NextSameBytes[id] = tokenAt[node];
            tokenAt[node] = id;
        }
        int nodes = children.Count;
        FirstEdge = new int[nodes];
        EdgeCount = new int[nodes];
        int edges = 0;
        foreach (var c in children) edges += c?.Count ?? 0;
        EdgeByte = new byte[edges];
        EdgeTarget = new int[edges];
        int e = 0;
        for (int i = 0; i < nodes; i++)
        {
            FirstEdge[i] = e;
            var map = children[i];
            if (map is null) continue;
            EdgeCount[i] = map.Count;
            foreach (var kv in map.OrderBy(kv => kv.Key))
            {
                EdgeByte[e] = kv.Key;
                EdgeTarget[e] = kv.Value;
                e++;
            }
        }
        TokenAt = tokenAt.ToArray();
        Depth = depth.ToArray();
        ByFirstByte = new int[256][];
        for (int i = 0; i < 256; i++) ByFirstByte[i] = firsts[i].ToArray();

        // Preorder numbering: every subtree's tokens are one contiguous run of SubtreeTokens.
        SubtreeStart = new int[nodes];
        SubtreeEnd = new int[nodes];
        var order = new List<int>(n);
        var walk = new Stack<(int Node, bool Exit)>();
        walk.Push((0, false));
        while (walk.Count > 0)
        {
            var (x, exit) = walk.Pop();
            if (exit) { SubtreeEnd[x] = order.Count; continue; }
            SubtreeStart[x] = order.Count;
            for (int t = TokenAt[x]; t >= 0; t = NextSameBytes[t]) order.Add(t);
            walk.Push((x, true));
            for (int k = EdgeCount[x] - 1; k >= 0; k--) walk.Push((EdgeTarget[FirstEdge[x] + k], false));
        }
        SubtreeTokens = order.ToArray();
    }

    /// <summary>Per node: first index in <see cref="SubtreeTokens"/> of its subtree (own tokens first).</summary>
    public readonly int[] SubtreeStart;
    /// <summary>Per node: end (exclusive) of its subtree in <see cref="SubtreeTokens"/>.</summary>
    public readonly int[] SubtreeEnd;
    /// <summary>Token ids in trie preorder, so that a subtree is a contiguous range.</summary>
    public readonly int[] SubtreeTokens;

    /// <summary>Adds every token in the subtree rooted at <paramref name="node"/> to <paramref name="output"/>.</summary>
    public void CollectSubtree(int node, List<int> output)
    {
        var stack = new Stack<int>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            int x = stack.Pop();
            for (int t = TokenAt[x]; t >= 0; t = NextSameBytes[t]) output.Add(t);
            int first = FirstEdge[x];
            for (int k = 0; k < EdgeCount[x]; k++) stack.Push(EdgeTarget[first + k]);
        }
    }

    /// <summary>
    /// Greedy longest-match tokenization (a test driver: guided masks must accept any tokenization of a text).
    /// Returns null when some byte is not covered by any token.
    /// </summary>
    public List<int>? TokenizeLongestMatch(ReadOnlySpan<byte> text)
    {
        var ids = new List<int>();
        int pos = 0;
        while (pos < text.Length)
        {
            int node = 0, bestId = -1, bestLen = 0;
            for (int i = pos; i < text.Length; i++)
            {
                int child = Child(node, text[i]);
                if (child < 0) break;
                node = child;
                if (TokenAt[node] >= 0) { bestId = TokenAt[node]; bestLen = i - pos + 1; }
            }
            if (bestId < 0) return null;
            ids.Add(bestId);
            pos += bestLen;
        }
        return ids;
    }

    /// <summary>Child of <paramref name="node"/> along <paramref name="b"/>, or -1.</summary>
    public int Child(int node, byte b)
    {
        int lo = FirstEdge[node], hi = lo + EdgeCount[node] - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            byte m = EdgeByte[mid];
            if (m == b) return EdgeTarget[mid];
            if (m < b) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }
}
