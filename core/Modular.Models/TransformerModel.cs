using System.Text.Json;
using Modular.Abstractions;
using Modular.Models.Loading;

namespace Modular.Models;

/// <summary>Progress of a model load: a stage name and the fraction done.</summary>
/// <param name="Stage">What is loading ("layer 3/32").</param>
/// <param name="Fraction">0..1.</param>
public readonly record struct LoadProgress(string Stage, double Fraction);

/// <summary>
/// A Llama-family decoder (Llama, Mistral, Qwen2/3, Gemma, Phi-3, Mixtral) whose weights live on one backend.
/// The differences between the families are all data in <see cref="ModelConfig"/>; the forward pass is one
/// code path (<see cref="ModelRunner"/>).
/// </summary>
public sealed class TransformerModel : IDisposable
{
    /// <summary>The configuration.</summary>
    public required ModelConfig Config { get; init; }
    /// <summary>The backend holding the weights.</summary>
    public required IBackend Backend { get; init; }
    /// <summary>Embedding table [V,H].</summary>
    public required Tensor Embedding { get; init; }
    /// <summary>Final RMSNorm weight [H].</summary>
    public required Tensor FinalNorm { get; init; }
    /// <summary>LM head (shares the embedding tensor when tied).</summary>
    public required ILinear LmHead { get; init; }
    /// <summary>Decoder layers.</summary>
    public required LayerWeights[] Layers { get; init; }
    /// <summary>RoPE cos/sin table [MaxPositions, RotaryDim].</summary>
    public required Tensor CosSin { get; init; }
    /// <summary>Directory the model came from.</summary>
    public required string Directory { get; init; }
    /// <summary>Bytes of checkpoint data read.</summary>
    public long WeightBytes { get; init; }

    /// <summary>
    /// Loads a checkpoint directory onto <paramref name="backend"/>. <paramref name="quantizers"/> resolves a
    /// <c>quant_method</c> to the plugin that reads it (null when no quant plugin is loaded). With
    /// <paramref name="quantization"/> set, a float checkpoint is quantized at load (vLLM's <c>--quantization fp8</c>):
    /// the quantizer is resolved as "method-online"; it is ignored for checkpoints that are already quantized.
    /// <paramref name="fuseQkv"/>: see <see cref="FuseQkv"/>.
    /// </summary>
    public static TransformerModel Load(string dir, IBackend backend, Func<string, IQuantizer?>? quantizers = null,
        IProgress<LoadProgress>? progress = null, int? maxPositions = null, string? quantization = null, bool? fuseQkv = null)
    {
        var config = ModelConfig.Load(dir);
        IQuantizer? quantizer = null;
        JsonElement quantConfig = default;
        if (config.QuantizationConfig is null && quantization is not null)
        {
            quantizer = quantizers?.Invoke(quantization + "-online")
                ?? throw new ModelFileException(dir, $"--quantization {quantization}: no loaded plugin quantizes at load with '{quantization}' (the quant plugin offers fp8)");
            quantConfig = JsonDocument.Parse($"{{\"quant_method\":\"{quantization}\"}}").RootElement.Clone();
        }
        if (config.QuantizationConfig is { } qc)
        {
            quantConfig = qc;
            var method = qc.TryGetProperty("quant_method", out var m) ? m.GetString() ?? "" : "";
            quantizer = quantizers?.Invoke(method)
                ?? throw new ModelFileException(Path.Combine(dir, "config.json"),
                    $"quantization_config.quant_method '{method}' is not supported by any loaded plugin (add the quant plugin to plugins.json; it reads gptq, awq, fp8)");
            if (quantizer.Check(qc) is string why) throw new ModelFileException(Path.Combine(dir, "config.json"), why);
        }
        using var ck = Checkpoint.Open(dir);
        return Load(config, ck, name => ck.Contains(name) ? ck.File(name).Path : dir, dir, backend, quantizer, progress, maxPositions, quantConfig, fuseQkv);
    }

