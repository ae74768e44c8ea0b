using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Plugins.Quant;

/// <summary>
/// Random weights already in a quantized format, for <c>--load-format dummy --quantization gptq|awq|fp8</c>: speed can
/// then be measured on real shapes with no checkpoint and no host-side quantization pass (quantizing 8B bf16 weights
/// on the host would take minutes). Layer shapes come from the weight source (the dummy bf16 descriptions); the codes
/// are tiled from one random pool.
/// <list type="bullet">
/// <item>gptq, awq: Int4 codes, one scale and one integer zero point per output row and group of 128 inputs
/// (GPTQ's and AWQ's usual group size; the two differ only in the checkpoint layout, which dummy weights skip).</item>
/// <item>fp8: e4m3 codes (no NaN codes) with one scale per output row, as <see cref="Fp8OnlineQuantizer"/> makes.</item>
/// </list>
/// The LM head stays dense, as the real quantizers keep it. Values stay within about +-0.02, like the bf16 dummy weights.
/// Registered as "gptq-dummy", "awq-dummy" and "fp8-dummy"; no checkpoint's <c>quant_method</c> uses these names.
/// </summary>
public sealed class DummyQuantizer : IQuantizer
{
    /// <summary>Suffix of the registered method names.</summary>
    public const string Suffix = "-dummy";

    /// <summary>Inputs per scale group for the Int4 formats.</summary>
    public const int GroupSize = 128;

    /// <summary>The <c>--quantization</c> values dummy weights exist for.</summary>
    public static readonly string[] Methods = ["gptq", "awq", "fp8"];

    private const int PoolBytes = 1 << 20;
    private readonly int _seed;
    private byte[]? _pool;

    /// <summary>Dummy weights for <paramref name="quantization"/> (one of <see cref="Methods"/>).</summary>
    public DummyQuantizer(string quantization, int seed = 0)
    {
        Format = quantization.ToLowerInvariant() switch
        {
            "gptq" or "awq" => QuantizedFormat.Int4,
            "fp8" => QuantizedFormat.Fp8E4M3,
            _ => throw new ArgumentException($"--quantization {quantization}: dummy weights exist for {string.Join(", ", Methods)}", nameof(quantization)),
        };
        Method = quantization.ToLowerInvariant() + Suffix;
        _seed = seed;
    }

    /// <summary>The code format generated.</summary>
    public QuantizedFormat Format { get; }

    /// <inheritdoc />
    public string Method { get; }

    /// <inheritdoc />
    public string? Check(JsonElement quantizationConfig) => null;

    /// <inheritdoc />
    public ILinear Load(IWeightSource source, IReadOnlyList<string> prefixes, JsonElement quantizationConfig, IBackend backend, Tensor? bias)
    {
        if (prefixes.Count == 1 && prefixes[0] == "lm_head")
            return DenseLayer.Load(source, prefixes, backend, bias, Method);
        int n = 0, k = -1;
        foreach (var p in prefixes)
        {
            var info = CheckpointTensors.Require(source, p + ".weight", Method);
            if (info.Shape.Length != 2 || (k >= 0 && info.Shape[1] != k))
                throw new InvalidDataException($"{Method}: tensor '{info.Name}' [{string.Join(",", info.Shape)}] does not stack with '{prefixes[0]}.weight'");
            k = info.Shape[1];
            n += info.Shape[0];
        }
        return QuantizedLinear.Create(Generate(n, k, StableHash(prefixes[0])), backend, bias);
    }

    /// <summary>A random [N, K] weight in <see cref="Format"/>; <paramref name="salt"/> picks where the pool is read from.</summary>
    public PackedWeight Generate(int outFeatures, int inFeatures, int salt)
    {
        var pool = Pool();
        var data = PackedWeight.NewData(Format, outFeatures, inFeatures);
        int offset = (salt & 0x7fffffff) % PoolBytes;
        for (long i = 0; i < data.LongLength;)
        {
            int chunk = (int)Math.Min(data.LongLength - i, PoolBytes - offset);
            Array.Copy(pool, offset, data, i, chunk);
            i += chunk;
            offset = 0;
        }
        var rng = new Random(salt);
        if (Format == QuantizedFormat.Fp8E4M3)
        {
            // |code| <= 448: a row scale of 0.02 / 448 keeps weights within +-0.02.
            var rowScales = new float[outFeatures];
            for (int r = 0; r < outFeatures; r++) rowScales[r] = (float)((0.5 + rng.NextDouble()) * 0.02 / Fp8E4M3.Max);
            return new PackedWeight(QuantizedFormat.Fp8E4M3, outFeatures, inFeatures, data, rowScales, 1, null, inFeatures);
        }
        int groups = (inFeatures + GroupSize - 1) / GroupSize;
        var scales = new float[(long)outFeatures * groups];
        var zeros = new float[scales.Length];
        for (long i = 0; i < scales.LongLength; i++)
        {
            // Codes 0..15 around an integer zero point 7..9: (q - z) * s stays within about +-0.02. The scale is an fp16
            // value, as GPTQ and AWQ checkpoints store it (the cuda backend's tiled layout relies on that).
            scales[i] = (float)(Half)((0.5 + rng.NextDouble()) * 0.02 / 8);
            zeros[i] = 7 + rng.Next(3);
        }
        return new PackedWeight(QuantizedFormat.Int4, outFeatures, inFeatures, data, scales, groups, zeros, GroupSize);
    }

    /// <summary>The random code pool, made at first use (the plugin registers this quantizer in every process).</summary>
    private byte[] Pool()
    {
        if (_pool is not null) return _pool;
        var pool = new byte[PoolBytes];
        new Random(_seed).NextBytes(pool);
        if (Format == QuantizedFormat.Fp8E4M3)
            for (int i = 0; i < pool.Length; i++)
                if ((pool[i] & 0x7F) == 0x7F) pool[i] ^= 1; // 0x7F/0xFF are NaN in e4m3fn
        return _pool = pool;
    }

    private static int StableHash(string s)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (var c in s) h = (h ^ c) * 16777619;
            return h;
        }
    }
}
