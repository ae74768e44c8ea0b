using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Modular.Abstractions;
using Modular.Backends.Cpu;
using Modular.Models;
using Modular.Models.Loading;
using Modular.Models.Verification;
using Modular.Plugins.Quant;
using Modular.Testing;

namespace Modular.Quant.Tests;

/// <summary>
/// Block-wise FP8 (DeepSeek-style <c>weight_scale_inv</c> + <c>weight_block_size</c>) built here from bard-2m: the
/// quantized checkpoint must give the same logits as the same model with its dequantized weights stored as F32.
/// Block heights that do not divide every layer (48) exercise ragged blocks and fused gate|up scale expansion.
/// </summary>
public sealed class BlockFp8Tests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "modular-quant-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// Loaded separately and with q|k|v stacked at load. bard-2m's q has 192 rows and k, v 64 each: 32 and 64 row
    /// blocks fall on every part boundary and stay blocks; 48 splits k, so the stack expands to one scale row per
    /// output feature (same values, finer layout).
    /// </summary>
    [Theory]
    [InlineData(32, 32, false)]
    [InlineData(64, 64, false)]
    [InlineData(48, 80, false)]
    [InlineData(32, 32, true)]
    [InlineData(64, 64, true)]
    [InlineData(48, 80, true)]
    public void BlockScaledCheckpointMatchesDequantizedF32Model(int blockRows, int blockCols, bool fuseQkv)
    {
        var (quantDir, refDir) = Build(blockRows, blockCols);
        using var backend = new CpuBackend();
        using var quant = TransformerModel.Load(quantDir, backend, QuantPlugin.Find, fuseQkv: fuseQkv);
        using var reference = TransformerModel.Load(refDir, backend);
        var o0 = Assert.IsType<QuantizedLinear>(quant.Layers[0].O);
        Assert.Equal(ScaleGranularity.Block, o0.Weight.Granularity);
        var q0 = Assert.IsType<QuantizedLinear>(fuseQkv ? quant.Layers[0].Qkv : quant.Layers[0].Q);
        Assert.Equal(!fuseQkv || 64 % blockRows == 0 ? ScaleGranularity.Block : ScaleGranularity.PerGroup, q0.Weight.Granularity);
        int[][] prompts = [[1, 40, 41, 42, 43, 10, 200, 300], [1, 900, 17, 5, 1500, 33, 2047, 64, 64, 64, 12]];
        foreach (var prompt in prompts)
        {
            var a = Logits(quant, prompt);
            var b = Logits(reference, prompt);
            double max = 0;
            for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
            Assert.True(max <= 1e-4, $"block {blockRows}x{blockCols}: logits differ by {max:E2}");
        }
    }

    private static float[] Logits(TransformerModel model, int[] prompt)
    {
        using var runner = ModelRunner.Create(model, 4, 16);
        return new SequenceDriver(runner).Feed(prompt, allLogits: true);
    }

    private (string Quant, string Ref) Build(int bn, int bk)
    {
        string src = Fixtures.BundledModel, quantDir = Path.Combine(_root, "fp8"), refDir = Path.Combine(_root, "f32");
        Directory.CreateDirectory(quantDir);
        Directory.CreateDirectory(refDir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        File.WriteAllText(Path.Combine(refDir, "config.json"), config.ToJsonString());
        config["quantization_config"] = new JsonObject
        {
            ["quant_method"] = "fp8", ["activation_scheme"] = "dynamic", ["fmt"] = "e4m3",
            ["weight_block_size"] = new JsonArray(bn, bk),
        };
        File.WriteAllText(Path.Combine(quantDir, "config.json"), config.ToJsonString());

        var quant = new List<SafetensorsWriter.Entry>();
        var reference = new List<SafetensorsWriter.Entry>();
        using var ck = Checkpoint.Open(src);
        foreach (var name in ck.Names.Order())
        {
            var info = ck.Info(name);
            bool linear = name.StartsWith("model.layers.") && name.EndsWith("_proj.weight");
            if (!linear)
            {
                var e = new SafetensorsWriter.Entry(name, info.DType, info.Shape, ck.Bytes(name).ToArray());
                quant.Add(e);
                reference.Add(e);
                continue;
            }
            int n = info.Shape[0], k = info.Shape[1];
            var w = NaiveDequant.Floats(ck, name);
            var (codes, scales) = QuantizeBlocks(w, n, k, bn, bk);
            int rows = (n + bn - 1) / bn, cols = (k + bk - 1) / bk;
            quant.Add(new(name, DType.F8E4M3, [n, k], codes));
            quant.Add(new(name + "_scale_inv", DType.F32, [rows, cols], MemoryMarshal.AsBytes(scales.AsSpan()).ToArray()));
            var dq = NaiveDequant.Fp8(codes, scales, n, k, bn, bk);
            reference.Add(new(name, DType.F32, [n, k], MemoryMarshal.AsBytes(dq.AsSpan()).ToArray()));
        }
        SafetensorsWriter.Write(Path.Combine(quantDir, "model.safetensors"), quant);
        SafetensorsWriter.Write(Path.Combine(refDir, "model.safetensors"), reference);
        return (quantDir, refDir);
    }

    /// <summary>One scale per bn x bk block: absmax / 448, so each block uses FP8's full range.</summary>
    private static (byte[] Codes, float[] Scales) QuantizeBlocks(float[] w, int n, int k, int bn, int bk)
    {
        int rows = (n + bn - 1) / bn, cols = (k + bk - 1) / bk;
        var scales = new float[rows * cols];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < k; i++)
            {
                ref float s = ref scales[j / bn * cols + i / bk];
                s = MathF.Max(s, MathF.Abs(w[j * k + i]));
            }
        for (int i = 0; i < scales.Length; i++) scales[i] = scales[i] > 0 ? scales[i] / Fp8E4M3.Max : 1f;
        var codes = new byte[n * k];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < k; i++)
                codes[j * k + i] = Fp8E4M3.Encode(w[j * k + i] / scales[j / bn * cols + i / bk]);
        return (codes, scales);
    }
}
