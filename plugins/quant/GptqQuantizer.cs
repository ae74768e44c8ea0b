using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// GPTQ checkpoints (AutoGPTQ / GPTQModel "gptq" format): <c>qweight</c> I32 [K*bits/32, N] packing consecutive
/// inputs low bits first, <c>qzeros</c> I32 [G, N*bits/32] holding zero points minus one, <c>scales</c> [G, N], and
/// <c>g_idx</c> I32 [K] (a scattered group assignment when <c>desc_act</c> is true). 4- and 8-bit, any group size
/// (-1 = one group), symmetric or not.
/// </summary>
public sealed class GptqQuantizer : IQuantizer
{
    private const string Name = "gptq";

    /// <inheritdoc />
    public string Method => Name;

    /// <inheritdoc />
    public string? Check(JsonElement quantizationConfig) => QuantConfig.Check(() => Settings.Read(quantizationConfig));

    /// <inheritdoc />
    public ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias)
    {
        var settings = Settings.Read(quantizationConfig);
        var parts = new PackedWeight[prefixes.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = Pack(source, prefixes[i], settings);
        return QuantizedLinear.Create(WeightFusion.Concat(parts), backend, bias);
    }

    /// <summary>Converts one layer's GPTQ tensors under <paramref name="prefix"/> to the canonical layout.</summary>
    public static PackedWeight Pack(IWeightSource source, string prefix, JsonElement quantizationConfig) =>
        Pack(source, prefix, Settings.Read(quantizationConfig));

    private static PackedWeight Pack(IWeightSource source, string prefix, Settings s)
    {
        int perWord = 32 / s.Bits, mask = (1 << s.Bits) - 1;
        var qinfo = CheckpointTensors.Require(source, prefix + ".qweight", Name);
        if (qinfo.Shape.Length != 2) throw new InvalidDataException($"{Name}: tensor '{qinfo.Name}' must be 2-D [K*{s.Bits}/32, N]");
        int k = qinfo.Shape[0] * perWord, n = qinfo.Shape[1];
        int groupSize = s.GroupSize <= 0 ? k : s.GroupSize;
        int groups = (k + groupSize - 1) / groupSize;
        if (n % perWord != 0) throw new InvalidDataException($"{Name}: tensor '{qinfo.Name}' has {n} output features, not a multiple of {perWord} (qzeros packing)");
        var qweight = CheckpointTensors.Int32(source, prefix + ".qweight", Name, qinfo.Shape);
        var scalesIn = CheckpointTensors.Float(source, prefix + ".scales", Name, groups, n);
        int[]? qzeros = source.Contains(prefix + ".qzeros") ? CheckpointTensors.Int32(source, prefix + ".qzeros", Name, groups, n / perWord) : null;
        if (qzeros is null && !s.Sym) throw new InvalidDataException($"{Name}: tensor '{prefix}.qzeros' is missing, and sym = false needs zero points");
        int[]? gIdx = source.Contains(prefix + ".g_idx") ? CheckpointTensors.Int32(source, prefix + ".g_idx", Name, k) : null;
        if (gIdx is null && s.DescAct) throw new InvalidDataException($"{Name}: tensor '{prefix}.g_idx' is missing, and desc_act = true needs it");
        if (gIdx is not null)
        {
            bool trivial = true;
            for (int i = 0; i < k; i++)
            {
                if ((uint)gIdx[i] >= (uint)groups) throw new InvalidDataException($"{Name}: tensor '{prefix}.g_idx'[{i}] = {gIdx[i]} is outside [0, {groups})");
                trivial &= gIdx[i] == i / groupSize;
            }
            // Without act-order g_idx is just k / group_size; dropping it keeps the kernels on their contiguous-group path.
            if (trivial) gIdx = null;
        }

        var format = s.Bits == 4 ? QuantizedFormat.Int4 : QuantizedFormat.Int8;
        var data = PackedWeight.NewData(format, n, k);
        int rowBytes = QuantizedWeight.RowBytesOf(format, k);
        for (int r = 0; r < k / perWord; r++)
        {
            // One word holds inputs k0..k0+perWord-1 of output j. For Int4 those 8 inputs sit in one 16-input half
            // of a canonical 32-input block: 8 consecutive bytes, all low or all high nibbles (data starts zeroed).
            int k0 = r * perWord;
            long rowAt = (long)r * n;
            long blockAt = format == QuantizedFormat.Int4 ? k0 / 32 * 16 + k0 % 16 : k0;
            int nibbleShift = format == QuantizedFormat.Int4 && (k0 & 16) != 0 ? 4 : 0;
            for (int j = 0; j < n; j++)
            {
                uint word = (uint)qweight[rowAt + j];
                long at = (long)j * rowBytes + blockAt;
                for (int i = 0; i < perWord; i++, word >>= s.Bits)
                    data[at + i] |= (byte)((word & (uint)mask) << nibbleShift);
            }
        }
        var scales = new float[(long)n * groups];
        var zeros = qzeros is null ? null : new float[(long)n * groups];
        for (int g = 0; g < groups; g++)
            for (int j = 0; j < n; j++)
            {
                scales[(long)j * groups + g] = scalesIn[(long)g * n + j];
                // The "gptq" (v1) format stores zero - 1; gptq_v2 (refused in Check) stores the zero itself.
                if (zeros is not null) zeros[(long)j * groups + g] = ((qzeros![(long)g * (n / perWord) + j / perWord] >>> (s.Bits * (j % perWord))) & mask) + 1;
            }
        return new PackedWeight(format, n, k, data, scales, groups, zeros, groupSize, 1, gIdx);
    }

    private readonly record struct Settings(int Bits, int GroupSize, bool DescAct, bool Sym)
    {
        public static Settings Read(JsonElement c)
        {
            QuantConfig.Method(c, Name);
            int bits = QuantConfig.Int(c, Name, "bits", null, "4, 8");
            if (bits is not (4 or 8)) throw QuantConfig.Refuse(Name, "bits", bits.ToString(), "4, 8");
            int group = QuantConfig.Int(c, Name, "group_size", -1, "-1 or a positive group size");
            if (group == 0 || group < -1) throw QuantConfig.Refuse(Name, "group_size", group.ToString(), "-1 or a positive group size");
            var format = QuantConfig.String(c, Name, "checkpoint_format");
            if (format is not null && format != "gptq")
                throw QuantConfig.Refuse(Name, "checkpoint_format", $"'{format}'", "'gptq' (zeros stored minus one); gptq_v2 and marlin layouts are not read");
            if (QuantConfig.Bool(c, Name, "is_marlin_format", false))
                throw QuantConfig.Refuse(Name, "is_marlin_format", "true", "false (the marlin layout is not read)");
            return new Settings(bits, group, QuantConfig.Bool(c, Name, "desc_act", false), QuantConfig.Bool(c, Name, "sym", true));
        }
    }
}
