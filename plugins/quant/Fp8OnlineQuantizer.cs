using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// Quantizes a bf16/f16/f32 checkpoint's linear layers to FP8 e4m3 while loading (the CLI's
/// <c>--quantization fp8</c>): one scale per output row, absmax / 448, codes rounded to nearest even. Weights that
/// are already FP8 are read as <see cref="Fp8Quantizer"/> reads them. Registered under the method name
/// <c>fp8-online</c>, which no checkpoint's <c>quant_method</c> uses, so the loader picks it only when asked to
/// quantize at load.
/// </summary>
public sealed class Fp8OnlineQuantizer : IQuantizer
{
    /// <summary>The <c>quantization_config</c> a caller passes when it asks for online FP8.</summary>
    public static JsonElement Config { get; } = JsonDocument.Parse("""{"quant_method":"fp8","activation_scheme":"dynamic"}""").RootElement.Clone();

    /// <inheritdoc />
    public string Method => "fp8-online";

    /// <inheritdoc />
    public string? Check(JsonElement quantizationConfig) => QuantConfig.Check(() => Fp8Quantizer.ReadBlock(quantizationConfig));

    /// <inheritdoc />
    public ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias)
    {
        var block = quantizationConfig.ValueKind == JsonValueKind.Object ? Fp8Quantizer.ReadBlock(quantizationConfig) : null;
        // The LM head stays in the checkpoint's precision, as vLLM does: its rounding shows directly in the logits.
        if (prefixes.Count == 1 && prefixes[0] == "lm_head")
            return DenseLayer.Load(source, prefixes, backend, bias, Fp8Quantizer.Name);
        var parts = new PackedWeight[prefixes.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            var info = CheckpointTensors.Require(source, prefixes[i] + ".weight", Fp8Quantizer.Name);
            parts[i] = info.DType == DType.F8E4M3 ? Fp8Quantizer.Pack(source, prefixes[i], block) : Quantize(source, info);
        }
        return QuantizedLinear.Create(WeightFusion.Concat(parts), backend, bias);
    }

    private static PackedWeight Quantize(IWeightSource source, TensorInfo info)
    {
        if (info.Shape.Length != 2) throw new InvalidDataException($"{Fp8Quantizer.Name}: tensor '{info.Name}' must be 2-D [N, K]");
        var w = CheckpointTensors.ToFloat(source.Bytes(info.Name), info.DType, info.Name, Fp8Quantizer.Name);
        return QuantizePerChannel(w, info.Shape[0], info.Shape[1]);
    }

    /// <summary>Quantizes a row-major [N, K] float weight to FP8 with one scale per output row.</summary>
    public static PackedWeight QuantizePerChannel(ReadOnlySpan<float> weight, int outFeatures, int inFeatures)
    {
        if (weight.Length != (long)outFeatures * inFeatures) throw new ArgumentException($"weight holds {weight.Length} values, expected {outFeatures} x {inFeatures}");
        var data = new byte[weight.Length];
        var scales = new float[outFeatures];
        for (int n = 0; n < outFeatures; n++)
        {
            var row = weight.Slice(n * inFeatures, inFeatures);
            float max = 0;
            foreach (var v in row) max = MathF.Max(max, MathF.Abs(v));
            // An all-zero row keeps scale 1 so dequantization never divides by zero.
            float scale = max > 0 ? max / Fp8E4M3.Max : 1f;
            scales[n] = scale;
            float inv = 1f / scale;
            for (int k = 0; k < inFeatures; k++) data[n * inFeatures + k] = Fp8E4M3.Encode(row[k] * inv);
        }
        return new PackedWeight(QuantizedFormat.Fp8E4M3, outFeatures, inFeatures, data, scales, 1, null, inFeatures);
    }
}
