using System.Text.Json;
using Modular.Abstractions;

namespace Modular.Models.Loading;

/// <summary>Turns config.json into a <see cref="ModelConfig"/>, refusing what the runner cannot honour.</summary>
internal static class ModelConfigReader
{
    public static ModelConfig Read(string path, JsonElement c, JsonElement? gen)
    {
        ModelFileException Fail(string msg) => new(path, msg);
        if (c.ValueKind != JsonValueKind.Object) throw Fail("top level is not an object");
        if (c.TryGetProperty("auto_map", out _))
        {
            // auto_map asks for remote code; we never execute code from a checkpoint, and the field is only a
            // pointer to that code, so the architecture below decides whether we can run the model.
        }
        var type = Str(c, "model_type") ?? throw Fail("model_type is missing");
        if (!ModelConfig.SupportedTypes.Contains(type))
            throw Fail($"model_type '{type}' is not supported (supported: {string.Join(", ", ModelConfig.SupportedTypes)})");
        if (c.TryGetProperty("architectures", out var arch) && arch.ValueKind == JsonValueKind.Array)
            foreach (var a in arch.EnumerateArray())
                if (a.ValueKind != JsonValueKind.String) throw Fail($"architectures: entries must be strings, got {a.ValueKind}");
                else if (a.GetString() is string s && !s.EndsWith("ForCausalLM", StringComparison.Ordinal))
                    throw Fail($"architectures: '{s}' is not supported (only *ForCausalLM heads)");

        int hidden = Int(c, "hidden_size") ?? throw Fail("hidden_size is missing");
        int heads = Int(c, "num_attention_heads") ?? throw Fail("num_attention_heads is missing");
        int kvHeads = Int(c, "num_key_value_heads") ?? heads;
        int headDim = Int(c, "head_dim") ?? (heads > 0 ? hidden / heads : 0); // heads = 0 is refused just below
        int layers = Int(c, "num_hidden_layers") ?? throw Fail("num_hidden_layers is missing");
        int vocab = Int(c, "vocab_size") ?? throw Fail("vocab_size is missing");
        int inter = Int(c, "intermediate_size") ?? throw Fail("intermediate_size is missing");
        if (hidden <= 0 || heads <= 0 || kvHeads <= 0 || headDim <= 0 || layers <= 0 || vocab <= 0 || inter <= 0)
            throw Fail("sizes (hidden_size, heads, head_dim, layers, vocab_size, intermediate_size) must be positive");
        // num_hidden_layers sizes per-layer arrays before any weight is read; refuse values no checkpoint has.
        if (layers > ModelConfig.MaxLayers) throw Fail($"num_hidden_layers {layers} exceeds the limit of {ModelConfig.MaxLayers}");
        if (heads % kvHeads != 0) throw Fail($"num_attention_heads {heads} is not a multiple of num_key_value_heads {kvHeads}");
        if (headDim % 2 != 0) throw Fail($"head_dim {headDim} must be even for rotary embeddings");

        var act = (Str(c, "hidden_activation") ?? Str(c, "hidden_act") ?? "silu") switch
        {
            "silu" or "swish" => Activation.Silu,
            "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => Activation.GeluTanh,
            "gelu" => Activation.Gelu,
            var other => throw Fail($"hidden_act '{other}' is not supported (silu, gelu, gelu_pytorch_tanh)"),
        };
        foreach (var unsupported in new[] { "attn_logit_softcapping", "final_logit_softcapping", "query_pre_attn_scalar" })
            if (c.TryGetProperty(unsupported, out var v) && v.ValueKind is not JsonValueKind.Null)
                throw Fail($"{unsupported} is not supported");

        var rope = ReadRope(c, Fail);
        if (rope.PartialRotaryFactor <= 0 || rope.PartialRotaryFactor > 1) throw Fail("partial_rotary_factor must be in (0, 1]");

        int window = Int(c, "sliding_window") ?? 0;
        bool useWindow = type switch
        {
            "qwen2" or "qwen3" => Bool(c, "use_sliding_window") ?? false,
            _ => true,
        };
        var windows = new int[layers];
        if (useWindow && window > 0)
        {
            if (c.TryGetProperty("layer_types", out var lt) && lt.ValueKind == JsonValueKind.Array)
            {
                if (lt.GetArrayLength() != layers) throw Fail($"layer_types has {lt.GetArrayLength()} entries for {layers} layers");
                int i = 0;
                foreach (var t in lt.EnumerateArray())
                {
                    if (t.ValueKind != JsonValueKind.String) throw Fail($"layer_types[{i}]: expected a string, got {t.ValueKind}");
                    windows[i++] = t.GetString() == "sliding_attention" ? window : 0;
                }
            }
            else if (type is "qwen2" or "qwen3" && Int(c, "max_window_layers") is int mwl)
                for (int i = 0; i < layers; i++) windows[i] = i >= mwl ? window : 0;
            else Array.Fill(windows, window);
        }

        int experts = 0, topK = 0;
        if (type == "mixtral")
        {
            experts = Int(c, "num_local_experts") ?? throw Fail("num_local_experts is missing");
            topK = Int(c, "num_experts_per_tok") ?? throw Fail("num_experts_per_tok is missing");
            if (topK <= 0 || topK > experts) throw Fail($"num_experts_per_tok {topK} must be in [1, {experts}]");
        }

        var dtypeName = Str(c, "dtype") ?? Str(c, "torch_dtype") ?? "bfloat16";
        var dtype = dtypeName switch
        {
            "bfloat16" => DType.BF16,
            "float16" => DType.F16,
            "float32" => DType.F32,
            _ => throw Fail($"dtype '{dtypeName}' is not supported (bfloat16, float16, float32)"),
        };

        var eos = new List<int>();
        AddIds(c, "eos_token_id", eos);
        if (gen is JsonElement g) AddIds(g, "eos_token_id", eos);
        var defaults = new Dictionary<string, double>();
        if (gen is JsonElement g2)
            foreach (var k in new[] { "temperature", "top_p", "top_k", "repetition_penalty", "min_p" })
                if (g2.TryGetProperty(k, out var v) && v.ValueKind == JsonValueKind.Number) defaults[k] = v.GetDouble();

        bool attnBias = Bool(c, "attention_bias") ?? false;
        return new ModelConfig
        {
            ModelType = type,
            VocabSize = vocab,
            HiddenSize = hidden,
            IntermediateSize = inter,
            NumLayers = layers,
            NumHeads = heads,
            NumKvHeads = kvHeads,
            HeadDim = headDim,
            RmsNormEps = (float)(Dbl(c, "rms_norm_eps") ?? 1e-6),
            MaxPositionEmbeddings = Int(c, "max_position_embeddings") ?? 2048,
            Rope = rope,
            Activation = act,
            TieWordEmbeddings = Bool(c, "tie_word_embeddings") ?? (type == "gemma"),
            QkvBias = type == "qwen2" || attnBias,
            OutputBias = type != "qwen2" && attnBias,
            MlpBias = Bool(c, "mlp_bias") ?? false,
            QkNorm = type == "qwen3",
            SlidingWindows = windows,
            EmbeddingScale = type == "gemma" ? MathF.Sqrt(hidden) : 1f,
            NormWeightOffset = type == "gemma" ? 1f : 0f,
            NumExperts = experts,
            NumExpertsPerToken = topK,
            FusedProjections = type == "phi3",
            BosTokenId = Int(c, "bos_token_id"),
            EosTokenIds = eos,
            DType = dtype,
            QuantizationConfig = c.TryGetProperty("quantization_config", out var q) && q.ValueKind == JsonValueKind.Object ? q.Clone() : null,
            GenerationDefaults = defaults,
        };
    }

