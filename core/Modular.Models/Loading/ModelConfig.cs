using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>
/// A Hugging Face <c>config.json</c> reduced to what the Llama-family runner needs, read in both conventions
/// (<c>rope_parameters</c>/<c>dtype</c> and <c>rope_theta</c>/<c>rope_scaling</c>/<c>torch_dtype</c>). Anything the
/// runner cannot honour is refused by <see cref="Load"/> with the field named, never silently ignored.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Most transformer layers a config may declare (real checkpoints have at most a few hundred).</summary>
    public const int MaxLayers = 4096;

    /// <summary>The <c>model_type</c> values this runner implements.</summary>
    public static readonly IReadOnlyList<string> SupportedTypes = ["llama", "mistral", "qwen2", "qwen3", "gemma", "phi3", "mixtral"];

    /// <summary><c>model_type</c>.</summary>
    public required string ModelType { get; init; }
    /// <summary>Rows of the embedding table and columns of the logits.</summary>
    public required int VocabSize { get; init; }
    /// <summary>Residual stream width.</summary>
    public required int HiddenSize { get; init; }
    /// <summary>MLP (or per-expert) inner width.</summary>
    public required int IntermediateSize { get; init; }
    /// <summary>Transformer layers.</summary>
    public required int NumLayers { get; init; }
    /// <summary>Query heads.</summary>
    public required int NumHeads { get; init; }
    /// <summary>KV heads.</summary>
    public required int NumKvHeads { get; init; }
    /// <summary>Head dimension (may differ from hidden/heads, as in Qwen3).</summary>
    public required int HeadDim { get; init; }
    /// <summary>RMSNorm epsilon.</summary>
    public required float RmsNormEps { get; init; }
    /// <summary>Longest context the model supports.</summary>
    public required int MaxPositionEmbeddings { get; init; }
    /// <summary>Rotary settings.</summary>
    public required RopeConfig Rope { get; init; }
    /// <summary>MLP activation.</summary>
    public required Activation Activation { get; init; }
    /// <summary>LM head shares the embedding table.</summary>
    public bool TieWordEmbeddings { get; init; }
    /// <summary>q/k/v projections carry biases (Qwen2, or Llama's <c>attention_bias</c>).</summary>
    public bool QkvBias { get; init; }
    /// <summary>The output projection carries a bias (Llama's <c>attention_bias</c>).</summary>
    public bool OutputBias { get; init; }
    /// <summary>MLP projections carry biases.</summary>
    public bool MlpBias { get; init; }
    /// <summary>Per-head RMSNorm on q and k before RoPE (Qwen3).</summary>
    public bool QkNorm { get; init; }
    /// <summary>Per layer: sliding window in tokens, 0 for full attention.</summary>
    public required int[] SlidingWindows { get; init; }
    /// <summary>Embeddings are multiplied by this (Gemma: sqrt(hidden)).</summary>
    public float EmbeddingScale { get; init; } = 1;
    /// <summary>RMSNorm multiplies by (offset + w) (Gemma: 1).</summary>
    public float NormWeightOffset { get; init; }
    /// <summary>Experts per MoE layer; 0 for dense models.</summary>
    public int NumExperts { get; init; }
    /// <summary>Experts each token is routed to.</summary>
    public int NumExpertsPerToken { get; init; }
    /// <summary>Checkpoint tensors use fused <c>qkv_proj</c>/<c>gate_up_proj</c> (Phi-3).</summary>
    public bool FusedProjections { get; init; }
    /// <summary>BOS id from config.json.</summary>
    public int? BosTokenId { get; init; }
    /// <summary>EOS ids from config.json and generation_config.json, deduplicated.</summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }
    /// <summary>Checkpoint floating-point dtype.</summary>
    public DType DType { get; init; } = DType.BF16;
    /// <summary><c>quantization_config</c>, when present.</summary>
    public JsonElement? QuantizationConfig { get; init; }
    /// <summary>Defaults from generation_config.json (temperature, top_p, top_k, repetition_penalty), when present.</summary>
    public IReadOnlyDictionary<string, double> GenerationDefaults { get; init; } = new Dictionary<string, double>();

    /// <summary>Dimensions of each head that rotate.</summary>
    public int RotaryDim => (int)(HeadDim * Rope.PartialRotaryFactor) / 2 * 2;

    /// <summary>Parses config.json text; <paramref name="source"/> names it in errors.</summary>
    public static ModelConfig Parse(string json, string source)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 32 }); }
        catch (JsonException e) { throw new ModelFileException(source, "not valid JSON: " + e.Message); }
        using (doc) return ModelConfigReader.Read(source, doc.RootElement, null);
    }

    /// <summary>Reads <c>config.json</c> (and <c>generation_config.json</c>) from a checkpoint directory.</summary>
    public static ModelConfig Load(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!File.Exists(path)) throw new ModelFileException(path, "not found (is this a Hugging Face checkpoint directory?)");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, MaxDepth = 32 }); }
        catch (JsonException e) { throw new ModelFileException(path, "not valid JSON: " + e.Message); }
        using (doc)
        {
            var gen = Path.Combine(dir, "generation_config.json");
            JsonDocument? genDoc = null;
            if (File.Exists(gen))
            {
                try { genDoc = JsonDocument.Parse(File.ReadAllBytes(gen)); }
                catch (JsonException e) { throw new ModelFileException(gen, "not valid JSON: " + e.Message); }
            }
            using (genDoc)
                return ModelConfigReader.Read(path, doc.RootElement, genDoc?.RootElement);
        }
    }
}
