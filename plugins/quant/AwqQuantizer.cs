using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// AWQ checkpoints in the GEMM layout (AutoAWQ <c>version: "gemm"</c>): <c>qweight</c> I32 [K, N/8] and
/// <c>qzeros</c> I32 [G, N/8], each word holding 8 output features in the interleaved nibble order
/// 0,2,4,6,1,3,5,7; zero points stored as is; <c>scales</c> [G, N]. 4-bit only.
/// </summary>
public sealed class AwqQuantizer : IQuantizer
{
    private const string Name = "awq";

    /// <summary>Nibble holding output feature j of a word: the inverse of AWQ's packing order 0,2,4,6,1,3,5,7.</summary>
    private static readonly int[] NibbleOf = [0, 4, 1, 5, 2, 6, 3, 7];

    /// <inheritdoc />
    public string Method => Name;

    /// <inheritdoc />
    public string? Check(JsonElement quantizationConfig) => QuantConfig.Check(() => ReadGroupSize(quantizationConfig));

    /// <inheritdoc />
    public ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias)
    {
        int groupSize = ReadGroupSize(quantizationConfig);
        var parts = new PackedWeight[prefixes.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = Pack(source, prefixes[i], groupSize);
        return QuantizedLinear.Create(WeightFusion.Concat(parts), backend, bias);
    }

    /// <summary>Converts one layer's AWQ tensors under <paramref name="prefix"/> to the canonical layout.</summary>
    public static PackedWeight Pack(IWeightSource source, string prefix, JsonElement quantizationConfig) =>
        Pack(source, prefix, ReadGroupSize(quantizationConfig));

    private static PackedWeight Pack(IWeightSource source, string prefix, int configGroupSize)
    {
        var qinfo = CheckpointTensors.Require(source, prefix + ".qweight", Name);
        if (qinfo.Shape.Length != 2) throw new InvalidDataException($"{Name}: tensor '{qinfo.Name}' must be 2-D [K, N/8]");
        int k = qinfo.Shape[0], words = qinfo.Shape[1], n = words * 8;
        int groupSize = configGroupSize <= 0 ? k : configGroupSize;
        int groups = (k + groupSize - 1) / groupSize;
        var qweight = CheckpointTensors.Int32(source, prefix + ".qweight", Name, k, words);
        var qzeros = CheckpointTensors.Int32(source, prefix + ".qzeros", Name, groups, words);
        var scalesIn = CheckpointTensors.Float(source, prefix + ".scales", Name, groups, n);

        var data = PackedWeight.NewData(QuantizedFormat.Int4, n, k);
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < n; j++)
                PackedWeight.SetCode(data, QuantizedFormat.Int4, k, j, kk, (qweight[(long)kk * words + j / 8] >>> (4 * NibbleOf[j % 8])) & 0xF);
        var scales = new float[(long)n * groups];
        var zeros = new float[(long)n * groups];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < n; j++)
            {
                scales[(long)j * groups + g] = scalesIn[(long)g * n + j];
                zeros[(long)j * groups + g] = (qzeros[(long)g * words + j / 8] >>> (4 * NibbleOf[j % 8])) & 0xF;
            }
        return new PackedWeight(QuantizedFormat.Int4, n, k, data, scales, groups, zeros, groupSize);
    }

    /// <summary>Validates the config; returns the group size (-1 = one group).</summary>
    private static int ReadGroupSize(JsonElement c)
    {
        QuantConfig.Method(c, Name);
        // AutoAWQ writes "w_bit"/"q_group_size"; transformers writes "bits"/"group_size".
        string bitsField = QuantConfig.Has(c, "bits") || !QuantConfig.Has(c, "w_bit") ? "bits" : "w_bit";
        int bits = QuantConfig.Int(c, Name, bitsField, 4, "4");
        if (bits != 4) throw QuantConfig.Refuse(Name, bitsField, bits.ToString(), "4");
        string groupField = QuantConfig.Has(c, "group_size") || !QuantConfig.Has(c, "q_group_size") ? "group_size" : "q_group_size";
        int group = QuantConfig.Int(c, Name, groupField, null, "-1 or a positive group size");
        if (group == 0 || group < -1) throw QuantConfig.Refuse(Name, groupField, group.ToString(), "-1 or a positive group size");
        var version = QuantConfig.String(c, Name, "version") ?? "gemm";
        if (!version.Equals("gemm", StringComparison.OrdinalIgnoreCase))
            throw QuantConfig.Refuse(Name, "version", $"'{version}'", "'gemm' (gemv, gemv_fast, exllama, marlin and ipex layouts are not read)");
        if (!QuantConfig.Bool(c, Name, "zero_point", true))
            throw QuantConfig.Refuse(Name, "zero_point", "false", "true");
        return group;
    }
}