    private static RopeConfig ReadRope(JsonElement c, Func<string, ModelFileException> fail)
    {
        // New convention: everything in rope_parameters. Old: rope_theta at top level, variant in rope_scaling.
        JsonElement p = default;
        bool hasParams = c.TryGetProperty("rope_parameters", out p) && p.ValueKind == JsonValueKind.Object;
        JsonElement s = default;
        bool hasScaling = c.TryGetProperty("rope_scaling", out s) && s.ValueKind == JsonValueKind.Object;
        var src = hasParams ? p : hasScaling ? s : default;
        bool any = hasParams || hasScaling;
        double theta = (hasParams ? Dbl(p, "rope_theta") : null) ?? Dbl(c, "rope_theta") ?? 10000;
        string type = any ? (Str(src, "rope_type") ?? Str(src, "type") ?? "default") : "default";
        if (type is not ("default" or "linear" or "llama3" or "yarn"))
            throw fail($"rope type '{type}' is not supported (supported: default, linear, llama3, yarn)");
        double partial = (any ? Dbl(src, "partial_rotary_factor") : null) ?? Dbl(c, "partial_rotary_factor") ?? 1;
        if (!any) return new RopeConfig { Theta = theta, PartialRotaryFactor = partial };
        return new RopeConfig
        {
            Type = type,
            Theta = theta,
            Factor = Dbl(src, "factor") ?? 1,
            LowFreqFactor = Dbl(src, "low_freq_factor") ?? 1,
            HighFreqFactor = Dbl(src, "high_freq_factor") ?? 4,
            OriginalMaxPositionEmbeddings = Int(src, "original_max_position_embeddings"),
            BetaFast = Dbl(src, "beta_fast") ?? 32,
            BetaSlow = Dbl(src, "beta_slow") ?? 1,
            AttentionFactor = Dbl(src, "attention_factor"),
            MScale = Dbl(src, "mscale"),
            MScaleAllDim = Dbl(src, "mscale_all_dim"),
            Truncate = Bool(src, "truncate") ?? true,
            PartialRotaryFactor = partial,
        };
    }

    private static void AddIds(JsonElement e, string name, List<int> ids)
    {
        if (!e.TryGetProperty(name, out var v)) return;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var one)) { if (!ids.Contains(one)) ids.Add(one); }
        else if (v.ValueKind == JsonValueKind.Array)
            foreach (var x in v.EnumerateArray())
                if (x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out var id) && !ids.Contains(id)) ids.Add(id);
    }

    private static string? Str(JsonElement e, string n) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    private static int? Int(JsonElement e, string n) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) ? i : null;
    private static double? Dbl(JsonElement e, string n) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(n, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
    private static bool? Bool(JsonElement e, string n) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(n, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
}
