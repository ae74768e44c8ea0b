using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// FP8 e4m3 checkpoints (<c>quant_method: "fp8"</c>): <c>weight</c> F8_E4M3 [N, K] with either <c>weight_scale</c>
/// (one value per tensor, or one per output row) or <c>weight_scale_inv</c> [ceil(N/bn), ceil(K/bk)] for
/// block-wise scales of <c>weight_block_size: [bn, bk]</c>. The codes are already in the canonical byte layout, so
/// loading copies them and only the scales are arranged. Linears the checkpoint left in bf16/f16 (the LM head,
/// <c>modules_to_not_convert</c>) load dense.
/// </summary>
public sealed class Fp8Quantizer : IQuantizer
{
    internal const string Name = "fp8";

    /// <inheritdoc />
    public string Method => Name;

    /// <inheritdoc />
    public string? Check(JsonElement quantizationConfig) => QuantConfig.Check(() => ReadBlock(quantizationConfig));

    /// <inheritdoc />
    public ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias)
    {
        var block = ReadBlock(quantizationConfig);
        int fp8 = 0;
        foreach (var p in prefixes)
            if (CheckpointTensors.Require(source, p + ".weight", Name).DType == DType.F8E4M3) fp8++;
        if (fp8 == 0) return DenseLayer.Load(source, prefixes, backend, bias, Name);
        if (fp8 != prefixes.Count)
            throw new InvalidDataException($"{Name}: layers {string.Join(", ", prefixes)} are fused, but only some of their weights are F8_E4M3");
        var parts = new PackedWeight[prefixes.Count];
        for (int i = 0; i < parts.Length; i++) parts[i] = Pack(source, prefixes[i], block);
        return QuantizedLinear.Create(WeightFusion.Concat(parts), backend, bias);
    }

    /// <summary>Converts one layer's FP8 tensors under <paramref name="prefix"/> to the canonical layout.</summary>
    public static PackedWeight Pack(IWeightSource source, string prefix, JsonElement quantizationConfig) =>
        Pack(source, prefix, ReadBlock(quantizationConfig));

    internal static PackedWeight Pack(IWeightSource source, string prefix, (int Rows, int Cols)? block)
    {
        var info = CheckpointTensors.Require(source, prefix + ".weight", Name);
        if (info.DType != DType.F8E4M3 || info.Shape.Length != 2)
            throw new InvalidDataException($"{Name}: tensor '{info.Name}' is {info.DType} [{string.Join(",", info.Shape)}], expected F8_E4M3 [N, K]");
        int n = info.Shape[0], k = info.Shape[1];
        var data = source.Bytes(info.Name).ToArray();
        // A static input_scale (activation_scheme "static") quantizes activations to FP8 on GPUs; the CPU computes
        // activations in float32, so it is not needed here and not read.
        if (source.Contains(prefix + ".weight_scale_inv"))
        {
            if (block is not { } b)
                throw new InvalidDataException($"{Name}: tensor '{prefix}.weight_scale_inv' holds block scales, but quantization_config.weight_block_size is missing");
            var s = CheckpointTensors.Float(source, prefix + ".weight_scale_inv", Name, (n + b.Rows - 1) / b.Rows, (k + b.Cols - 1) / b.Cols);
            return new PackedWeight(QuantizedFormat.Fp8E4M3, n, k, data, s, (k + b.Cols - 1) / b.Cols, null, b.Cols, b.Rows);
        }
        var scale = CheckpointTensors.Float(source, prefix + ".weight_scale", Name, out var shape);
        if (scale.Length == 1) return new PackedWeight(QuantizedFormat.Fp8E4M3, n, k, data, scale, 1, null, k, n);
        if (scale.Length == n && shape[0] == n) return new PackedWeight(QuantizedFormat.Fp8E4M3, n, k, data, scale, 1, null, k, 1);
        if (block is { } bb && shape.Length == 2 && shape[0] == (n + bb.Rows - 1) / bb.Rows && shape[1] == (k + bb.Cols - 1) / bb.Cols)
            return new PackedWeight(QuantizedFormat.Fp8E4M3, n, k, data, scale, shape[1], null, bb.Cols, bb.Rows);
        throw new InvalidDataException($"{Name}: tensor '{prefix}.weight_scale' has shape [{string.Join(",", shape)}]; expected [] or [1] (per tensor), [{n}] or [{n},1] (per channel), or block scales with weight_block_size");
    }

    /// <summary>Validates the config; returns <c>weight_block_size</c> or null.</summary>
    internal static (int Rows, int Cols)? ReadBlock(JsonElement c)
    {
        QuantConfig.Method(c, Name);
        var scheme = QuantConfig.String(c, Name, "activation_scheme") ?? "dynamic";
        if (scheme is not ("dynamic" or "static"))
            throw QuantConfig.Refuse(Name, "activation_scheme", $"'{scheme}'", "'dynamic', 'static'");
        var fmt = QuantConfig.String(c, Name, "fmt");
        if (fmt is not (null or "e4m3" or "float8_e4m3fn"))
            throw QuantConfig.Refuse(Name, "fmt", $"'{fmt}'", "'e4m3'");
        if (!QuantConfig.Has(c, "weight_block_size")) return null;
        var b = c.GetProperty("weight_block_size");
        if (b.ValueKind != JsonValueKind.Array || b.GetArrayLength() != 2
            || !b[0].TryGetInt32(out int rows) || !b[1].TryGetInt32(out int cols) || rows <= 0 || cols <= 0)
            throw QuantConfig.Refuse(Name, "weight_block_size", b.GetRawText(), "null or [rows, cols] of positive integers");
        return (rows, cols);
    }
}
