using System.Runtime.InteropServices;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// A quantized weight in host memory, already in the canonical layout of <see cref="QuantizedWeight"/>: what every
/// checkpoint reader produces, what fusion concatenates, and what is uploaded to a backend (or dequantized for a
/// backend without quantized kernels).
/// </summary>
public sealed class PackedWeight
{
    /// <summary>Creates a packed weight, checking array sizes against the layout.</summary>
    public PackedWeight(QuantizedFormat format, int outFeatures, int inFeatures, byte[] data, float[] scales, int groups,
        float[]? zeros, int groupSize, int scaleBlockRows = 1, int[]? groupIndex = null)
    {
        Format = format; OutFeatures = outFeatures; InFeatures = inFeatures; Data = data; Scales = scales; Groups = groups;
        Zeros = zeros; GroupSize = groupSize; ScaleBlockRows = scaleBlockRows; GroupIndex = groupIndex;
        int rowBytes = QuantizedWeight.RowBytesOf(format, inFeatures);
        if (data.Length != (long)outFeatures * rowBytes) throw new ArgumentException($"packed data holds {data.Length} bytes, expected {outFeatures} x {rowBytes}");
        if (scales.Length != (long)ScaleRows * groups) throw new ArgumentException($"packed scales hold {scales.Length} values, expected {ScaleRows} x {groups}");
        if (zeros is not null && zeros.Length != (long)outFeatures * groups) throw new ArgumentException($"packed zeros hold {zeros.Length} values, expected {outFeatures} x {groups}");
        if (groupIndex is null && groups != (inFeatures + groupSize - 1) / groupSize) throw new ArgumentException($"{groups} groups do not match group size {groupSize} over {inFeatures} inputs");
        if (groupIndex is not null)
        {
            if (groupIndex.Length != inFeatures) throw new ArgumentException($"group index holds {groupIndex.Length} entries, expected {inFeatures}");
            foreach (var g in groupIndex)
                if ((uint)g >= (uint)groups) throw new ArgumentException($"group index entry {g} outside [0, {groups})");
        }
    }

    /// <summary>Code encoding.</summary>
    public QuantizedFormat Format { get; }
    /// <summary>N.</summary>
    public int OutFeatures { get; }
    /// <summary>K.</summary>
    public int InFeatures { get; }
    /// <summary>[N, RowBytes] packed codes.</summary>
    public byte[] Data { get; }
    /// <summary>[ScaleRows, Groups] scales.</summary>
    public float[] Scales { get; }
    /// <summary>Scale groups along K.</summary>
    public int Groups { get; }
    /// <summary>[N, Groups] zero points in code units, or null for the symmetric midpoint (none for FP8).</summary>
    public float[]? Zeros { get; }
    /// <summary>Inputs per group when there is no group index.</summary>
    public int GroupSize { get; }
    /// <summary>Output rows sharing one scale row.</summary>
    public int ScaleBlockRows { get; }
    /// <summary>[K] group of each input (act-order), or null.</summary>
    public int[]? GroupIndex { get; }

    /// <summary>Bytes per row of <see cref="Data"/>.</summary>
    public int RowBytes => QuantizedWeight.RowBytesOf(Format, InFeatures);

    /// <summary>Rows of <see cref="Scales"/>.</summary>
    public int ScaleRows => (OutFeatures + ScaleBlockRows - 1) / ScaleBlockRows;

    /// <summary>Allocates zero-filled code storage for an N x K weight of <paramref name="format"/>.</summary>
    public static byte[] NewData(QuantizedFormat format, int outFeatures, int inFeatures) =>
        new byte[(long)outFeatures * QuantizedWeight.RowBytesOf(format, inFeatures)];

    /// <summary>Stores code <paramref name="q"/> for (n, k) into canonical <paramref name="data"/>.</summary>
    public static void SetCode(byte[] data, QuantizedFormat format, int inFeatures, int n, int k, int q)
    {
        if (format != QuantizedFormat.Int4)
        {
            data[(long)n * inFeatures + k] = (byte)q;
            return;
        }
        long at = (long)n * QuantizedWeight.RowBytesOf(format, inFeatures) + k / 32 * 16 + k % 16;
        data[at] = (k & 16) == 0 ? (byte)((data[at] & 0xF0) | (q & 0xF)) : (byte)((data[at] & 0x0F) | ((q & 0xF) << 4));
    }

    /// <summary>The code stored for (n, k).</summary>
    public int Code(int n, int k)
    {
        if (Format != QuantizedFormat.Int4) return Data[(long)n * InFeatures + k];
        byte b = Data[(long)n * RowBytes + k / 32 * 16 + k % 16];
        return (k & 16) == 0 ? b & 0xF : b >> 4;
    }

    /// <summary>The group of input <paramref name="k"/>.</summary>
    public int GroupOf(int k) => GroupIndex?[k] ?? k / GroupSize;

    /// <summary>W[n, k], dequantized as <see cref="QuantizedWeight"/> defines it.</summary>
    public float Dequantize(int n, int k)
    {
        int g = GroupOf(k), q = Code(n, k);
        float scale = Scales[(long)(n / ScaleBlockRows) * Groups + g];
        if (Format == QuantizedFormat.Fp8E4M3) return Fp8E4M3.Decode((byte)q) * scale;
        float zero = Zeros?[(long)n * Groups + g] ?? (Format == QuantizedFormat.Int4 ? 8f : 128f);
        return (q - zero) * scale;
    }

    /// <summary>The whole weight dequantized, row-major [N, K] (fallback path and tests; large).</summary>
    public float[] Dequantize()
    {
        var w = new float[(long)OutFeatures * InFeatures];
        for (int n = 0; n < OutFeatures; n++)
            for (int k = 0; k < InFeatures; k++) w[(long)n * InFeatures + k] = Dequantize(n, k);
        return w;
    }

    /// <summary>Copies the weight onto <paramref name="backend"/> in the canonical layout.</summary>
    public QuantizedWeight Upload(IBackend backend)
    {
        Tensor? data = null, scales = null, zeros = null, gidx = null;
        try
        {
            data = backend.Allocate(DType.U8, OutFeatures, RowBytes);
            backend.Upload(Data, DType.U8, data);
            scales = backend.Allocate(DType.F32, ScaleRows, Groups);
            backend.Upload(MemoryMarshal.AsBytes(Scales.AsSpan()), DType.F32, scales);
            if (Zeros is not null)
            {
                zeros = backend.Allocate(DType.F32, OutFeatures, Groups);
                backend.Upload(MemoryMarshal.AsBytes(Zeros.AsSpan()), DType.F32, zeros);
            }
            if (GroupIndex is not null)
            {
                gidx = backend.Allocate(DType.I32, InFeatures);
                backend.Upload(MemoryMarshal.AsBytes(GroupIndex.AsSpan()), DType.I32, gidx);
            }
            return new QuantizedWeight(Format, OutFeatures, InFeatures, data, scales, zeros, GroupSize, ScaleBlockRows, gidx);
        }
        catch
        {
            data?.Dispose(); scales?.Dispose(); zeros?.Dispose(); gidx?.Dispose();
            throw;
        }
    }
}
