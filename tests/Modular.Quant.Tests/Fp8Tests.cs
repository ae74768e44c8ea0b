using Modular.Abstractions;
using Modular.Plugins.Quant;

namespace Modular.Quant.Tests;

/// <summary>The e4m3 codec and the CPU kernel's table-free FP8 decode, over every code.</summary>
public class Fp8Tests
{
    private static bool IsNaN(int b) => (b & 0x7F) == 0x7F;

    [Fact]
    public void DecodeMatchesDefinitionAndEncodeInvertsIt()
    {
        for (int b = 0; b < 256; b++)
        {
            if (IsNaN(b)) { Assert.True(float.IsNaN(Fp8E4M3.Decode((byte)b))); continue; }
            float v = Fp8E4M3.Decode((byte)b);
            Assert.Equal(NaiveDequant.Fp8((byte)b), v);
            byte back = Fp8E4M3.Encode(v);
            // +0 and -0 both decode to zero; everything else must come back bit-exact.
            if (v != 0) Assert.Equal(b, back);
        }
    }

    [Fact]
    public void EncodeRoundsToNearestEvenAndSaturates()
    {
        Assert.Equal(0x7E, Fp8E4M3.Encode(1e6f));
        Assert.Equal(0xFE, Fp8E4M3.Encode(-500f));
        // 1.0 = 0x38, next is 1.125 = 0x39: the midpoint 1.0625 rounds to the even code 0x38, just above it rounds up.
        Assert.Equal(0x38, Fp8E4M3.Encode(1.0625f));
        Assert.Equal(0x39, Fp8E4M3.Encode(1.07f));
        // 1.1875 is between 0x39 (1.125) and 0x3A (1.25): ties to even -> 0x3A.
        Assert.Equal(0x3A, Fp8E4M3.Encode(1.1875f));
        // Subnormals: 3 * 2^-9 exactly, and 2.5 * 2^-9 ties to 2.
        Assert.Equal(0x03, Fp8E4M3.Encode(3f / 512));
        Assert.Equal(0x02, Fp8E4M3.Encode(2.5f / 512));
        // Every value decodes within half a step of where it was.
        var rng = new Random(1);
        for (int i = 0; i < 10000; i++)
        {
            float x = (float)((rng.NextDouble() * 2 - 1) * 400);
            float y = Fp8E4M3.Decode(Fp8E4M3.Encode(x));
            Assert.True(Math.Abs(x - y) <= Math.Abs(x) / 16 + 1f / 1024, $"{x} -> {y}");
        }
    }

    [Fact]
    public void KernelDecodesEveryCode()
    {
        // One output row holding all 256 codes (NaN codes replaced by zero), probed with one-hot inputs.
        const int k = 256;
        var data = new byte[k];
        var expected = new float[k];
        for (int b = 0; b < k; b++)
        {
            data[b] = IsNaN(b) ? (byte)0 : (byte)b;
            expected[b] = (float)(NaiveDequant.Fp8(data[b]) * 0.75);
        }
        var packed = new PackedWeight(QuantizedFormat.Fp8E4M3, 1, k, data, [0.75f], 1, null, k, 1);
        TestSupport.SameWeights(expected, packed.Dequantize(), k, "fp8 codes");
        TestSupport.KernelMatches(packed, expected, tokens: 5, seed: 21);
    }

    [Fact]
    public void OnlinePerChannelQuantizationStaysWithinFp8Error()
    {
        const int n = 48, k = 96;
        var w = TestSupport.Random(n * k, 31, 0.2f);
        for (int i = 0; i < k; i++) w[5 * k + i] = 0; // an all-zero row must survive
        var packed = Fp8OnlineQuantizer.QuantizePerChannel(w, n, k);
        Assert.Equal(ScaleGranularity.PerChannel, Granularity(packed));
        var dq = packed.Dequantize();
        for (int j = 0; j < n; j++)
        {
            float max = 0;
            for (int i = 0; i < k; i++) max = MathF.Max(max, MathF.Abs(w[j * k + i]));
            for (int i = 0; i < k; i++)
                Assert.True(Math.Abs(dq[j * k + i] - w[j * k + i]) <= Math.Abs(w[j * k + i]) / 16 + max / 448 / 8,
                    $"row {j} col {i}: {w[j * k + i]} -> {dq[j * k + i]}");
        }
        TestSupport.KernelMatches(packed, dq, tokens: 3, seed: 2);
    }

    [Fact]
    public void PerChannelAndBlockScalesFuseWithPerTensor()
    {
        const int k = 96;
        var rng = new Random(12);
        byte[] Codes(int n) { var c = new byte[n * k]; rng.NextBytes(c); for (int i = 0; i < c.Length; i++) if ((c[i] & 0x7F) == 0x7F) c[i] = 1; return c; }
        byte[] F32(float[] v) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
        var (ca, cb, cc) = (Codes(40), Codes(24), Codes(20));
        float[] sa = TestSupport.Random(40, 1, 0.1f), sb = [0.037f], sc = TestSupport.Random(2 * 3, 2, 0.1f);
        var src = new MemoryWeightSource()
            .Add("a.weight", DType.F8E4M3, [40, k], ca).Add("a.weight_scale", DType.F32, [40, 1], F32(sa))
            .Add("b.weight", DType.F8E4M3, [24, k], cb).Add("b.weight_scale", DType.F32, [], F32(sb))
            .Add("c.weight", DType.F8E4M3, [20, k], cc).Add("c.weight_scale_inv", DType.F32, [2, 3], F32(sc));
        var config = TestSupport.Json("""{"quant_method":"fp8","activation_scheme":"dynamic","weight_block_size":[16,32]}""");
        var parts = new[] { Fp8Quantizer.Pack(src, "a", config), Fp8Quantizer.Pack(src, "b", config), Fp8Quantizer.Pack(src, "c", config) };
        Assert.Equal((1, 24, 16), (parts[0].ScaleBlockRows, parts[1].ScaleBlockRows, parts[2].ScaleBlockRows));
        var expected = new List<float>();
        expected.AddRange(NaiveDequant.Fp8(ca, sa, 40, k, 1, k));
        expected.AddRange(NaiveDequant.Fp8(cb, sb, 24, k, 24, k));
        expected.AddRange(NaiveDequant.Fp8(cc, sc, 20, k, 16, 32));
        for (int i = 0; i < 3; i++) TestSupport.KernelMatches(parts[i], expected.GetRange(i == 0 ? 0 : i == 1 ? 40 * k : 64 * k, parts[i].OutFeatures * k).ToArray(), 2, 40 + i);
        var fused = WeightFusion.Concat(parts);
        Assert.Equal(84, fused.OutFeatures);
        TestSupport.SameWeights([.. expected], fused.Dequantize(), k, "fp8 per-channel | per-tensor | block");
        TestSupport.KernelMatches(fused, [.. expected], tokens: 3, seed: 44);
    }

    private static ScaleGranularity Granularity(PackedWeight p)
    {
        using var backend = new Modular.Backends.Cpu.CpuBackend(1);
        using var w = p.Upload(backend);
        return w.Granularity;
    }
}
