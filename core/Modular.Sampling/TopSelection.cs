using System.Numerics.Tensors;

namespace Modular.Sampling;

/// <summary>
/// Partial selection of the largest values of a row (top-k, top logprobs, beam candidates) without sorting the row:
/// a bounded min-heap of the k best seen so far, with whole chunks skipped when their maximum cannot enter it.
/// </summary>
public static class TopSelection
{
    // Chunks whose vectorized maximum does not beat the heap's worst entry are skipped without a scalar look.
    private const int ChunkSize = 512;

    /// <summary>
    /// Writes the indices and values of the <paramref name="k"/> largest entries of <paramref name="values"/>, largest
    /// first; equal values are ordered by lower index first, and NaN entries are never selected.
    /// </summary>
    /// <param name="values">The row to search.</param>
    /// <param name="k">How many entries to keep.</param>
    /// <param name="indices">Receives the chosen indices; at least <paramref name="k"/> long.</param>
    /// <param name="topValues">Receives their values; at least <paramref name="k"/> long.</param>
    /// <returns>The number written: min(k, number of non-NaN entries).</returns>
    public static int Largest(ReadOnlySpan<float> values, int k, Span<int> indices, Span<float> topValues)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (indices.Length < k || topValues.Length < k)
            throw new ArgumentException($"TopSelection.Largest: output spans hold {Math.Min(indices.Length, topValues.Length)} entries but k = {k}");
        if (k == 0) return 0;

        int count = 0;
        int i = 0;
        // Fill phase: push until the heap holds k entries.
        for (; i < values.Length && count < k; i++)
        {
            float v = values[i];
            if (float.IsNaN(v)) continue;
            indices[count] = i;
            topValues[count] = v;
            SiftUp(indices, topValues, count);
            count++;
        }

        // Replace phase: the root is the worst kept entry; a later index only enters with a strictly larger value.
        while (i < values.Length)
        {
            int end = Math.Min(i + ChunkSize, values.Length);
            if (TensorPrimitives.Max(values[i..end]) <= topValues[0]) { i = end; continue; }
            for (; i < end; i++)
            {
                float v = values[i];
                if (v > topValues[0])
                {
                    indices[0] = i;
                    topValues[0] = v;
                    SiftDown(indices, topValues, 0, count);
                }
            }
        }

        // Heap-sort extraction: moving the worst to the end each time leaves the best first.
        for (int size = count - 1; size > 0; size--)
        {
            (indices[0], indices[size]) = (indices[size], indices[0]);
            (topValues[0], topValues[size]) = (topValues[size], topValues[0]);
            SiftDown(indices, topValues, 0, size);
        }
        return count;
    }

    /// <summary>True when entry a ranks below entry b: smaller value, or equal value and larger index.</summary>
    private static bool Worse(float va, int ia, float vb, int ib) => va < vb || (va == vb && ia > ib);

    private static void SiftUp(Span<int> idx, Span<float> val, int pos)
    {
        while (pos > 0)
        {
            int parent = (pos - 1) >> 1;
            if (!Worse(val[pos], idx[pos], val[parent], idx[parent])) break;
            (idx[pos], idx[parent]) = (idx[parent], idx[pos]);
            (val[pos], val[parent]) = (val[parent], val[pos]);
            pos = parent;
        }
    }

    private static void SiftDown(Span<int> idx, Span<float> val, int pos, int size)
    {
        while (true)
        {
            int left = 2 * pos + 1;
            if (left >= size) return;
            int worst = left;
            int right = left + 1;
            if (right < size && Worse(val[right], idx[right], val[left], idx[left])) worst = right;
            if (!Worse(val[worst], idx[worst], val[pos], idx[pos])) return;
            (idx[pos], idx[worst]) = (idx[worst], idx[pos]);
            (val[pos], val[worst]) = (val[worst], val[pos]);
            pos = worst;
        }
    }
}