    /// <summary>
    /// Loads weights of <paramref name="config"/>'s shapes from any source (a checkpoint, or generated dummy weights).
    /// <paramref name="origin"/> names where a tensor comes from, for error messages.
    /// <paramref name="fuseQkv"/>: see <see cref="FuseQkv"/>.
    /// </summary>
    public static TransformerModel Load(ModelConfig config, IWeightSource ck, Func<string, string> origin, string name,
        IBackend backend, IQuantizer? quantizer, IProgress<LoadProgress>? progress = null, int? maxPositions = null,
        JsonElement quantConfig = default, bool? fuseQkv = null)
    {
        var dir = name;
        var loader = new WeightLoader(ck, origin, backend, config, quantizer, quantConfig);
        bool fused = FuseQkv(config, backend, fuseQkv);
        var layers = new List<LayerWeights>();
        Tensor? embedding = null, norm = null, cosSin = null;
        ILinear? head = null;
        try
        {
            int h = config.HiddenSize, d = config.HeadDim, hq = config.NumHeads * d, hk = config.NumKvHeads * d, inter = config.IntermediateSize;
            embedding = loader.Load("model.embed_tokens.weight", config.VocabSize, h);
            for (int i = 0; i < config.NumLayers; i++)
            {
                progress?.Report(new LoadProgress($"layer {i + 1}/{config.NumLayers}", (double)i / config.NumLayers));
                layers.Add(LoadLayer(loader, config, $"model.layers.{i}", h, d, hq, hk, inter, fused));
            }
            norm = loader.Load("model.norm.weight", h);
            head = config.TieWordEmbeddings && !ck.Contains("lm_head.weight")
                ? new DenseLinear(embedding, null, ownsWeight: false)
                : loader.Linear(["lm_head"], [config.VocabSize], h, bias: false);
            int positions = maxPositions ?? config.MaxPositionEmbeddings;
            var table = RopeTable.Build(config.Rope, config.RotaryDim, positions, config.MaxPositionEmbeddings);
            cosSin = backend.Allocate(DType.F32, positions, config.RotaryDim);
            backend.Upload(System.Runtime.InteropServices.MemoryMarshal.AsBytes(table.AsSpan()), DType.F32, cosSin);
            progress?.Report(new LoadProgress("done", 1));
            return new TransformerModel
            {
                Config = config, Backend = backend, Embedding = embedding, FinalNorm = norm, LmHead = head,
                Layers = layers.ToArray(), CosSin = cosSin, Directory = dir, WeightBytes = loader.BytesLoaded,
            };
        }
        catch
        {
            foreach (var l in layers) l.Dispose();
            embedding?.Dispose(); norm?.Dispose(); head?.Dispose(); cosSin?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether a load stacks each layer's q, k and v into one linear (<see cref="LayerWeights.Qkv"/>): the backend
    /// must split the product again with the rotation applied (<see cref="IFusedQkvKernels"/>) and the model must
    /// have no per-head q/k norm (which runs between the projection and the rotation). <paramref name="requested"/>
    /// null follows MODULAR_FUSED_QKV (0 turns fusing off; the user's switch); true fuses wherever the backend and
    /// model allow, false never (tests compare both loads without touching the process environment). A layer whose
    /// checkpoint stores only some of q, k, v quantized loads them as three even when fusing.
    /// </summary>
    public static bool FuseQkv(ModelConfig config, IBackend backend, bool? requested = null)
    {
        bool wanted = requested ?? Environment.GetEnvironmentVariable("MODULAR_FUSED_QKV") != "0";
        return wanted && backend.Kernels is IFusedQkvKernels && !config.QkNorm;
    }

    private static LayerWeights LoadLayer(WeightLoader w, ModelConfig c, string p, int h, int d, int hq, int hk, int inter, bool fuseQkv)
    {
        ILinear? qkv = null, q = null, k = null, v = null;
        string[] qkvNames = [p + ".self_attn.q_proj", p + ".self_attn.k_proj", p + ".self_attn.v_proj"];
        if (fuseQkv && c.FusedProjections)
        {
            // Phi-3 stores q|k|v already stacked: the tensor is the fused linear as it is.
            qkv = w.Linear([p + ".self_attn.qkv_proj"], [hq + 2 * hk], h, bias: false);
        }
        else if (fuseQkv && w.CanStack(qkvNames))
        {
            // Stacked at load, as gate|up is: one GEMM per layer and no second copy of the weights. A checkpoint
            // that stores some of the three quantized and others not loads them separately below.
            qkv = w.Linear(qkvNames, [hq, hk, hk], h, c.QkvBias);
        }
        else if (c.FusedProjections)
        {
            // Phi-3 stores q|k|v stacked in one tensor: split the rows so each projection stays contiguous.
            var name = p + ".self_attn.qkv_proj.weight";
            int rows = hq + 2 * hk;
            q = new DenseLinear(w.LoadRows(name, rows, h, 0, hq), null);
            k = new DenseLinear(w.LoadRows(name, rows, h, hq, hk), null);
            v = new DenseLinear(w.LoadRows(name, rows, h, hq + hk, hk), null);
        }
        else
        {
            q = w.Linear([qkvNames[0]], [hq], h, c.QkvBias);
            k = w.Linear([qkvNames[1]], [hk], h, c.QkvBias);
            v = w.Linear([qkvNames[2]], [hk], h, c.QkvBias);
        }
        var o = w.Linear([p + ".self_attn.o_proj"], [h], hq, c.OutputBias);
        ILinear? gateUp = null, down = null, router = null;
        Tensor? expertsGateUp = null, expertsDown = null;
        if (c.NumExperts > 0)
        {
            var moe = p + ".block_sparse_moe";
            router = w.Linear([moe + ".gate"], [c.NumExperts], h, bias: false);
            var gu = new List<string>();
            var dn = new List<string>();
            for (int e = 0; e < c.NumExperts; e++)
            {
                gu.Add($"{moe}.experts.{e}.w1.weight");
                gu.Add($"{moe}.experts.{e}.w3.weight");
                dn.Add($"{moe}.experts.{e}.w2.weight");
            }
            expertsGateUp = w.LoadStacked(gu, inter, h).View(c.NumExperts, 2 * inter, h);
            expertsDown = w.LoadStacked(dn, h, inter).View(c.NumExperts, h, inter);
        }
        else if (c.FusedProjections)
        {
            gateUp = w.Linear([p + ".mlp.gate_up_proj"], [2 * inter], h, c.MlpBias);
            down = w.Linear([p + ".mlp.down_proj"], [h], inter, c.MlpBias);
        }
        else
        {
            gateUp = w.Linear([p + ".mlp.gate_proj", p + ".mlp.up_proj"], [inter, inter], h, c.MlpBias);
            down = w.Linear([p + ".mlp.down_proj"], [h], inter, c.MlpBias);
        }
        return new LayerWeights
        {
            InputNorm = w.Load(p + ".input_layernorm.weight", h),
            PostAttentionNorm = w.Load(p + ".post_attention_layernorm.weight", h),
            Qkv = qkv, Q = q, K = k, V = v, O = o,
            QNorm = c.QkNorm ? w.Load(p + ".self_attn.q_norm.weight", d) : null,
            KNorm = c.QkNorm ? w.Load(p + ".self_attn.k_norm.weight", d) : null,
            GateUp = gateUp, Down = down, Router = router,
            ExpertsGateUp = expertsGateUp, ExpertsDown = expertsDown,
        };
    }

    /// <summary>Frees all weights.</summary>
    public void Dispose()
    {
        foreach (var l in Layers) l.Dispose();
        LmHead.Dispose();
        Embedding.Dispose();
        FinalNorm.Dispose();
        CosSin.Dispose();
    }
}
