using Modular.Abstractions;
using Modular.Plugins.Quant;

namespace Modular.Quant.Tests;

/// <summary>
/// GPTQ variants the fixtures do not cover (8-bit, group -1, symmetric, K not a multiple of 32, scattered
/// act-order groups), packed here from random codes exactly as the GPTQ format defines.
/// </summary>
public class SyntheticGptqTests
{
    [Theory]
    [InlineData(4, 64, false, false)]
    [InlineData(4, -1, true, false)]
    [InlineData(4, 40, false, true)]
    [InlineData(8, 32, false, false)]
    [InlineData(8, -1, true, true)]
    [InlineData(8, 64, true, true)]
    public void RandomLayerRoundTrips(int bits, int groupSize, bool sym, bool descAct)
    {
        const int k = 200, n = 24;
        int pack = 32 / bits, g = groupSize < 0 ? k : groupSize, groups = (k + g - 1) / g, maxQ = (1 << bits) - 1;
        var rng = new Random(bits * 1000 + groupSize + (sym ? 7 : 0) + (descAct ? 13 : 0));
        var q = new int[k, n];
        for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) q[i, j] = rng.Next(maxQ + 1);
        var zero = new int[groups, n];
        for (int i = 0; i < groups; i++) for (int j = 0; j < n; j++) zero[i, j] = sym ? 1 << (bits - 1) : rng.Next(1, maxQ + 1);
        var scales = TestSupport.Random(groups * n, 3, 0.05f);
        for (int i = 0; i < scales.Length; i++) scales[i] = (float)(Half)scales[i];
        var gIdx = new int[k];
        for (int i = 0; i < k; i++) gIdx[i] = i / g;
        if (descAct) rng.Shuffle(gIdx);

        var qweight = new int[k / pack * n];
        for (int i = 0; i < k; i++) for (int j = 0; j < n; j++) qweight[i / pack * n + j] |= q[i, j] << (bits * (i % pack));
        var qzeros = new int[groups * (n / pack)];
        for (int i = 0; i < groups; i++) for (int j = 0; j < n; j++) qzeros[i * (n / pack) + j / pack] |= ((zero[i, j] - 1) & maxQ) << (bits * (j % pack));
        var src = new MemoryWeightSource()
            .Add("l.qweight", [k / pack, n], qweight)
            .Add("l.qzeros", [groups, n / pack], qzeros)
            .AddF16("l.scales", [groups, n], scales)
            .Add("l.g_idx", [k], gIdx);
        var config = TestSupport.Json($$"""{"quant_method":"gptq","bits":{{bits}},"group_size":{{groupSize}},"sym":{{(sym ? "true" : "false")}},"desc_act":{{(descAct ? "true" : "false")}}}""");
        Assert.Null(new GptqQuantizer().Check(config));

        var packed = GptqQuantizer.Pack(src, "l", config);
        Assert.Equal(bits == 4 ? QuantizedFormat.Int4 : QuantizedFormat.Int8, packed.Format);
        Assert.Equal(descAct && groups > 1, packed.GroupIndex is not null);
        var expected = new float[n * k];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < k; i++)
                expected[j * k + i] = ((float)q[i, j] - zero[gIdx[i], j]) * scales[gIdx[i] * n + j];
        TestSupport.SameWeights(expected, packed.Dequantize(), k, $"gptq {bits}-bit g{groupSize}");
        TestSupport.KernelMatches(packed, expected, tokens: 1, seed: 11);
        TestSupport.KernelMatches(packed, expected, tokens: 4, seed: 12, withBias: true);
    }

    [Fact]
    public void SymmetricWithoutZerosUsesMidpoint()
    {
        const int k = 64, n = 8;
        var codes = new int[k * n];
        var rng = new Random(4);
        for (int i = 0; i < codes.Length; i++) codes[i] = rng.Next(16);
        var data = PackedWeight.NewData(QuantizedFormat.Int4, n, k);
        for (int j = 0; j < n; j++) for (int i = 0; i < k; i++) PackedWeight.SetCode(data, QuantizedFormat.Int4, k, j, i, codes[j * k + i]);
        var scales = TestSupport.Random(n * 2, 9);
        var packed = new PackedWeight(QuantizedFormat.Int4, n, k, data, scales, 2, null, 32);
        var expected = new float[n * k];
        for (int j = 0; j < n; j++) for (int i = 0; i < k; i++) expected[j * k + i] = (codes[j * k + i] - 8f) * scales[j * 2 + i / 32];
        TestSupport.SameWeights(expected, packed.Dequantize(), k, "int4 symmetric");
        TestSupport.KernelMatches(packed, expected, tokens: 2, seed: 3);
    }
}
