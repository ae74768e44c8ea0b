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
/// Quantized q|k|v stacked at load by the quant plugin (one <see cref="QuantizedLinear"/> per layer) against the same
/// checkpoint loaded as three projections: GPTQ (with act-order g_idx that differ between q, k and v in the fixture),
/// AWQ, per-tensor FP8 (three different scales, expanded to one per output row) and FP8 quantized at load. Also the
/// checkpoints that must not stack: some of q, k, v quantized and others not.
/// </summary>
public sealed class FusedQkvQuantTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>float32 activations on both sides; only summation order may differ.</summary>
    private const double Tolerance = 1e-4;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "modular-qkv-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    [Theory]
    [InlineData("bard-2m-gptq-int4-g64")]
    [InlineData("bard-2m-gptq-int4-g64-actorder")]
    [InlineData("bard-2m-awq-int4-g64")]
    [InlineData("bard-2m-fp8")]
    public void QuantizedFixtureFusedMatchesSeparate(string name)
    {
        var dir = Fixtures.Shared("models", name);
        using var backend = new CpuBackend();
        using var fused = TransformerModel.Load(dir, backend, QuantPlugin.Find, fuseQkv: true);
        using var separate = TransformerModel.Load(dir, backend, QuantPlugin.Find, fuseQkv: false);
        var qkv = Assert.IsType<QuantizedLinear>(fused.Layers[0].Qkv);
        Assert.Null(fused.Layers[0].Q);
        Assert.IsType<QuantizedLinear>(separate.Layers[0].Q);
        var c = fused.Config;
        Assert.Equal((c.NumHeads + 2 * c.NumKvHeads) * c.HeadDim, qkv.OutFeatures);
        if (name == "bard-2m-fp8")
            // q, k and v carry one scale each, all different: the stack needs one per output row.
            Assert.Equal(ScaleGranularity.PerChannel, qkv.Weight.Granularity);
        Compare(name, fused, separate);
    }

    /// <summary>The act-order fixture is only a test of g_idx merging if q, k and v group their inputs differently.</summary>
    [Fact]
    public void ActOrderFixtureHasDifferentGroupIndexPerProjection()
    {
        var dir = Fixtures.Shared("models", "bard-2m-gptq-int4-g64-actorder");
        using var ck = Checkpoint.Open(dir);
        var qc = TestSupport.QuantConfigOf(dir);
        var parts = new[] { "q_proj", "k_proj", "v_proj" }
            .Select(p => GptqQuantizer.Pack(ck, "model.layers.0.self_attn." + p, qc)).ToArray();
        Assert.All(parts, p => Assert.NotNull(p.GroupIndex));
        Assert.False(parts[0].GroupIndex!.AsSpan().SequenceEqual(parts[1].GroupIndex));
        Assert.False(parts[0].GroupIndex!.AsSpan().SequenceEqual(parts[2].GroupIndex));
        var stacked = WeightFusion.Concat(parts);
        Assert.NotNull(stacked.GroupIndex);
        // Every input row keeps, in each part's rows, the scale of that part's own group.
        for (int p = 0, row0 = 0; p < parts.Length; row0 += parts[p].OutFeatures, p++)
            for (int r = 0; r < parts[p].OutFeatures; r += 17)
                for (int i = 0; i < stacked.InFeatures; i += 5)
                    Assert.Equal(parts[p].Scales[(long)r * parts[p].Groups + parts[p].GroupOf(i)],
                        stacked.Scales[(long)(row0 + r) * stacked.Groups + stacked.GroupOf(i)]);
    }

    [Fact]
    public void OnlineFp8FusedMatchesSeparate()
    {
        using var backend = new CpuBackend();
        IQuantizer? Find(string m) => m == "fp8-online" ? new Fp8OnlineQuantizer() : null;
        using var fused = TransformerModel.Load(Fixtures.BundledModel, backend, Find, quantization: "fp8", fuseQkv: true);
        using var separate = TransformerModel.Load(Fixtures.BundledModel, backend, Find, quantization: "fp8", fuseQkv: false);
        Assert.IsType<QuantizedLinear>(fused.Layers[0].Qkv);
        Assert.IsType<QuantizedLinear>(separate.Layers[0].K);
        Compare("bard-2m online fp8", fused, separate);
    }

    /// <summary>Only k_proj stored FP8: q|k|v cannot stack, so the layer falls back to three projections.</summary>
    [Fact]
    public void PartlyQuantizedQkvLoadsSeparately()
    {
        var dir = BuildFp8(name => name.Contains(".k_proj."));
        using var backend = new CpuBackend();
        using var fused = TransformerModel.Load(dir, backend, QuantPlugin.Find, fuseQkv: true);
        using var separate = TransformerModel.Load(dir, backend, QuantPlugin.Find, fuseQkv: false);
        Assert.All(fused.Layers, l =>
        {
            Assert.Null(l.Qkv);
            Assert.IsNotType<QuantizedLinear>(l.Q);
            Assert.IsType<QuantizedLinear>(l.K);
            Assert.IsNotType<QuantizedLinear>(l.V);
        });
        Compare("bard-2m fp8 k only", fused, separate);
    }

    /// <summary>gate|up always stack: a gate stored FP8 beside a bf16 up is refused, naming both.</summary>
    [Fact]
    public void PartlyQuantizedGateUpIsRefusedNamingTheTensors()
    {
        var dir = BuildFp8(name => name.Contains(".gate_proj."));
        using var backend = new CpuBackend();
        var e = Assert.Throws<ModelFileException>(() => TransformerModel.Load(dir, backend, QuantPlugin.Find));
        Assert.Contains("model.layers.0.mlp.gate_proj", e.Message);
        Assert.Contains("model.layers.0.mlp.up_proj", e.Message);
        Assert.Contains("quantized", e.Message);
    }

    private void Compare(string label, TransformerModel fused, TransformerModel separate)
    {
        int vocab = fused.Config.VocabSize;
        var prompt = new int[24];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = (i * 131 + 7) % vocab;
        using var rf = ModelRunner.Create(fused, 4, 16);
        using var rs = ModelRunner.Create(separate, 4, 16);
        Assert.Equal(fused.Layers[0].Qkv is not null, rf.FusedQkv);
        Assert.False(rs.FusedQkv);
        var df = new SequenceDriver(rf);
        var ds = new SequenceDriver(rs);
        double max = Max(df.Feed(prompt, allLogits: true), ds.Feed(prompt, allLogits: true));
        for (int step = 0; step < 3; step++)
        {
            int[] next = [(prompt[step] + 11) % vocab];
            max = Math.Max(max, Max(df.Feed(next, allLogits: true), ds.Feed(next, allLogits: true)));
        }
        output.WriteLine($"{label}: fused vs separate q|k|v max |dlogit| {max:E2}");
        Assert.True(max <= Tolerance, $"{label}: fused q|k|v logits differ from separate ones by {max:E2}");
    }

    private static double Max(float[] x, float[] y)
    {
        Assert.Equal(x.Length, y.Length);
        double max = 0;
        for (int i = 0; i < x.Length; i++) max = Math.Max(max, Math.Abs(x[i] - y[i]));
        return max;
    }

    /// <summary>bard-2m as an FP8 checkpoint in which only the linears <paramref name="quantize"/> picks are FP8 (per-channel).</summary>
    private string BuildFp8(Func<string, bool> quantize)
    {
        string src = Fixtures.BundledModel, dir = Path.Combine(_root, "fp8-partial");
        Directory.CreateDirectory(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        config["quantization_config"] = new JsonObject { ["quant_method"] = "fp8", ["activation_scheme"] = "dynamic" };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var entries = new List<SafetensorsWriter.Entry>();
        using var ck = Checkpoint.Open(src);
        foreach (var name in ck.Names.Order())
        {
            var info = ck.Info(name);
            if (!(name.StartsWith("model.layers.") && name.EndsWith("_proj.weight") && quantize(name)))
            {
                entries.Add(new(name, info.DType, info.Shape, ck.Bytes(name).ToArray()));
                continue;
            }
            int n = info.Shape[0], k = info.Shape[1];
            var packed = Fp8OnlineQuantizer.QuantizePerChannel(NaiveDequant.Floats(ck, name), n, k);
            entries.Add(new(name, DType.F8E4M3, [n, k], packed.Data));
            entries.Add(new(name + "_scale", DType.F32, [n], MemoryMarshal.AsBytes(packed.Scales.AsSpan()).ToArray()));
        }
        SafetensorsWriter.Write(Path.Combine(dir, "model.safetensors"), entries);
        return dir;
    }
}
