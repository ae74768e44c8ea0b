using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// Stacks packed weights along output features (q|k|v, gate|up) into one canonical weight. Parts must share the
/// code format and K; their scale layouts are reconciled: block scales stay blocks when every part boundary falls on
/// a block boundary, otherwise scales are expanded to one row per output feature (per-tensor scales of fused parts
/// become per-channel, since the parts' scales differ).
/// </summary>
public static class WeightFusion
{
    /// <summary>The parts concatenated in order; a single part is returned as is.</summary>
    public static PackedWeight Concat(IReadOnlyList<PackedWeight> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("no parts to fuse", nameof(parts));
        if (parts.Count == 1) return parts[0];
        var first = parts[0];
        int k = first.InFeatures, n = 0;
        foreach (var p in parts)
        {
            if (p.Format != first.Format || p.InFeatures != k)
                throw new ArgumentException($"cannot fuse a {p.Format} [{p.OutFeatures},{p.InFeatures}] weight with a {first.Format} [{first.OutFeatures},{k}] one");
            n += p.OutFeatures;
        }

        var (groupIndex, groups, groupMaps) = MergeGroups(parts);
        bool sameGroups = groupMaps is null;
        int blockRows = first.ScaleBlockRows;
        bool keepBlocks = sameGroups && blockRows > 1;
        for (int i = 0; i < parts.Count && keepBlocks; i++)
            keepBlocks = parts[i].ScaleBlockRows == blockRows && (i == parts.Count - 1 || parts[i].OutFeatures % blockRows == 0);
        if (!keepBlocks) blockRows = 1;

        var data = new byte[(long)n * first.RowBytes];
        var scales = new float[(long)((n + blockRows - 1) / blockRows) * groups];
        bool anyZeros = false;
        foreach (var p in parts) anyZeros |= p.Zeros is not null;
        var zeros = anyZeros ? new float[(long)n * groups] : null;
        long dataAt = 0, scaleAt = 0;
        int row0 = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            var p = parts[i];
            Array.Copy(p.Data, 0, data, dataAt, p.Data.Length);
            dataAt += p.Data.Length;
            var map = groupMaps?[i];
            if (keepBlocks || (blockRows == 1 && p.ScaleBlockRows == 1 && map is null))
            {
                Array.Copy(p.Scales, 0, scales, scaleAt, p.Scales.Length);
                scaleAt += p.Scales.Length;
            }
            else
            {
                for (int r = 0; r < p.OutFeatures; r++)
                    for (int c = 0; c < groups; c++)
                        scales[(long)(row0 + r) * groups + c] = p.Scales[(long)(r / p.ScaleBlockRows) * p.Groups + (map?[c] ?? c)];
                scaleAt += (long)p.OutFeatures * groups;
            }
            if (zeros is not null)
            {
                float mid = p.Format == QuantizedFormat.Int4 ? 8f : 128f;
                for (int r = 0; r < p.OutFeatures; r++)
                    for (int c = 0; c < groups; c++)
                        zeros[(long)(row0 + r) * groups + c] = p.Zeros?[(long)r * p.Groups + (map?[c] ?? c)] ?? mid;
            }
            row0 += p.OutFeatures;
        }
        return new PackedWeight(first.Format, n, k, data, scales, groups, zeros, first.GroupSize, blockRows, groupIndex);
    }

    /// <summary>
    /// One group structure for all parts. Equal structures are kept. Different act-order permutations (each part's
    /// inputs grouped differently) become one group per distinct combination of the parts' groups, with a map from
    /// each new group to each part's own group; real GPTQ checkpoints share one permutation across layers that read
    /// the same input, so this fallback stays small in practice (at most K groups).
    /// </summary>
    private static (int[]? Index, int Groups, int[][]? Maps) MergeGroups(IReadOnlyList<PackedWeight> parts)
    {
        var first = parts[0];
        bool same = true;
        foreach (var p in parts)
        {
            same &= p.Groups == first.Groups;
            if (first.GroupIndex is null) same &= p.GroupIndex is null && p.GroupSize == first.GroupSize;
            else same &= p.GroupIndex is not null && p.GroupIndex.AsSpan().SequenceEqual(first.GroupIndex);
        }
        if (same) return (first.GroupIndex, first.Groups, null);

        int k = first.InFeatures;
        var index = new int[k];
        var ids = new Dictionary<string, int>();
        var combos = new List<int[]>();
        var key = new int[parts.Count];
        for (int i = 0; i < k; i++)
        {
            for (int p = 0; p < parts.Count; p++) key[p] = parts[p].GroupOf(i);
            var s = string.Join(',', key);
            if (!ids.TryGetValue(s, out int id))
            {
                id = combos.Count;
                ids.Add(s, id);
                combos.Add((int[])key.Clone());
            }
            index[i] = id;
        }
        var maps = new int[parts.Count][];
        for (int p = 0; p < parts.Count; p++)
        {
            maps[p] = new int[combos.Count];
            for (int c = 0; c < combos.Count; c++) maps[p][c] = combos[c][p];
        }
        return (index, combos.Count, maps);
    }
}
