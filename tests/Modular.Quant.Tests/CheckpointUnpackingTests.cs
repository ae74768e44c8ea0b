using Modular.Models.Loading;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary>Each fixture format converts to the canonical layout exactly as a naive dequantizer reads it, and the CPU kernel computes with it.</summary>
public class CheckpointUnpackingTests
{
    public static TheoryData<string, string> Layers => new()
    {
        { "bard-2m-gptq-int4-g64", "model.layers.0.self_attn.q_proj" },
        { "bard-2m-gptq-int4-g64", "model.layers.0.self_attn.k_proj" },
        { "bard-2m-gptq-int4-g64", "model.layers.3.mlp.down_proj" },
        { "bard-2m-gptq-int4-g64-actorder", "model.layers.0.self_attn.v_proj" },
        { "bard-2m-gptq-int4-g64-actorder", "model.layers.2.mlp.down_proj" },
        { "bard-2m-gptq-int4-g64-actorder", "model.layers.1.mlp.gate_proj" },
        { "bard-2m-awq-int4-g64", "model.layers.0.self_attn.k_proj" },
        { "bard-2m-awq-int4-g64", "model.layers.1.mlp.up_proj" },
        { "bard-2m-awq-int4-g64", "model.layers.3.mlp.down_proj" },
        { "bard-2m-fp8", "model.layers.0.self_attn.o_proj" },
        { "bard-2m-fp8", "model.layers.2.mlp.down_proj" },
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void ConversionMatchesNaiveDequantizerAndKernelMatchesMatMul(string model, string prefix)
    {
        var dir = Fixtures.Shared("models", model);
        var config = TestSupport.QuantConfigOf(dir);
        using var ck = Checkpoint.Open(dir);
        PackedWeight packed;
        float[] naive;
        if (model.Contains("gptq"))
        {
            packed = GptqQuantizer.Pack(ck, prefix, config);
            naive = NaiveDequant.Gptq(ck, prefix, 4, 64);
        }
        else if (model.Contains("awq"))
        {
            packed = AwqQuantizer.Pack(ck, prefix, config);
            naive = NaiveDequant.Awq(ck, prefix, 64);
        }
        else
        {
            packed = Fp8Quantizer.Pack(ck, prefix, config);
            var info = ck.Info(prefix + ".weight");
            var scale = NaiveDequant.Floats(ck, prefix + ".weight_scale");
            naive = NaiveDequant.Fp8(ck.Bytes(prefix + ".weight"), scale, info.Shape[0], info.Shape[1], info.Shape[0], info.Shape[1]);
        }
        Assert.Equal(model.Contains("actorder"), packed.GroupIndex is not null);
        TestSupport.SameWeights(naive, packed.Dequantize(), packed.InFeatures, $"{model} {prefix}");
        TestSupport.KernelMatches(packed, naive, tokens: 1, seed: 1);
        TestSupport.KernelMatches(packed, naive, tokens: 7, seed: 2, withBias: true);
    }

    [Theory]
    [InlineData("bard-2m-gptq-int4-g64-actorder")]
    [InlineData("bard-2m-awq-int4-g64")]
    [InlineData("bard-2m-fp8")]
    public void FusedGateUpEqualsStackedParts(string model)
    {
        var dir = Fixtures.Shared("models", model);
        var config = TestSupport.QuantConfigOf(dir);
        using var ck = Checkpoint.Open(dir);
        string[] prefixes = ["model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj"];
        var parts = new PackedWeight[2];
        var naive = new List<float>();
        for (int i = 0; i < 2; i++)
        {
            parts[i] = model.Contains("gptq") ? GptqQuantizer.Pack(ck, prefixes[i], config)
                : model.Contains("awq") ? AwqQuantizer.Pack(ck, prefixes[i], config)
                : Fp8Quantizer.Pack(ck, prefixes[i], config);
            naive.AddRange(parts[i].Dequantize());
        }
        var fused = WeightFusion.Concat(parts);
        Assert.Equal(1024, fused.OutFeatures);
        TestSupport.SameWeights([.. naive], fused.Dequantize(), fused.InFeatures, $"{model} gate|up");
        TestSupport.KernelMatches(fused, [.. naive], tokens: 3, seed: 5);
    }
}
