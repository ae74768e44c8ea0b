using System.Buffers;

namespace Modular.Plugins.Router.Embedding;

/// <summary>
/// A model-free text embedding: the character n-grams (by default 3- to 5-grams) of the lower-cased,
/// whitespace-collapsed text, hashed into a fixed number of buckets with a ±1 sign taken from the hash (so that
/// colliding n-grams cancel on average instead of piling up), counted and L2-normalised. Cosine similarity is then
/// the dot product. Cheap enough to run per request: one pass over the text, no allocation besides the result.
/// </summary>
public sealed class NgramHashEmbedder
{
    private const uint FnvOffset = 2166136261;
    private const uint FnvPrime = 16777619;
    private readonly int _shift;

    [ThreadStatic] private static Scratch? t_scratch;

    /// <summary>Creates an embedder.</summary>
    /// <param name="dimensions">Number of hash buckets; a power of two from 64 to 1,048,576.</param>
    /// <param name="minN">Shortest n-gram (1..8).</param>
    /// <param name="maxN">Longest n-gram (minN..8).</param>
    /// <param name="maxChars">Only the last this many characters are read (the newest part of a conversation says most about what is asked).</param>
    public NgramHashEmbedder(int dimensions = 4096, int minN = 3, int maxN = 5, int maxChars = 4000)
    {
        if (dimensions < 64 || dimensions > (1 << 20) || (dimensions & (dimensions - 1)) != 0)
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "must be a power of two from 64 to 1048576");
        if (minN < 1 || maxN < minN || maxN > 8)
            throw new ArgumentOutOfRangeException(nameof(maxN), $"n-gram lengths must satisfy 1 <= min ({minN}) <= max ({maxN}) <= 8");
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        Dimensions = dimensions;
        MinN = minN;
        MaxN = maxN;
        MaxChars = maxChars;
        _shift = 32 - System.Numerics.BitOperations.Log2((uint)dimensions);
    }

    /// <summary>Number of hash buckets.</summary>
    public int Dimensions { get; }
    /// <summary>Shortest n-gram.</summary>
    public int MinN { get; }
    /// <summary>Longest n-gram.</summary>
    public int MaxN { get; }
    /// <summary>Characters read from the end of the text.</summary>
    public int MaxChars { get; }

    /// <summary>The normalised embedding as a sparse vector (empty for text without any n-gram).</summary>
    public SparseVector Embed(ReadOnlySpan<char> text)
    {
        var s = t_scratch;
        if (s is null || s.Values.Length != Dimensions) t_scratch = s = new Scratch(Dimensions);
        if (text.Length > MaxChars) text = text[^MaxChars..];

        char[] rented = ArrayPool<char>.Shared.Rent(text.Length + 2);
        try
        {
            int len = Normalize(text, rented);
            Count(rented.AsSpan(0, len), s);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return s.Drain();
    }

    /// <summary>The normalised embedding as a dense vector of <see cref="Dimensions"/> entries.</summary>
    public float[] EmbedDense(ReadOnlySpan<char> text) => Embed(text).ToDense(Dimensions);

    /// <summary>Lower-cases, maps every whitespace run to one space, and pads with a space on both sides so that word starts and ends form their own n-grams.</summary>
    private static int Normalize(ReadOnlySpan<char> text, char[] into)
    {
        int n = 0;
        into[n++] = ' ';
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                if (into[n - 1] != ' ') into[n++] = ' ';
            }
            else into[n++] = char.ToLowerInvariant(c);
        }
        if (into[n - 1] != ' ') into[n++] = ' ';
        return n;
    }

    private void Count(ReadOnlySpan<char> chars, Scratch s)
    {
        for (int i = 0; i < chars.Length; i++)
        {
            // FNV-1a extended one character at a time yields the hashes of every n-gram starting at i in one pass.
            uint h = FnvOffset;
            int end = Math.Min(chars.Length, i + MaxN);
            for (int j = i; j < end; j++)
            {
                h = (h ^ chars[j]) * FnvPrime;
                if (j - i + 1 >= MinN) s.Add((int)((h * 0x9E3779B1u) >> _shift), (h & 0x10000) == 0 ? 1f : -1f);
            }
        }
    }

    /// <summary>A dense accumulator that remembers which buckets it touched, so that draining and clearing cost O(touched).</summary>
    private sealed class Scratch(int dimensions)
    {
        public readonly float[] Values = new float[dimensions];
        private readonly bool[] _touched = new bool[dimensions];
        private int[] _list = new int[256];
        private int _count;

        public void Add(int index, float sign)
        {
            if (!_touched[index])
            {
                _touched[index] = true;
                if (_count == _list.Length) Array.Resize(ref _list, _count * 2);
                _list[_count++] = index;
            }
            Values[index] += sign;
        }

        public SparseVector Drain()
        {
            double norm = 0;
            int nonZero = 0;
            for (int i = 0; i < _count; i++)
            {
                float v = Values[_list[i]];
                norm += v * v;
                if (v != 0) nonZero++;
            }
            var idx = new int[nonZero];
            var val = new float[nonZero];
            float scale = norm > 0 ? (float)(1 / Math.Sqrt(norm)) : 0;
            int k = 0;
            for (int i = 0; i < _count; i++)
            {
                int b = _list[i];
                float v = Values[b];
                if (v != 0)
                {
                    idx[k] = b;
                    val[k++] = v * scale;
                }
                Values[b] = 0;
                _touched[b] = false;
            }
            _count = 0;
            return new SparseVector(idx, val);
        }
    }
}
