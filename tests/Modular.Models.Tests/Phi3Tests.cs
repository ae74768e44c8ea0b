using System.Text.Json.Nodes;
using Modular.Backends.Cpu;
using Modular.Models.Loading;
using Modular.Models.Verification;
using Modular.Testing;

namespace Modular.Models.Tests;

/// <summary>
/// Phi-3 differs from Llama only in storage: q|k|v fused into <c>qkv_proj</c> and gate|up into <c>gate_up_proj</c>
/// (HF's Phi3Attention slices q, then k, then v; Phi3MLP chunks gate first). A Phi-3 checkpoint built from bard-2m's
/// weights by those conventions must therefore reproduce bard-2m's Hugging Face references exactly.
/// </summary>
public class Phi3Tests
{
    /// <summary>
    /// <paramref name="fuseQkv"/>: qkv_proj loads whole as the layer's fused q|k|v linear, or is split into three
    /// row ranges; both must reproduce the reference.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FusedPhi3CheckpointReproducesLlamaReference(bool fuseQkv)
    {
        var src = Fixtures.BundledModel;
        var dir = Directory.CreateTempSubdirectory("phi3-").FullName;
        try
        {
            BuildPhi3(src, dir);
            using var backend = new CpuBackend();
            using var model = TransformerModel.Load(dir, backend, fuseQkv: fuseQkv);
            Assert.True(model.Config.FusedProjections);
            Assert.Equal(fuseQkv, model.Layers[0].Qkv is not null);
            Assert.Equal(!fuseQkv, model.Layers[0].Q is not null);
            foreach (var r in GoldenVerifier.Run(model, dir))
                Assert.True(r.Passed(1e-3), r.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void BuildPhi3(string src, string dst)
    {
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(src, "config.json")))!.AsObject();
        cfg["model_type"] = "phi3";
        cfg["architectures"] = new JsonArray("Phi3ForCausalLM");
        cfg["partial_rotary_factor"] = 1.0;
        File.WriteAllText(Path.Combine(dst, "config.json"), cfg.ToJsonString());
        foreach (var f in new[] { "golden.json", "golden.safetensors", "generation_config.json" })
            File.Copy(Path.Combine(src, f), Path.Combine(dst, f));
        using var ck = Checkpoint.Open(src);
        var entries = new List<SafetensorsWriter.Entry>();
        int layers = cfg["num_hidden_layers"]!.GetValue<int>();
        foreach (var name in ck.Names.Order())
        {
            if (name.Contains(".q_proj.") || name.Contains(".k_proj.") || name.Contains(".v_proj.") || name.Contains(".gate_proj.") || name.Contains(".up_proj."))
                continue;
            var info = ck.Info(name);
            entries.Add(new(name, info.DType, info.Shape, ck.Bytes(name).ToArray()));
        }
        for (int l = 0; l < layers; l++)
        {
            var p = $"model.layers.{l}";
            entries.Add(Fuse(ck, $"{p}.self_attn.qkv_proj.weight", $"{p}.self_attn.q_proj.weight", $"{p}.self_attn.k_proj.weight", $"{p}.self_attn.v_proj.weight"));
            entries.Add(Fuse(ck, $"{p}.mlp.gate_up_proj.weight", $"{p}.mlp.gate_proj.weight", $"{p}.mlp.up_proj.weight"));
        }
        SafetensorsWriter.Write(Path.Combine(dst, "model.safetensors"), entries);
    }

    private static SafetensorsWriter.Entry Fuse(Checkpoint ck, string name, params string[] parts)
    {
        var first = ck.Info(parts[0]);
        int rows = 0;
        var data = new List<byte>();
        foreach (var p in parts)
        {
            rows += ck.Info(p).Shape[0];
            data.AddRange(ck.Bytes(p).ToArray());
        }
        return new(name, first.DType, [rows, first.Shape[1]], data.ToArray());
    }
}
